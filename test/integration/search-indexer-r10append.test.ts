/**
 * The search index's batch stays off the APPEND's answer (issue 18, APPEND in one session): the
 * APPEND that fills a batch started its text extraction in the turn that answered it, so its
 * answer waited for the extraction of the whole batch. Now the batch starts there but extracts one
 * message per turn of the event loop afterwards, and writes its rows as a background job of the
 * write queue (write-queue-background-r10append.test.ts), in one statement for the batch instead
 * of one per message. The rows are the ones written before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INDEX_BATCH } from '../../appliance/mailstore/fulltext-backfill.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { installStatementCounter } from '../helpers/statements.js';

const statements = installStatementCounter();

const msg = (i: number) => Buffer.from(`From: a@example.org\r\nTo: t@turns.test\r\nSubject: turn ${i}\r\nMessage-ID: <t${i}@example.org>\r\n\r\nBody with Kumquat${i} inside.\r\n`);

describe('search indexer: off the answer of the APPEND that fills a batch', () => {
  let core: TestCore;
  let box: { id: string };
  let store: SqlMailStore;

  beforeAll(async () => {
    core = await createTestCore();
    box = await core.createMailbox('t@turns.test', 'Correct-Horse-77');
    // No quiet moment ever comes (the gather time is an hour) and messages may wait no time at all
    // while others arrive (searchMaxLagMs 0): batches fill and start as the messages come, the
    // indexer's behaviour under a steady stream (search-indexer-r11append.test.ts covers the wait).
    store = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes, searchGatherMs: 3_600_000, searchMaxLagMs: 0 });
  });
  afterAll(async () => {
    statements.restore();
    await store?.searchIndexer.stop();
    await store?.queue.drain();
    await core?.close();
  });

  it('answers the APPEND before any text of the batch it filled is extracted, then indexes all of it', async () => {
    const indexer = store.searchIndexer;
    const batches = indexer.batches;
    const extracted = indexer.extracted;
    const uids: number[] = [];
    for (let i = 0; i < INDEX_BATCH; i++) uids.push((await store.append(box.id, 'INBOX', msg(i))).uid);
    expect(indexer.batches).toBe(batches + 1); // started by the APPEND that filled it…
    expect(indexer.extracted).toBe(extracted); // …which was answered first
    await indexer.idle();
    expect(indexer.extracted).toBe(extracted + INDEX_BATCH);
    const inbox = (await store.getFolder(box.id, 'INBOX'))!;
    const rows = await core.db
      .selectFrom('folder_messages')
      .innerJoin('message_text', 'message_text.message_id', 'folder_messages.message_id')
      .select(['folder_messages.uid', 'message_text.body', 'message_text.complete'])
      .where('folder_messages.folder_id', '=', inbox.id)
      .orderBy('folder_messages.uid')
      .execute();
    expect(rows.map((r) => r.uid)).toEqual(uids);
    rows.forEach((r, i) => {
      expect(Number(r.complete)).toBe(1);
      expect(r.body).toContain(`kumquat${i}`);
    });
  });

  it('writes the rows of a batch in one statement, not one per message', async () => {
    const indexer = store.searchIndexer;
    for (let i = 0; i < 5; i++) await store.append(box.id, 'INBOX', msg(100 + i));
    const { compiled } = await statements.count(() => indexer.idle());
    expect(compiled.filter((q) => /insert into "?message_text"?/i.test(q))).toHaveLength(1);
    const rows = await core.db.selectFrom('message_text').select('body').where('body', 'like', '%kumquat10_ inside%').execute();
    expect(rows.map((r) => r.body).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `body with kumquat${100 + i} inside.\r\n`));
  });

  it('gathers the messages that arrive while a batch is written into the next batch, not a batch each', async () => {
    const indexer = store.searchIndexer;
    await indexer.idle();
    const batches = indexer.batches;
    for (let i = 0; i < INDEX_BATCH + 3; i++) await store.append(box.id, 'INBOX', msg(200 + i));
    const loop = indexer as unknown as { running: Promise<void> | null };
    while (loop.running) await loop.running;
    expect(indexer.batches).toBe(batches + 1); // the three after the full batch wait for more
    await indexer.idle();
    expect(indexer.batches).toBe(batches + 2);
    const rows = await core.db.selectFrom('message_text').select('body').where('body', 'like', '%kumquat2__ inside%').execute();
    expect(rows).toHaveLength(INDEX_BATCH + 3);
  });
});
