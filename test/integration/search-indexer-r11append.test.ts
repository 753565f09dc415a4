/**
 * The search index waits for a quiet moment (issue 18, APPEND in one session): a batch's FTS5
 * insert costs the serving loop about 0.5-1 ms per message, and written while a client's APPENDs
 * kept coming it held up the next answer by the whole batch. Now no batch is written while
 * messages keep arriving (less than GATHER_MS apart), full ones included; the first quiet moment
 * writes them all. The wait is bounded: once a message waited INDEX_MAX_LAG_MS, full batches are
 * written as they fill (background jobs of the write queue), so a steady stream is indexed about
 * that far behind. The clock is vitest's fake one (performance.now() and timers), moved by the test: nothing
 * depends on how fast the machine is. search-indexer-r8append/r10append cover the batches under a
 * steady stream (no wait).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GATHER_MS, INDEX_BATCH, INDEX_MAX_LAG_MS } from '../../appliance/mailstore/fulltext-backfill.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

const msg = (i: number) => Buffer.from(`From: a@example.org\r\nTo: q@quiet.test\r\nSubject: quiet ${i}\r\nMessage-ID: <q${i}@example.org>\r\n\r\nBody with Mulberry${i} inside.\r\n`);

describe('search indexer: a quiet moment', () => {
  let core: TestCore;
  let store: SqlMailStore;
  /** The mailbox's INBOX entries with and without their search-index row. */
  const indexed = async (mailboxId: string) => {
    const rows = await core.db
      .selectFrom('folder_messages')
      .innerJoin('folders', 'folders.id', 'folder_messages.folder_id')
      .leftJoin('message_text', 'message_text.message_id', 'folder_messages.message_id')
      .select(['folder_messages.uid', 'message_text.message_id as text'])
      .where('folders.mailbox_id', '=', mailboxId)
      .orderBy('folder_messages.uid')
      .execute();
    return { all: rows.length, withRow: rows.filter((r) => r.text !== null).length, rows };
  };
  /** The indexer's loop, when one runs. */
  const finished = async () => {
    const loop = store.searchIndexer as unknown as { running: Promise<void> | null };
    while (loop.running) await loop.running;
  };

  beforeAll(async () => {
    core = await createTestCore();
    store = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes }); // the defaults
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await store?.searchIndexer.stop();
    await store?.queue.drain();
    await core?.close();
  });

  it('writes no batch while messages keep arriving, full ones included; the first quiet moment writes them all', async () => {
    const box = await core.createMailbox('q@quiet.test', 'Correct-Horse-77');
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    const indexer = store.searchIndexer;
    const before = { batches: indexer.batches, lagged: indexer.lagged };
    const n = 2 * INDEX_BATCH + 3;
    for (let i = 0; i < n; i++) {
      await store.append(box.id, 'INBOX', msg(i));
      vi.advanceTimersByTime(GATHER_MS - 1); // the next one comes before a quiet moment
    }
    await finished();
    expect(indexer.batches).toBe(before.batches);
    expect(await indexed(box.id)).toMatchObject({ all: n, withRow: 0 });
    vi.advanceTimersByTime(1); // GATHER_MS without a new message
    await finished();
    expect(indexer.batches).toBe(before.batches + 3); // 16, 16 and 3, one after the other
    expect(indexer.lagged).toBe(before.lagged); // none waited for a durable commit to ride behind
    expect(await indexed(box.id)).toMatchObject({ all: n, withRow: n });
    const texts = await core.db.selectFrom('message_text').select('body').where('body', 'like', '%mulberry%').execute();
    expect(texts.map((t) => t.body).sort()).toEqual(Array.from({ length: n }, (_, i) => `body with mulberry${i} inside.\r\n`).sort());
  });

  it('once a message waited INDEX_MAX_LAG_MS while others kept arriving, its full batch is written', async () => {
    const box = await core.createMailbox('l@quiet.test', 'Correct-Horse-77');
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    const indexer = store.searchIndexer;
    const before = { batches: indexer.batches, lagged: indexer.lagged };
    // The batch's transaction, a background job of the write queue, waits for the next durable commit (SQLite).
    const queued = new Promise<void>((resolve) => {
      const run = store.queue.run.bind(store.queue);
      vi.spyOn(store.queue, 'run').mockImplementation((fn, opts) => {
        if (opts?.background) resolve();
        return run(fn, opts);
      });
    });
    const t0 = performance.now();
    let i = 100;
    while (performance.now() - t0 < INDEX_MAX_LAG_MS) {
      expect(indexer.batches).toBe(before.batches); // nothing before the first message waited that long
      await store.append(box.id, 'INBOX', msg(i++));
      vi.advanceTimersByTime(GATHER_MS - 1);
    }
    expect(indexer.batches).toBe(before.batches + 1); // started as the clock passed t0 + INDEX_MAX_LAG_MS
    await queued;
    await store.append(box.id, 'INBOX', msg(i++)); // the durable commit it rides behind
    await finished();
    expect(indexer.batches).toBe(before.batches + 1); // the others have not waited as long: they wait on
    expect(indexer.lagged).toBe(before.lagged + 1);
    const { all, withRow, rows } = await indexed(box.id);
    expect(all).toBe(i - 100);
    expect(withRow).toBe(INDEX_BATCH);
    expect(rows.slice(0, INDEX_BATCH).every((r) => r.text !== null)).toBe(true); // the oldest ones
    await indexer.idle();
    expect(await indexed(box.id)).toMatchObject({ all: i - 100, withRow: i - 100 });
  });
});
