/**
 * The search index's writer indexes an APPENDed message from the bytes the ingest holds (issue
 * 18, APPEND one session): reading each blob back cost four trips through libuv's pool and a
 * file open per message on the serving loop. What it keeps is bounded (MAX_HELD_BYTES): a
 * message queued beyond it is read back from the blob store as before. The rows are the same
 * either way (compared with the backfill's, which always reads the blob).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_HELD_BYTES } from '../../appliance/mailstore/fulltext-backfill.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

const msg = (i: number, body = `Body with Quinceword${i} inside.`) => Buffer.from(`From: a@example.org\r\nTo: h@held.test\r\nSubject: held ${i}\r\nMessage-ID: <h${i}@example.org>\r\n\r\n${body}\r\n`);

describe('search indexer: bytes held from the ingest', () => {
  let core: TestCore;
  let box: { id: string };
  let store: SqlMailStore;
  const rowsOf = async (ids: number[]) =>
    (await core.db.selectFrom('message_text').select(['message_id', 'body', 'head', 'complete']).where('message_id', 'in', ids).orderBy('message_id').execute()).map((r) => ({
      id: Number(r.message_id),
      body: r.body,
      head: r.head,
      complete: Number(r.complete),
    }));
  const messageIds = async (uids: number[]) => {
    const inbox = (await store.getFolder(box.id, 'INBOX'))!;
    const rows = await core.db.selectFrom('folder_messages').select('message_id').where('folder_id', '=', inbox.id).where('uid', 'in', uids).orderBy('uid').execute();
    return rows.map((r) => Number(r.message_id));
  };

  beforeAll(async () => {
    core = await createTestCore();
    box = await core.createMailbox('h@held.test', 'Correct-Horse-77');
    // a batch waits until asked for (idle): nothing depends on the clock
    store = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes, searchGatherMs: 3_600_000 });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await store?.searchIndexer.stop();
    await store?.queue.drain();
    await core?.close();
  });

  it('indexes APPENDed messages without reading their blobs back, with the rows the backfill writes', async () => {
    if (!core.blobs.write) return; // a store without unsynced writes (S3) prepares and commits: read back as before
    const get = vi.spyOn(core.blobs, 'get');
    const uids: number[] = [];
    for (let i = 0; i < 3; i++) uids.push((await store.append(box.id, 'INBOX', msg(i))).uid);
    await store.searchIndexer.idle();
    expect(get).not.toHaveBeenCalled();
    expect(store.searchIndexer.readBack).toBe(0);
    const ids = await messageIds(uids);
    const rows = await rowsOf(ids);
    expect(rows.map((r) => r.complete)).toEqual([1, 1, 1]);
    expect(rows[1]!.body).toContain('quinceword1');
    // the backfill reads every blob: the same rows
    await core.db.deleteFrom('message_text').where('message_id', 'in', ids).execute();
    await store.searchBackfill.run({ pauseMs: 0 });
    expect(get).toHaveBeenCalledTimes(3);
    expect(await rowsOf(ids)).toEqual(rows);
    get.mockRestore();
  });

  it('holds at most MAX_HELD_BYTES: the messages beyond are read back from the blob store', async () => {
    if (!core.blobs.write) return;
    const big = 'x'.repeat(998) + '\r\n';
    const size = msg(0, big.repeat(1000)).length; // about 1 MB each, under the index's text limit (1 MiB)
    const n = Math.floor(MAX_HELD_BYTES / size) + 2; // fewer than a batch (16): nothing starts before idle()
    const before = store.searchIndexer.readBack;
    const uids: number[] = [];
    for (let i = 0; i < n; i++) uids.push((await store.append(box.id, 'INBOX', msg(100 + i, `Needle${i} ` + big.repeat(1000)))).uid);
    await store.searchIndexer.idle();
    expect(store.searchIndexer.readBack - before).toBe(n - Math.floor(MAX_HELD_BYTES / size));
    const ids = await messageIds(uids);
    const rows = await rowsOf(ids);
    expect(rows).toHaveLength(n);
    rows.forEach((r, i) => {
      expect(r.complete).toBe(1);
      expect(r.body.startsWith(`needle${i} `)).toBe(true);
    });
    // held or read back: the rows the backfill writes
    await core.db.deleteFrom('message_text').where('message_id', 'in', ids).execute();
    await store.searchBackfill.run({ pauseMs: 0 });
    expect(await rowsOf(ids)).toEqual(rows);
  });
});
