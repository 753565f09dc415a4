/**
 * A cold SEARCH BODY (issue 18, fifteenth round) read 216 pages after the page cache was dropped
 * (1,200 messages): 77 to learn which of the folder's entries the index covers (every entry row
 * of the folder) and 138 for the query, 61 of them the index's 13 segments (one per indexer batch
 * FTS5's automerge had not merged yet). Now the entries the caller holds are checked against the
 * (message_id, complete) index alone (db/fulltext-adapter.ts uncoveredAmong: no folder_messages
 * read on SQLite when the ids lie close together), and the indexer merges the index's segments
 * after its batches (mergeTextIndex, SQLite). Answers stay those of the index as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../appliance/db/schema.js';
import { dialectOf } from '../../appliance/db/dialect.js';
import { uncoveredAmong } from '../../appliance/db/fulltext-adapter.js';
import { searchStoredText } from '../../appliance/mailstore/fulltext.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

const msg = (i: number, word: string) => Buffer.from(`From: a@example.org\r\nTo: c@cold.test\r\nSubject: cold ${i}\r\nMessage-ID: <c${i}@example.org>\r\n\r\nBody ${i} with ${word} inside.\r\n`);

/** The SQL texts kysely compiles for the handle's statements (raw ones included). */
function recording(db: Kysely<DB>): { db: Kysely<DB>; texts: string[] } {
  const texts: string[] = [];
  const rec = db.withPlugin({
    transformQuery(args) {
      const node = args.node as { kind: string; sqlFragments?: readonly string[] };
      texts.push(node.kind === 'RawNode' ? (node.sqlFragments ?? []).join('?') : node.kind);
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  });
  return { db: rec, texts };
}

describe('search index, cold reads', () => {
  let core: TestCore;
  let store: SqlMailStore;
  let folderId = 0;
  let ids: number[] = [];
  const sqlite = () => dialectOf(core.db) === 'sqlite';

  beforeAll(async () => {
    core = await createTestCore();
    // Batches written at once (no quiet moment to wait for): each idle() below is one batch, one FTS5 segment.
    store = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes, searchGatherMs: 0 });
    const box = await core.createMailbox('c@cold.test', 'Correct-Horse-77');
    for (let i = 0; i < 12; i++) {
      await store.append(box.id, 'INBOX', msg(i, i % 3 === 0 ? 'zebrafish' : 'sturgeon'));
      await store.searchIndexer.idle();
    }
    const folder = await store.getFolder(box.id, 'INBOX');
    folderId = folder!.id;
    ids = (await store.listMessages(folderId)).map((e) => e.messageId);
  });
  afterAll(async () => {
    await store?.searchIndexer.stop();
    await store?.queue.drain();
    await core?.close();
  });

  it('the indexer merges the index segments its batches made (SQLite); SEARCH answers as before', async () => {
    if (!sqlite()) {
      expect(store.searchIndexer.mergeSteps).toBe(0);
      return;
    }
    const segments = async () => Number((await sql<{ n: number }>`select count(distinct segid) as n from message_fts_idx`.execute(core.db)).rows[0]!.n);
    expect(store.searchIndexer.batches).toBeGreaterThanOrEqual(12);
    expect(store.searchIndexer.mergeSteps).toBeGreaterThan(0);
    expect(await segments()).toBe(1);
    const found = await searchStoredText(core.db, folderId, null, [{ field: 'body', needle: 'sturgeon' }], ids);
    expect([...found.hits[0]!].sort((a, b) => a - b)).toEqual(ids.filter((_, i) => i % 3 !== 0));
  });

  it('which entries the index covers: from the index alone when the ids lie close together (SQLite), the same answer as the folder query', async () => {
    // One message without its row, one with an incomplete one.
    await core.db.deleteFrom('message_text').where('message_id', '=', ids[4]!).execute();
    await core.db.updateTable('message_text').set({ complete: 0 }).where('message_id', '=', ids[7]!).execute();
    const { db, texts } = recording(core.db);
    expect((await uncoveredAmong(db, folderId, ids)).sort((a, b) => a - b)).toEqual([ids[4]!, ids[7]!].sort((a, b) => a - b));
    const whole = await searchStoredText(db, folderId, null, [{ field: 'body', needle: 'zebrafish' }], ids);
    expect([...whole.uncovered].sort((a, b) => a - b)).toEqual([ids[4]!, ids[7]!].sort((a, b) => a - b));
    // ids 0, 3, 6, 9 hold the needle; 4 and 7 are left to the scan (the index answers for the others).
    expect([...whole.hits[0]!].sort((a, b) => a - b)).toEqual([ids[0]!, ids[3]!, ids[6]!, ids[9]!]);
    const readsEntries = texts.filter((t) => /folder_messages fm\s+where fm.folder_id/.test(t));
    if (sqlite()) expect(readsEntries).toEqual([]);
    else expect(readsEntries.length).toBeGreaterThan(0);
    // Only some of the folder's entries: only those are answered for.
    expect(await uncoveredAmong(core.db, folderId, [ids[3]!, ids[4]!, ids[5]!])).toEqual([ids[4]!]);
    // Ids spread wide: the folder query, those of the ids asked about.
    expect(await uncoveredAmong(core.db, folderId, [ids[0]!, ids[4]!, ids[0]! + 1_000_000])).toEqual([ids[4]!]);
    await core.db.updateTable('message_text').set({ complete: 1 }).where('message_id', '=', ids[7]!).execute();
  });
});
