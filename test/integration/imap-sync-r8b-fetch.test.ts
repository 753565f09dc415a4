/**
 * The untagged updates an IMAP session owes after each command (EXISTS, EXPUNGE, FETCH FLAGS)
 * are read from the store's folder index (issue 18): changesSince of a folder kept in memory
 * costs one state read when nothing changed and one journal read per change for all sessions
 * of the folder, and answers what the journal answers, for changes made by this store and by
 * another store instance on the same database (another process: no change events reach this one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapServer, type ImapServerHandle } from '../../appliance/imap/server.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import type { FolderInfo } from '../../appliance/mailstore/store.types.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { countingDb } from '../helpers/statements.js';
import { RawClient, testCertificate } from './imap-harness.js';
import { prng } from '../../scripts/lib/prng.js';

const USER = 'sync@r8b.test';
const PASS = 'correct horse battery';
const msg = (i: number) => Buffer.from(`From: a${i}@example.org\r\nSubject: sync ${i}\r\nMessage-ID: <sync-${i}@example.org>\r\n\r\nBody ${i}\r\n`);

describe('untagged updates from the folder index', () => {
  let core: TestCore;
  /** The served store, over a database handle that records the tables of each statement while `counting`. */
  let store: SqlMailStore;
  /** Another store on the same database and blobs: its writes emit no events in `store`. */
  let other: SqlMailStore;
  let server: ImapServerHandle;
  let mailboxId: string;
  let inbox: FolderInfo;
  let count: ReturnType<typeof countingDb>;
  const fresh = () => new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes });
  const counted = async <T>(fn: () => Promise<T>): Promise<T> => {
    count.ran.length = 0;
    count.counting.on = true;
    try {
      return await fn();
    } finally {
      count.counting.on = false;
    }
  };
  const reads = (table: string) => count.ran.filter((r) => r === `select ${table}`).length;

  beforeAll(async () => {
    core = await createTestCore();
    count = countingDb(core.db);
    // The synced blobs' unsynced_blobs rows go with a later ingest transaction, not a delete of
    // their own a second after an append that could land inside a counted read.
    store = new SqlMailStore({ db: count.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes, unlistDelayMs: 600_000 });
    other = fresh();
    mailboxId = (await core.createMailbox(USER, PASS)).id;
    for (let i = 0; i < 12; i++) await store.append(mailboxId, 'INBOX', msg(i));
    inbox = (await store.getFolder(mailboxId, 'INBOX'))!;
    server = await startImapServer({
      config: { ...core.config, ports: { ...core.config.ports, imap: 0, imaps: 0 } },
      logger: core.logger,
      store,
      credentials: core.credentials,
      tls: testCertificate(),
    });
  });
  afterAll(async () => {
    await server?.close();
    await other?.queue.drain();
    await store?.queue.drain();
    await core?.close();
  });

  it('answers changesSince from memory as the journal does, after changes here and in another store', async () => {
    const random = prng(18);
    const seen: number[] = [0];
    await store.listMessages(inbox.id); // the folder is kept in memory
    for (let step = 0; step < 40; step++) {
      const s = random() < 0.5 ? store : other;
      const uids = (await fresh().listMessages(inbox.id)).map((e) => e.uid);
      const pick = () => uids[Math.floor(random() * uids.length)]!;
      const r = random();
      if (r < 0.3 || uids.length < 4) await s.append(mailboxId, 'INBOX', msg(100 + step));
      else if (r < 0.6) await s.storeFlags(inbox.id, [pick(), pick()], random() < 0.5 ? 'add' : 'remove', ['\\Seen', '$Label']);
      else if (r < 0.8) {
        const uid = pick();
        await s.storeFlags(inbox.id, [uid], 'add', ['\\Deleted']);
        await s.expunge(inbox.id, [uid]);
      } else await s.moveMessages(inbox.id, [pick()], (await s.getFolder(mailboxId, 'Archive'))!.id);
      const now = (await fresh().getFolder(mailboxId, 'INBOX'))!.highestModseq;
      seen.push(now);
      for (const m of [0, seen[seen.length - 2]!, seen[Math.floor(random() * seen.length)]!, now, now + 5]) {
        expect(await store.changesSince(inbox.id, m), `step ${step}, since ${m}`).toEqual(await fresh().changesSince(inbox.id, m));
      }
    }
  });

  it('reads one state row when nothing changed, and the journal once for every caller when something did', async () => {
    const now = (await store.getFolder(mailboxId, 'INBOX'))!.highestModseq;
    await store.changesSince(inbox.id, now);
    await counted(() => store.changesSince(inbox.id, now));
    expect(count.ran).toEqual(['select folders']);
    const gone = (await other.listMessages(inbox.id))[1]!.uid;
    await other.storeFlags(inbox.id, [gone], 'add', ['\\Deleted']);
    await other.expunge(inbox.id, [gone]);
    await other.append(mailboxId, 'INBOX', msg(400));
    // Ten sessions of the folder catching up at once: one state read, one journal read.
    const answers = await counted(() => Promise.all(Array.from({ length: 10 }, () => store.changesSince(inbox.id, now))));
    expect(answers[0]!.changed).toHaveLength(1); // the new message (the \Deleted one is gone)
    expect(answers[0]!.expunged).toHaveLength(1);
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect([reads('folders'), reads('folder_messages'), reads('folder_expunges')]).toEqual([1, 1, 1]);
  });

  it('a session gets the untagged updates of another session and of another store, and reads no journal when nothing changed', async () => {
    const a = await RawClient.connect(server.ports.imaps, true);
    const b = await RawClient.connect(server.ports.imaps, true);
    let selected = '';
    for (const c of [a, b]) {
      await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
      selected = await c.cmd('s', 'SELECT INBOX');
    }
    const exists = Number(/^\* (\d+) EXISTS/m.exec(selected)?.[1]);
    // SELECT ends with a check for changes since its view (none): state rows alone, no journal.
    expect(await counted(() => a.cmd('s2', 'SELECT INBOX'))).toMatch(/^s2 OK/m);
    expect([reads('folder_messages'), reads('folder_expunges')]).toEqual([0, 0]);
    expect(await counted(() => a.cmd('n0', 'NOOP'))).toMatch(/^n0 OK/);
    expect(count.ran).toEqual([]);
    expect(await counted(() => a.cmd('f1', 'FETCH 1 (FLAGS)'))).toMatch(/^\* 1 FETCH \(FLAGS \([^)]*\)\)\r\nf1 OK/);
    expect([reads('folder_messages'), reads('folder_expunges')]).toEqual([0, 0]);

    expect(await b.cmd('b1', 'STORE 2 +FLAGS (\\Answered)')).toMatch(/^\* 2 FETCH \(FLAGS \(.*\\Answered.*\)\)/m);
    const uid3 = (await store.listMessages(inbox.id))[2]!.uid;
    await other.storeFlags(inbox.id, [uid3], 'add', ['$Other']); // no event reaches `store`
    await b.cmd('b2', `APPEND INBOX {${msg(500).length}+}\r\n${msg(500).toString()}`);
    // b's commands caught the store's index up; a heard of those changes: it reads nothing.
    const updates = await counted(() => a.cmd('n2', 'NOOP'));
    expect([reads('folders'), reads('folder_messages'), reads('folder_expunges')]).toEqual([0, 0, 0]);
    expect(updates).toMatch(/^\* 2 FETCH \(UID \d+ FLAGS \(.*\\Answered.*\)\)/m);
    expect(updates).toMatch(/^\* 3 FETCH \(UID \d+ FLAGS \(.*\$Other.*\)\)/m);
    expect(updates).toMatch(new RegExp(`^\\* ${exists + 1} EXISTS`, 'm'));

    await b.cmd('b3', 'STORE 1 +FLAGS (\\Deleted)');
    await b.cmd('b4', 'EXPUNGE');
    expect(await a.cmd('f2', 'FETCH 1 (FLAGS)')).not.toMatch(/EXPUNGE/); // not after FETCH (RFC 3501 7.4.1)
    expect(await a.cmd('n3', 'NOOP')).toMatch(/^\* 1 EXPUNGE\r\n/m);
    a.close();
    b.close();
  });
});
