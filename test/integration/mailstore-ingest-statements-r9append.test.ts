/**
 * The ingest's write side (issue 18, APPEND one session): each statement of an APPEND is built
 * and compiled by kysely once per database handle and run again with new values (kysely built
 * and compiled every statement of every APPEND on the serving loop), and so are the group
 * commit's pragmas and savepoints. What an APPEND stores is unchanged: the rows, the UIDs, the
 * quota, the special-use fallback to INBOX. (The eighth round's version of this change also
 * rebuilt unsynced_blobs WITHOUT ROWID, which broke the rowid paging of `postern migrate` and the
 * storage move; the tables are unchanged here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../appliance/core/kernel/errors.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { testOnPostgres } from '../helpers/database.js';
import { installStatementCounter } from '../helpers/statements.js';

const statements = installStatementCounter();

const msg = (i: number) => Buffer.from(`From: a@example.org\r\nTo: w@write.test\r\nSubject: write ${i}\r\nMessage-ID: <w${i}@example.org>\r\n\r\nBody ${i}\r\n`);

describe('the ingest write side', () => {
  let core: TestCore;
  let store: SqlMailStore;
  let box: { id: string };
  let other: { id: string };

  beforeAll(async () => {
    core = await createTestCore();
    box = await core.createMailbox('w@write.test', 'Correct-Horse-77');
    other = await core.createMailbox('x@write.test', 'Correct-Horse-77');
    // The unlisting of a synced blob rides on the next APPEND (never a timer of its own) and the
    // search index waits: the statements of one APPEND are the same on any box.
    store = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes, unlistDelayMs: 600_000, searchGatherMs: 600_000 });
  });
  afterAll(async () => {
    statements.restore();
    await store?.searchIndexer.idle();
    await core?.close();
  });

  it('compiles no statement for an APPEND after the first of its shape', async () => {
    await store.append(box.id, 'INBOX', msg(0)); // compiled here
    await store.append(box.id, 'INBOX', msg(1)); // and the unlisting of one synced blob
    for (let i = 2; i < 5; i++) {
      const { value: r, compiled } = await statements.count(() => store.append(box.id, i % 2 ? 'inbox' : 'Sent', msg(i)));
      expect(r.uid).toBeGreaterThan(0);
      expect(compiled).toEqual([]);
    }
  });

  it('runs one statement per row written, the folder found by the update that takes its UID (SQLite)', async () => {
    if (testOnPostgres()) return; // statements are counted where they run in-process (SQLite)
    const { ran } = await statements.count(() => store.append(box.id, 'INBOX', msg(5)));
    const kinds = ran.map((s) => s.trim().split(/\s+/).slice(0, 3).join(' ').toLowerCase().replace(/"/g, ''));
    expect(kinds).toEqual([
      'pragma synchronous =',
      'begin',
      'insert into unsynced_blobs',
      'insert into messages',
      'update mailboxes set',
      'update folders set',
      'insert into folder_messages',
      'delete from unsynced_blobs',
      'commit',
      'pragma synchronous =',
    ]);
  });

  it('stores what it stored before: UIDs in order, quota, the entry, a special use or INBOX', async () => {
    const inbox = (await store.getFolder(box.id, 'INBOX'))!;
    const before = await store.quota(box.id);
    const a = await store.append(box.id, 'INBOX', msg(10), { flags: ['\\Seen'], internalDate: 1_700_000_000_000 });
    const b = await store.append(box.id, 'INBOX', msg(11));
    expect(b.uid).toBe(a.uid + 1);
    expect(a.uidValidity).toBe(inbox.uidValidity);
    const after = await store.quota(box.id);
    expect(after.usedBytes - before.usedBytes).toBe(msg(10).length + msg(11).length);
    const entry = await core.db.selectFrom('folder_messages').selectAll().where('folder_id', '=', inbox.id).where('uid', '=', a.uid).executeTakeFirstOrThrow();
    expect(entry.flags).toContain('\\Seen');
    expect(Number(entry.internal_date)).toBe(1_700_000_000_000);
    expect(Number(entry.size)).toBe(msg(10).length);
    const junk = await core.db.selectFrom('folders').select('id').where('mailbox_id', '=', box.id).where('special_use', '=', '\\Junk').executeTakeFirstOrThrow();
    const [toJunk] = await store.ingest.ingest(msg(12), [{ mailboxId: box.id, folder: '\\Junk' }], { enforceQuota: false });
    expect(toJunk!.folderId).toBe(Number(junk.id));
    expect(junk.id).not.toBe(inbox.id);
    const [noSuchUse] = await store.ingest.ingest(msg(13), [{ mailboxId: box.id, folder: '\\Nowhere' }], { enforceQuota: false });
    expect(noSuchUse!.folderId).toBe(inbox.id);
    // one statement shape for every mailbox: another mailbox's folder, by its own name
    const [elsewhere] = await store.ingest.ingest(msg(14), [{ mailboxId: other.id, folder: 'INBOX' }], { enforceQuota: false });
    expect(elsewhere!.folderId).toBe((await store.getFolder(other.id, 'INBOX'))!.id);
  });

  it('refuses a missing folder or mailbox with nothing stored', async () => {
    const before = await store.quota(box.id);
    const err = await store.append(box.id, 'No Such Folder', msg(20)).catch((e: unknown) => e);
    expect(isAppError(err, 'NotFound')).toBe(true);
    expect(await store.quota(box.id)).toEqual(before);
    const gone = await store.ingest.ingest(msg(21), [{ mailboxId: 'mbx_nobody', folder: 'INBOX' }], { enforceQuota: true }).catch((e: unknown) => e);
    expect(isAppError(gone, 'NotFound')).toBe(true);
  });
});
