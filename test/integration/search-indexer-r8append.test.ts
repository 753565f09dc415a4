/**
 * The search index's writer gathers new messages into batches (issue 18, APPEND): a session's
 * APPENDs in a row no longer cost one index transaction each, right when the next APPEND
 * arrives. A batch that is not full waits (StoreDeps.searchGatherMs, long here so that nothing
 * depends on the clock); a full one (INDEX_BATCH messages) starts at once; `idle()` starts a
 * waiting one. Until its batch is written, SEARCH finds a message by reading it
 * (imap-search-index.test.ts covers that).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INDEX_BATCH } from '../../appliance/mailstore/fulltext-backfill.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

const msg = (i: number) => Buffer.from(`From: a@example.org\r\nTo: g@gather.test\r\nSubject: gathered ${i}\r\nMessage-ID: <g${i}@example.org>\r\n\r\nBody with Gooseberry${i} inside.\r\n`);

describe('search indexer batches', () => {
  let core: TestCore;
  let box: { id: string };
  let store: SqlMailStore;
  /** Messages of the mailbox's INBOX with and without their search-index row. */
  const indexed = async () => {
    const rows = await core.db
      .selectFrom('folder_messages')
      .innerJoin('folders', 'folders.id', 'folder_messages.folder_id')
      .leftJoin('message_text', 'message_text.message_id', 'folder_messages.message_id')
      .select(['folder_messages.uid', 'message_text.message_id as text'])
      .where('folders.mailbox_id', '=', box.id)
      .execute();
    return { all: rows.length, withRow: rows.filter((r) => r.text !== null).length };
  };

  beforeAll(async () => {
    core = await createTestCore();
    box = await core.createMailbox('g@gather.test', 'Correct-Horse-77');
    // No quiet moment ever comes (the gather time is an hour) and messages may wait no time at all
    // while others arrive (searchMaxLagMs 0): batches fill and start as the messages come, the
    // indexer's behaviour under a steady stream (search-indexer-r11append.test.ts covers the wait).
    store = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes, searchGatherMs: 3_600_000, searchMaxLagMs: 0 });
  });
  afterAll(async () => {
    await store?.searchIndexer.stop();
    await store?.queue.drain();
    await core?.close();
  });

  it('APPENDs in a row share one index batch, written when asked for (idle) or when full', async () => {
    const indexer = store.searchIndexer;
    const before = indexer.batches;
    for (let i = 0; i < 5; i++) await store.append(box.id, 'INBOX', msg(i));
    expect(indexer.batches).toBe(before); // gathering: no transaction of its own per message
    expect(await indexed()).toEqual({ all: 5, withRow: 0 });
    await indexer.idle();
    expect(indexer.batches).toBe(before + 1);
    expect(await indexed()).toEqual({ all: 5, withRow: 5 });
  });

  it('a full batch starts at once, without waiting', async () => {
    const indexer = store.searchIndexer;
    const before = indexer.batches;
    for (let i = 0; i < INDEX_BATCH - 1; i++) await store.append(box.id, 'INBOX', msg(100 + i));
    expect(indexer.batches).toBe(before);
    await store.append(box.id, 'INBOX', msg(200));
    expect(indexer.batches).toBe(before + 1); // started by the message that filled it
    await indexer.idle();
    expect(indexer.batches).toBe(before + 1);
    expect(await indexed()).toEqual({ all: 5 + INDEX_BATCH, withRow: 5 + INDEX_BATCH });
  });

  it('stop() drops a gathering batch (left to the backfill) and leaves no timer behind', async () => {
    const indexer = store.searchIndexer;
    await store.append(box.id, 'INBOX', msg(300));
    await indexer.stop();
    await indexer.idle();
    expect(await indexed()).toEqual({ all: 6 + INDEX_BATCH, withRow: 5 + INDEX_BATCH });
    expect(await store.searchBackfill.run({ pauseMs: 0 })).toMatchObject({ done: 1, total: 1, finished: true });
    expect(await indexed()).toEqual({ all: 6 + INDEX_BATCH, withRow: 6 + INDEX_BATCH });
  });
});
