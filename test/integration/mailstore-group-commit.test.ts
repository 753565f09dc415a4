/**
 * The store's group commit (issue 18): concurrent APPENDs from several writers are committed
 * together, each with its own UID, all visible and all still there for a fresh process on the
 * same database. On SQLite the batch commits without the fsync on the event loop and the WAL is
 * synced before anyone is answered (dialect.ts commitDurability): the connection must be back
 * to synchronous = FULL for every other writer, and concurrent syncs are shared. (SIGKILL right
 * after the tagged OK of APPEND: test/e2e/crash.test.ts.)
 */
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitDurability, openSqlite } from '../../appliance/db/dialect.js';
import { openBlobStore } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { testOnPostgres } from '../helpers/database.js';

const msg = (writer: number, i: number) =>
  Buffer.from(`From: w${writer}@example.org\r\nTo: gc@store.test\r\nSubject: writer ${writer} message ${i}\r\nMessage-ID: <w${writer}.${i}@example.org>\r\n\r\nBody ${writer}/${i}\r\n`);

describe('group commit of concurrent writers', () => {
  let core: TestCore;
  let box: { id: string; address: string };

  beforeAll(async () => {
    core = await createTestCore();
    box = await core.createMailbox('gc@store.test', 'Correct-Horse-77');
  });
  afterAll(async () => core?.close());

  it('concurrent APPENDs from five writers all get distinct UIDs, are all visible, byte for byte, and survive a reopen', async () => {
    const writers = 5;
    const perWriter = 8;
    // Each writer appends one message after the other (as one IMAP session does); the writers run at once.
    const results = await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const out: Array<{ uid: number; raw: Buffer }> = [];
        for (let i = 0; i < perWriter; i++) {
          const raw = msg(w, i);
          const r = await core.store.append(box.id, 'INBOX', raw, { flags: i % 2 ? ['\\Seen'] : [] });
          out.push({ uid: r.uid, raw });
        }
        return out;
      }),
    );
    const all = results.flat();
    const uids = all.map((r) => r.uid).sort((a, b) => a - b);
    expect(new Set(uids).size).toBe(writers * perWriter);
    expect(uids).toEqual(Array.from({ length: writers * perWriter }, (_, i) => uids[0]! + i)); // no gaps, no duplicates
    const inbox = (await core.store.getFolder(box.id, 'INBOX'))!;
    expect(inbox.uidNext).toBe(uids[uids.length - 1]! + 1);
    const entries = await core.store.listMessages(inbox.id);
    expect(entries.map((e) => e.uid)).toEqual(uids);
    const byUid = new Map(entries.map((e) => [e.uid, e]));
    for (const r of all) expect((await core.store.readMessage(byUid.get(r.uid)!.messageId)).equals(r.raw)).toBe(true);
    // Every write is in the index a new store (a restarted process) reads.
    const fresh = new SqlMailStore({ db: core.db, blobs: await openBlobStore(core.config.storage, path.join(core.dataDir, 'blobs')), maxMessageBytes: core.config.maxMessageBytes });
    expect((await fresh.entriesOf!(inbox.id, uids)).map((e) => e.uid)).toEqual(uids);
    expect((await fresh.quota(box.id)).messages).toBe(writers * perWriter);
    // SQLite syncs its WAL after the commit; PostgreSQL's commit is durable when it returns.
    expect(commitDurability(core.db) === null).toBe(testOnPostgres());
  });

  it('STORE and EXPUNGE from several writers at once keep one consistent MODSEQ order', async () => {
    const inbox = (await core.store.getFolder(box.id, 'INBOX'))!;
    const uids = (await core.store.listMessages(inbox.id)).map((e) => e.uid);
    const before = (await core.store.folderStatus(inbox.id)).highestModseq;
    const stores = await Promise.all(uids.slice(0, 10).map((uid) => core.store.storeFlags(inbox.id, [uid], 'add', ['\\Deleted'])));
    const modseqs = stores.map((s) => s.updated[0]!.modseq);
    expect(new Set(modseqs).size).toBe(10); // each STORE its own MODSEQ, even when committed together
    expect(Math.min(...modseqs)).toBeGreaterThan(before);
    const [a, b] = await Promise.all([core.store.expunge(inbox.id, uids.slice(0, 5)), core.store.expunge(inbox.id, uids.slice(5, 10))]);
    expect([...a, ...b].sort((x, y) => x - y)).toEqual(uids.slice(0, 10));
    expect((await core.store.listMessages(inbox.id)).map((e) => e.uid)).toEqual(uids.slice(10));
    const ch = await core.store.changesSince(inbox.id, before);
    expect(ch.expunged).toEqual(uids.slice(0, 10));
  });
});

describe.skipIf(testOnPostgres())('SQLite commits off the event loop', () => {
  let core: TestCore;

  beforeAll(async () => {
    core = await createTestCore();
  });
  afterAll(async () => core?.close());

  it('the connection is back to synchronous = FULL after every batch, for every other writer', async () => {
    const box = await core.createMailbox('full@store.test', 'Correct-Horse-78');
    await Promise.all([core.store.append(box.id, 'INBOX', msg(1, 1)), core.store.append(box.id, 'INBOX', msg(1, 2))]);
    const row = await sql<{ synchronous: number }>`pragma synchronous`.execute(core.db);
    expect(row.rows[0]!.synchronous).toBe(2); // FULL
  });

  it('concurrent WAL syncs are shared: a caller during a running sync waits for the next one, later callers share it', async () => {
    const opened = openSqlite(path.join(core.dataDir, 'walsync.db'));
    try {
      await sql`create table t (a integer)`.execute(opened.db);
      const d = commitDurability(opened.db)!;
      expect(d).not.toBeNull();
      await d.unsynced((db) => sql`insert into t values (1)`.execute(db));
      const first = d.sync();
      const second = d.sync();
      const third = d.sync();
      expect(second).not.toBe(first); // the first may have started before the caller's commit
      expect(third).toBe(second);
      await Promise.all([first, second, third]);
      const fourth = d.sync();
      expect(fourth).not.toBe(second); // nothing running: a new sync
      await fourth;
      expect((await sql<{ n: number }>`select count(*) as n from t`.execute(opened.db)).rows[0]!.n).toBe(1);
    } finally {
      await opened.close();
    }
  });
});
