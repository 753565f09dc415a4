/**
 * A sort-key copy brought up to date for a good part of a folder reads the folder's own rows,
 * not every message's row (issue 18, twelfth round: after a fresh process's first SELECT of a
 * folder of 1,200 without a copy, the refresh read all 1,200 `messages` rows, spread over the
 * file between the stored texts, from a cold disk, and the FETCH after the SELECT waited behind
 * it). A few missing keys are still read by message id, and so are keys that only the message's
 * row holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FolderInfo } from '../../appliance/mailstore/store.types.js';
import type { SortKeys } from '../../appliance/mailstore/sort-keys.js';
import { decodeSortKeys, encodeSortKeys, SORT_COPY_MIN_ENTRIES, sortKeyCopyTable } from '../../appliance/mailstore/sort-key-copy.js';
import { createTestCore, folderOfCopies, type TestCore } from '../helpers/core.js';
import { countingDb } from '../helpers/statements.js';

const msg = (i: number) => Buffer.from(`From: a${i % 7}@example.org\r\nSubject: item ${i % 5}\r\nDate: Mon, ${1 + (i % 27)} Jan 2024 10:00:00 +0000\r\nMessage-ID: <k${i}@r12>\r\n\r\nbody ${i}\r\n`);

describe('sort-key copy refreshed from the folder rows (r12fetch)', () => {
  let core: TestCore;
  let big: FolderInfo;
  let ids: Float64Array;
  const copyRow = () => core.db.selectFrom('folder_sort_keys').selectAll().where('folder_id', '=', big.id).executeTakeFirst();
  const copyKeys = (data: Buffer) => {
    const copy = decodeSortKeys(data)!;
    return new Map(Array.from(copy.ids, (id, i) => [id, copy.keys[i]!]));
  };
  const rowKeys = async () => {
    const rows = await core.db.selectFrom('messages').select(['id', 'sort_keys']).where('id', 'in', Array.from(ids)).execute();
    return new Map(rows.map((r) => [Number(r.id), JSON.parse(r.sort_keys!) as SortKeys]));
  };
  /**
   * The reads a refresh of the whole folder runs (the table writes its copy at once), by table:
   * only the table's own statements are counted, not the core's background work meanwhile (the
   * search indexer reads messages' rows too: a count of every statement compiled in the process
   * saw two reads of "messages" on PostgreSQL in CI).
   */
  const refresh = async () => {
    const { db, ran, counting } = countingDb(core.db);
    const table = sortKeyCopyTable(db, (fn) => fn(db));
    counting.on = true;
    try {
      await table.refresh(big.id, ids, () => undefined);
    } finally {
      counting.on = false;
    }
    return ran.filter((q) => q.startsWith('select '));
  };

  beforeAll(async () => {
    core = await createTestCore();
    const mailboxId = (await core.createMailbox('rows@r12fetch.test', 'sort rows passphrase')).id;
    // A quarter appended, the rest copies within the folder (no ingest: seconds, not tens).
    big = await folderOfCopies(core, mailboxId, 'Big', SORT_COPY_MIN_ENTRIES + 10, msg);
    ids = Float64Array.from(await core.store.listMessages(big.id), (e) => e.messageId);
    await core.store.queue.drain();
  }, 120_000);
  afterAll(async () => {
    await core?.close();
  });

  it("writes a folder's first copy from its rows, reading no message's row", async () => {
    await core.db.deleteFrom('folder_sort_keys').where('folder_id', '=', big.id).execute();
    const selects = await refresh();
    expect(selects.filter((q) => q === 'select messages')).toEqual([]);
    expect(selects.filter((q) => q === 'select folder_messages').length).toBeGreaterThan(0);
    const row = (await copyRow())!;
    expect(row.entries).toBe(ids.length);
    expect(copyKeys(row.data)).toEqual(await rowKeys());
  });

  it('reads a few missing keys by message id, and keys the folder rows lack from the messages', async () => {
    const full = decodeSortKeys((await copyRow())!.data)!;
    // A copy lacking 20 of the folder's messages (each is in the folder four times): read by id, the folder's rows untouched.
    const gone = new Set(ids.subarray(ids.length - 20));
    const part = Array.from(full.ids, (messageId, i) => ({ messageId, keys: full.keys[i]! })).filter((r) => !gone.has(r.messageId));
    await core.db
      .updateTable('folder_sort_keys')
      .set({ data: encodeSortKeys(part), entries: part.length })
      .where('folder_id', '=', big.id)
      .execute();
    const few = await refresh();
    expect(few.filter((q) => q === 'select folder_messages')).toEqual([]);
    expect(few.filter((q) => q === 'select messages')).toHaveLength(1);
    expect(copyKeys((await copyRow())!.data)).toEqual(await rowKeys());
    // No copy, and keys only on the messages' rows for some entries (as stored before the folder rows held them).
    await core.db.deleteFrom('folder_sort_keys').where('folder_id', '=', big.id).execute();
    await core.db
      .updateTable('folder_messages')
      .set({ sort_keys: null })
      .where('message_id', 'in', Array.from(ids.subarray(0, 30)))
      .execute();
    const both = await refresh();
    expect(both.filter((q) => q === 'select folder_messages').length).toBeGreaterThan(0);
    expect(both.filter((q) => q === 'select messages')).toHaveLength(1);
    expect(copyKeys((await copyRow())!.data)).toEqual(await rowKeys());
  });
});
