/**
 * A large folder's sort-key copy follows its index copy (issue 18, tenth round): when the folder
 * index writes its persisted copy (after a full read, or after many changes), the store brings
 * the sort-key copy up to date in the background, so that the folder's first SORT — in this
 * process or a fresh one — reads one row instead of building the copy from every entry's keys on
 * its answer path. The copy holds the keys the rows hold; a copy that already holds every entry
 * is not written again, and a copy written by someone else meanwhile is never replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import type { FolderInfo } from '../../appliance/mailstore/store.types.js';
import type { SortKeys } from '../../appliance/mailstore/sort-keys.js';
import { decodeSortKeys, encodeSortKeys, SORT_COPY_MIN_ENTRIES, sortKeyCopyTable } from '../../appliance/mailstore/sort-key-copy.js';
import { createTestCore, folderOfCopies, type TestCore } from '../helpers/core.js';
import { installStatementCounter, type StatementCounter } from '../helpers/statements.js';

const msg = (i: number) =>
  Buffer.from(`From: a${i % 7}@example.org\r\nSubject: ${i % 2 ? 'Re: ' : ''}item ${i % 5}\r\nDate: Mon, ${1 + (i % 27)} Jan 2024 10:00:00 +0000\r\nMessage-ID: <r${i}@t>\r\n\r\nbody ${i}\r\n`);

/** A turn of the event loop: the folder index tells the store of its written copy on a later turn. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('sort-key copy kept with the folder index copy (r10)', () => {
  let core: TestCore;
  let counter: StatementCounter;
  let mailboxId: string;
  let big: FolderInfo;
  const restart = () => new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes });
  const copyRow = () => core.db.selectFrom('folder_sort_keys').selectAll().where('folder_id', '=', big.id).executeTakeFirst();
  /** Every entry's keys as the rows hold them (message id → keys). */
  const rowKeys = async () => {
    const rows = await core.db.selectFrom('folder_messages').select(['message_id', 'sort_keys']).where('folder_id', '=', big.id).orderBy('uid').execute();
    return new Map(rows.map((r) => [Number(r.message_id), JSON.parse(r.sort_keys!) as SortKeys]));
  };
  /** The copy's keys by message id. */
  const copyKeys = (data: Buffer) => {
    const copy = decodeSortKeys(data)!;
    return new Map(Array.from(copy.ids, (id, i) => [id, copy.keys[i]!]));
  };
  /** Drops the folder's index copies, so that a fresh store reads the rows and writes them again. */
  const dropIndexCopies = async () => {
    for (const table of ['folder_index_snapshots', 'folder_index_heads'] as const) await core.db.deleteFrom(table).where('folder_id', '=', big.id).execute();
  };

  beforeAll(async () => {
    counter = installStatementCounter();
    core = await createTestCore();
    mailboxId = (await core.createMailbox('refresh@sort.test', 'sort refresh passphrase')).id;
    // A quarter appended, the rest copies within the folder (no ingest: seconds, not tens).
    big = await folderOfCopies(core, mailboxId, 'Big', SORT_COPY_MIN_ENTRIES + 10, msg);
  });
  afterAll(async () => {
    counter?.restore();
    await core?.close();
  });

  it("writes the copy when the index copy is written, so that a fresh store's first SORT reads no entry's keys", async () => {
    await core.db.deleteFrom('folder_sort_keys').where('folder_id', '=', big.id).execute();
    await dropIndexCopies();
    const s = restart();
    const entries = await s.listMessages(big.id); // a full read: the index copy is written, the sort-key copy follows
    await nextTurn();
    // A read of the copy waits for its refresh (which read the entries' keys in the background): the column is there.
    expect(await s.sortColumn(big.id, 'd')).not.toBeNull();
    await s.queue.drain();
    const row = await copyRow();
    expect(row).toMatchObject({ entries: entries.length });
    expect(copyKeys(row!.data)).toEqual(await rowKeys());
    // A fresh store's first SORT reads the copy, not the entries' keys, and answers as the rows do.
    const t = restart();
    const first = await counter.count(() => t.sortColumn(big.id, 'd'));
    expect(first.value).not.toBeNull();
    expect(first.compiled.filter((q) => /sort_keys/.test(q) && !/folder_sort_keys/.test(q))).toEqual([]);
    const rows = await restart().sortRows(big.id);
    expect(Array.from(first.value!.keys)).toEqual(rows.map((r) => r.keys.d ?? r.internalDate));
  });

  it('brings a copy that lacks entries up to date, and leaves one that holds every entry as it is', async () => {
    const full = (await copyRow())!;
    const keys = decodeSortKeys(full.data)!;
    // A copy of part of the folder (as written before messages arrived): the next index copy brings it up to date.
    const part = Array.from(keys.ids.subarray(0, keys.ids.length - 300), (messageId, i) => ({ messageId, keys: keys.keys[i]! }));
    const ids = new Set(part.map((r) => r.messageId));
    const added = await core.store.appendMany(
      mailboxId,
      'Big',
      Array.from({ length: 20 }, (_, i) => ({ raw: msg(5000 + i) })),
    );
    expect(added.uids).toHaveLength(20);
    await core.db
      .updateTable('folder_sort_keys')
      .set({ data: encodeSortKeys(part), entries: part.length })
      .where('folder_id', '=', big.id)
      .execute();
    await dropIndexCopies();
    const s = restart();
    await s.listMessages(big.id);
    await nextTurn();
    expect(await s.sortColumn(big.id, 's')).not.toBeNull();
    await s.queue.drain();
    const now = (await copyRow())!;
    const want = await rowKeys();
    expect(copyKeys(now.data)).toEqual(want);
    expect([...want.keys()].some((id) => !ids.has(id))).toBe(true);
    // Nothing is missing now: a new index copy leaves the sort-key copy as it is (the same bytes, not written again).
    await dropIndexCopies();
    const t = restart();
    await t.listMessages(big.id);
    await nextTurn();
    const { compiled } = await counter.count(async () => {
      await t.sortColumn(big.id, 'd');
      await t.queue.drain();
    });
    expect(compiled.filter((q) => /^(insert|update)/i.test(q.trim()) && /folder_sort_keys/.test(q))).toEqual([]);
    expect((await copyRow())!.data.equals(now.data)).toBe(true);
  });

  it('never replaces a copy that another writer wrote after the refresh read the table', async () => {
    const before = (await copyRow())!;
    const keys = decodeSortKeys(before.data)!;
    const part = Array.from(keys.ids.subarray(0, keys.ids.length - 100), (messageId, i) => ({ messageId, keys: keys.keys[i]! }));
    await core.db
      .updateTable('folder_sort_keys')
      .set({ data: encodeSortKeys(part), entries: part.length })
      .where('folder_id', '=', big.id)
      .execute();
    // Another writer's copy lands between the refresh's read and its write.
    const theirs = encodeSortKeys(part.slice(0, part.length - 1));
    const table = sortKeyCopyTable(core.db, async (fn) => {
      await core.db
        .updateTable('folder_sort_keys')
        .set({ data: theirs, entries: part.length - 1 })
        .where('folder_id', '=', big.id)
        .execute();
      await fn(core.db);
    });
    const entries = await core.store.listMessages(big.id);
    await table.refresh(
      big.id,
      Float64Array.from(entries, (e) => e.messageId),
      () => undefined,
    );
    expect((await copyRow())!.data.equals(theirs)).toBe(true);
    // Without another writer, the same refresh writes the whole copy.
    const plain = sortKeyCopyTable(core.db, (fn) => fn(core.db));
    await plain.refresh(
      big.id,
      Float64Array.from(entries, (e) => e.messageId),
      () => undefined,
    );
    expect(copyKeys((await copyRow())!.data)).toEqual(await rowKeys());
  });
});
