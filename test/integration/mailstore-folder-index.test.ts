/**
 * The mail store's in-memory folder index (appliance/mailstore/folder-index.ts): after any mix
 * of appends, flag changes, expunges and moves, what listMessages and sortRows answer from
 * memory equals a fresh read of the database; writes made through another store instance on the
 * same database (another process: no change events reach this one) are caught up from the
 * change journal (RFC 7162 MODSEQ, changesSince).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import type { FolderInfo } from '../../appliance/mailstore/store.types.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { SNAPSHOT_MIN_ENTRIES } from '../../appliance/mailstore/folder-index.js';
import { decodeEntries, decodeHead, encodeEntries, encodeHead } from '../../appliance/mailstore/folder-snapshot.js';
import { EntryColumns } from '../../appliance/mailstore/entry-columns.js';
import type { UidFlagColumns } from '../../appliance/mailstore/store.types.js';
import { decodeSortKeys, encodeSortKeys, SORT_COPY_MIN_ENTRIES } from '../../appliance/mailstore/sort-key-copy.js';

const msg = (i: number) =>
  Buffer.from(`From: a${i}@example.org\r\nSubject: ${i % 2 ? 'Re: ' : ''}item ${i % 5}\r\nDate: Mon, ${1 + (i % 27)} Jan 2024 10:00:00 +0000\r\nMessage-ID: <i${i}@t>\r\n\r\nbody ${i}\r\n`);

describe('mail store folder index', () => {
  let core: TestCore;
  let other: SqlMailStore;
  let mailboxId: string;
  let inbox: FolderInfo;
  let archive: FolderInfo;
  beforeAll(async () => {
    core = await createTestCore();
    mailboxId = (await core.createMailbox('ix@index.test', 'index passphrase')).id;
    // A second store on the same database and blobs: its writes emit no events in `core.store`.
    other = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes });
    inbox = (await core.store.getFolder(mailboxId, 'INBOX'))!;
    archive = (await core.store.getFolder(mailboxId, 'Archive'))!;
  });
  afterAll(async () => {
    await other?.queue.drain();
    await core?.close();
  });

  /** What a store that has never seen the folder reads from the database. */
  const fresh = async (folderId: number) => {
    const s = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes });
    return { entries: await s.listMessages(folderId), rows: await s.sortRows(folderId) };
  };

  /** The folder's kept entry count (migration 0050) and its rows' count. */
  const counts = async (folderId: number) => {
    const kept = await core.db.selectFrom('folders').select('message_count').where('id', '=', folderId).executeTakeFirstOrThrow();
    const rows = await core.db
      .selectFrom('folder_messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('folder_id', '=', folderId)
      .executeTakeFirstOrThrow();
    return [Number(kept.message_count), Number(rows.n)];
  };

  const expectCurrent = async () => {
    for (const f of [inbox, archive]) {
      const want = await fresh(f.id);
      expect(await core.store.listMessages(f.id)).toEqual(want.entries);
      expect(await core.store.sortRows(f.id)).toEqual(want.rows);
      const [kept, rows] = await counts(f.id);
      expect(kept).toBe(rows);
    }
  };

  it('answers what the database holds after each kind of change, from this store or another', async () => {
    for (let i = 0; i < 20; i++) await core.store.append(mailboxId, 'INBOX', msg(i));
    await expectCurrent(); // first load
    const steps: Array<[string, (s: SqlMailStore) => Promise<unknown>]> = [
      ['append here', (s) => s.append(mailboxId, 'INBOX', msg(100))],
      ['append elsewhere', (s) => s.appendMany(mailboxId, 'INBOX', [{ raw: msg(101) }, { raw: msg(102), flags: ['\\Seen'] }])],
      ['flags', (s) => s.storeFlags(inbox.id, [2, 4, 6], 'add', ['\\Seen', '$Label'])],
      ['flags removed', (s) => s.storeFlags(inbox.id, [4], 'remove', ['$Label'])],
      [
        'expunge',
        async (s) => {
          await s.storeFlags(inbox.id, [1, 3, 21], 'add', ['\\Deleted']);
          return s.expunge(inbox.id);
        },
      ],
      ['move', (s) => s.moveMessages(inbox.id, [5, 7, 22], archive.id)],
      ['copy back', (s) => s.copyMessages(archive.id, [1, 2], inbox.id)],
    ];
    for (const [name, step] of steps) {
      for (const s of [core.store, other]) {
        await step(s);
        await expectCurrent().catch((err: Error) => {
          throw new Error(`after "${name}" through ${s === core.store ? 'this store' : 'another store'}: ${err.message}`);
        });
      }
    }
    const uids = (await core.store.listMessages(inbox.id)).map((e) => e.uid);
    expect(uids).toEqual([...uids].sort((a, b) => a - b));
  });

  it("keeps each folder's entry count with the folder through a rename of INBOX and a delete", async () => {
    const box = (await core.createMailbox('count@index.test', 'count passphrase')).id;
    for (let i = 0; i < 4; i++) await core.store.append(box, 'INBOX', msg(i));
    const src = (await core.store.getFolder(box, 'INBOX'))!;
    expect(await counts(src.id)).toEqual([4, 4]);
    // RFC 3501: renaming INBOX moves its messages into a new folder and leaves INBOX empty.
    await core.store.renameFolder(box, 'INBOX', 'Old');
    const old = (await core.store.getFolder(box, 'Old'))!;
    expect(await counts(src.id)).toEqual([0, 0]);
    expect(await counts(old.id)).toEqual([4, 4]);
    await core.store.copyMessages(old.id, [1, 2], src.id);
    await core.store.moveMessages(old.id, [3], src.id);
    expect(await counts(src.id)).toEqual([3, 3]);
    expect(await counts(old.id)).toEqual([3, 3]);
    await core.store.deleteFolder(box, 'Old');
    expect(await core.db.selectFrom('folders').select('id').where('id', '=', old.id).executeTakeFirst()).toBeUndefined();
  });

  it('gives each caller its own array (a caller cannot change the index)', async () => {
    const a = await core.store.listMessages(inbox.id);
    a.length = 0;
    expect((await core.store.listMessages(inbox.id)).length).toBeGreaterThan(0);
  });

  it('starts a large folder from its persisted copy and the journal, and ignores a copy that does not match the rows', async () => {
    const big = await core.store.createFolder(mailboxId, 'Big');
    // A quarter of the entries appended, the rest copies within the folder (no ingest: seconds, not tens).
    const quarter = Math.ceil((SNAPSHOT_MIN_ENTRIES + 10) / 4);
    await core.store.appendMany(
      mailboxId,
      'Big',
      Array.from({ length: quarter }, (_, i) => ({ raw: msg(i), flags: i % 3 ? [] : ['\\Seen'] })),
    );
    const firstUids = Array.from({ length: quarter }, (_, i) => i + 1);
    for (let k = 0; k < 3; k++) await core.store.copyMessages(big.id, firstUids, big.id);
    const n = quarter * 4;
    /** The entries as the rows say (no index, no copy). */
    const rows = async () =>
      (await core.db.selectFrom('folder_messages').select(['uid', 'flags']).where('folder_id', '=', big.id).orderBy('uid').execute()).map((r) => ({
        uid: Number(r.uid),
        flags: r.flags ? r.flags.split(' ') : [],
      }));
    const brief = (entries: Array<{ uid: number; flags: string[] }>) => entries.map((e) => ({ uid: e.uid, flags: [...e.flags] }));
    const snapshot = () => core.db.selectFrom('folder_index_snapshots').selectAll().where('folder_id', '=', big.id).executeTakeFirst();
    /** A store that has never seen the folder (a restart); its background writes are done when this returns. */
    const started = async () => {
      const s = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes });
      const entries = await s.listMessages(big.id);
      await s.queue.drain();
      return entries;
    };
    // A first full read writes the copy (in the background, on the write path).
    expect(await snapshot()).toBeUndefined();
    expect(brief(await started())).toEqual(await rows());
    const copy = await snapshot();
    expect(copy).toMatchObject({ entries: n });
    // Changes after the copy: a fresh store catches up from the journal.
    await other.storeFlags(big.id, [1, 2, 3], 'add', ['\\Flagged', '$Big']);
    await other.storeFlags(big.id, [4, 5], 'add', ['\\Deleted']);
    await other.expunge(big.id);
    await other.append(mailboxId, 'Big', msg(9999));
    expect(brief(await started())).toEqual(await rows());
    // The copy is what a fresh store starts from: one it cannot tell from the rows (same count,
    // same MODSEQ) shows through, so a test of the copy fails if the rows were read instead.
    const entries = decodeEntries(copy!.data)!;
    const at = entries.findIndex((e) => e.uid === 11); // not changed since the copy
    entries[at] = { ...entries[at]!, flags: ['$FromCopy'] };
    await core.db
      .updateTable('folder_index_snapshots')
      .set({ data: encodeEntries(entries) })
      .where('folder_id', '=', big.id)
      .execute();
    expect((await started()).find((e) => e.uid === 11)!.flags).toEqual(['$FromCopy']);
    // A copy that disagrees with the rows' count (an entry removed without a journal row) is not used.
    entries.pop();
    await core.db
      .updateTable('folder_index_snapshots')
      .set({ data: encodeEntries(entries), entries: entries.length })
      .where('folder_id', '=', big.id)
      .execute();
    expect(brief(await started())).toEqual(await rows());
    // A copy from the future (a restored database's older rows) is not used either.
    await core.db.updateTable('folder_index_snapshots').set({ modseq: 1e12 }).where('folder_id', '=', big.id).execute();
    expect(brief(await started())).toEqual(await rows());
  });
  it('answers SELECT of a large folder from its narrow copy (UIDs and flags, written with the full copy) and the journal; a narrow copy that does not match is ignored', async () => {
    const big = (await core.store.getFolder(mailboxId, 'Big'))!;
    const copy = (table: 'folder_index_heads' | 'folder_index_snapshots') => core.db.selectFrom(table).selectAll().where('folder_id', '=', big.id).executeTakeFirst();
    const restart = () => new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes });
    const rows = async () =>
      (await core.db.selectFrom('folder_messages').select(['uid', 'modseq', 'flags']).where('folder_id', '=', big.id).orderBy('uid').execute()).map((r) => ({
        uid: Number(r.uid),
        modseq: Number(r.modseq),
        flags: r.flags ? r.flags.split(' ') : [],
      }));
    const brief = (c: UidFlagColumns) => Array.from(c.uids.subarray(0, c.length), (uid, i) => ({ uid, modseq: c.modseqs[i], flags: [...c.lists[c.list[i]!]!] }));
    /** A fresh store's SELECT columns; its background writes are done when this returns. */
    const selected = async () => {
      const s = restart();
      const cols = await s.uidFlagColumns(big.id);
      await s.queue.drain();
      return brief(cols);
    };
    // The previous test left a copy from the future: a full read writes both copies again, of one MODSEQ.
    let s = restart();
    await s.listMessages(big.id);
    await s.queue.drain();
    const [head, full] = [await copy('folder_index_heads'), await copy('folder_index_snapshots')];
    expect(head).toMatchObject({ modseq: full!.modseq, entries: full!.entries });
    expect(await selected()).toEqual(await rows());
    // Changes after the copies: caught up from the journal.
    await other.storeFlags(big.id, [7], 'add', ['$Later']);
    await other.append(mailboxId, 'Big', msg(12345));
    expect(await selected()).toEqual(await rows());
    // The narrow copy is what SELECT starts from (a change the count cannot tell shows through);
    // a command that needs more reads the full copy, which does not have it.
    const entries = decodeEntries(full!.data)!;
    const at = entries.findIndex((e) => e.uid === 11);
    entries[at] = { ...entries[at]!, flags: ['$FromHead'] };
    const tampered = encodeHead(EntryColumns.fromEntries(entries));
    await core.db.updateTable('folder_index_heads').set({ data: tampered }).where('folder_id', '=', big.id).execute();
    s = restart();
    expect(brief(await s.uidFlagColumns(big.id)).find((e) => e.uid === 11)!.flags).toEqual(['$FromHead']);
    expect((await s.listMessages(big.id)).find((e) => e.uid === 11)!.flags).not.toContain('$FromHead');
    expect(brief(await s.uidFlagColumns(big.id))).toEqual(await rows());
    await s.queue.drain();
    // A narrow copy that disagrees with the folder's count, from the future or not one at all is
    // ignored (the full copy or the rows answer), and both copies are written again.
    const shorter = encodeHead(EntryColumns.fromEntries(entries.slice(0, -1)));
    for (const bad of [{ data: shorter, entries: entries.length - 1 }, { data: tampered, modseq: 1e12 }, { data: encodeEntries(entries) }]) {
      await core.db
        .updateTable('folder_index_heads')
        .set({ modseq: full!.modseq, entries: entries.length, ...bad })
        .where('folder_id', '=', big.id)
        .execute();
      expect(await selected()).toEqual(await rows());
      const again = decodeHead((await copy('folder_index_heads'))!.data)!;
      expect(brief({ ...again, uids: again.uid, modseqs: again.modseq })).toEqual(await rows());
    }
  });

  it('sorts a large folder from its persisted sort-key copy; keys it lacks are read from the rows, and a copy that is not one is ignored', async () => {
    const big = (await core.store.getFolder(mailboxId, 'Big'))!;
    expect((await core.store.listMessages(big.id)).length).toBeGreaterThanOrEqual(SORT_COPY_MIN_ENTRIES);
    const copyRow = () => core.db.selectFrom('folder_sort_keys').selectAll().where('folder_id', '=', big.id).executeTakeFirst();
    /** A store that has never sorted the folder (a restart); its background writes are done when this returns. */
    const sorted = async () => {
      const s = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes });
      const rows = await s.sortRows(big.id);
      await s.queue.drain();
      return rows;
    };
    await core.db.deleteFrom('folder_sort_keys').where('folder_id', '=', big.id).execute();
    const want = await sorted(); // read from the rows; writes the copy
    const copy = await copyRow();
    expect(copy).toMatchObject({ entries: want.length });
    expect(await sorted()).toEqual(want); // from the copy: the same rows
    // The copy is what a fresh store sorts with: a key changed in it shows through.
    const decoded = decodeSortKeys(copy!.data)!;
    const target = want.find((r) => r.uid === 11)!;
    const rows = Array.from(decoded.ids, (messageId, i) => ({ messageId, keys: messageId === target.messageId ? { ...decoded.keys[i]!, s: 'zzz from the copy' } : decoded.keys[i]! }));
    await core.db
      .updateTable('folder_sort_keys')
      .set({ data: encodeSortKeys(rows) })
      .where('folder_id', '=', big.id)
      .execute();
    expect((await sorted()).find((r) => r.uid === 11)!.keys.s).toBe('zzz from the copy');
    // A message stored after the copy: its keys are read from its row.
    await other.append(mailboxId, 'Big', msg(4242));
    const after = await sorted();
    const added = after[after.length - 1]!;
    expect(added.keys).toMatchObject({ s: 'item 2', id: 'i4242@t' });
    // A copy that is not one this code wrote (cut short) is ignored: the rows are read and a new copy written.
    await core.db
      .updateTable('folder_sort_keys')
      .set({ data: copy!.data.subarray(0, copy!.data.length - 7) })
      .where('folder_id', '=', big.id)
      .execute();
    const reread = await sorted();
    expect(reread.find((r) => r.uid === 11)!.keys.s).toBe(target.keys.s);
    expect(reread.slice(0, want.length)).toEqual(want);
    expect(await copyRow()).toMatchObject({ entries: reread.length });
  });
  it("removes a deleted folder's copies (index snapshot, its narrow copy and sort keys) and nobody else's", async () => {
    const big = (await core.store.getFolder(mailboxId, 'Big'))!;
    const copies = async (folderId: number) => [
      await core.db.selectFrom('folder_index_snapshots').select('folder_id').where('folder_id', '=', folderId).executeTakeFirst(),
      await core.db.selectFrom('folder_index_heads').select('folder_id').where('folder_id', '=', folderId).executeTakeFirst(),
      await core.db.selectFrom('folder_sort_keys').select('folder_id').where('folder_id', '=', folderId).executeTakeFirst(),
    ];
    await core.store.createFolder(mailboxId, 'Gone');
    const gone = (await core.store.getFolder(mailboxId, 'Gone'))!;
    // The copies of a folder as the background writes leave them (copied from Big's).
    for (const table of ['folder_index_snapshots', 'folder_index_heads', 'folder_sort_keys'] as const) {
      const row = await core.db.selectFrom(table).selectAll().where('folder_id', '=', big.id).executeTakeFirstOrThrow();
      await core.db
        .insertInto(table)
        .values({ ...row, folder_id: gone.id })
        .execute();
    }
    expect((await copies(gone.id)).every(Boolean)).toBe(true);
    await core.store.deleteFolder(mailboxId, 'Gone');
    expect(await core.store.pruneFolderCopies()).toBe(3);
    expect(await copies(gone.id)).toEqual([undefined, undefined, undefined]);
    expect((await copies(big.id)).every(Boolean)).toBe(true);
    expect(await core.store.pruneFolderCopies()).toBe(0);
  });
});
