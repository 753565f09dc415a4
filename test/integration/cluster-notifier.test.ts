/**
 * The PostgreSQL cluster notifier (appliance/cluster/pg-notifier.ts) against a private
 * PostgreSQL: messages reach the other node and never the sender; a message sent inside a
 * transaction arrives at commit (never before, never after a rollback or a rolled-back
 * savepoint); after a server restart both nodes reconnect, LISTEN again and run their resync
 * callbacks, and a message sent while one node was still reconnecting is caught up by that
 * callback. Plus the in-process LocalNotifier and the store's use of it (two stores on one
 * SQLite database as two nodes).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalHub, LocalNotifier, type ClusterPayload } from '../../appliance/cluster/notifier.js';
import { PgNotifier } from '../../appliance/cluster/pg-notifier.js';
import { openPostgres, type OpenedDatabase } from '../../appliance/db/dialect.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import type { FolderEvent } from '../../appliance/mailstore/store.types.js';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { PLATFORM_SCOPE } from '../../appliance/core/kernel/scope.js';
import { repos } from '../../appliance/db/repos/index.js';
import { createLogger } from '../../appliance/logger.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

/** Collects what a subscriber receives, with a wait for the next one. */
function inbox(n: PgNotifier | LocalNotifier, topic: string) {
  const got: Array<{ payload: ClusterPayload; origin: string; at: number }> = [];
  const waiters: Array<() => void> = [];
  n.subscribe(topic, (payload, { origin }) => {
    got.push({ payload, origin, at: performance.now() });
    for (const w of waiters.splice(0)) w();
  });
  const next = (count: number, timeoutMs = 2_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for message ${count} (got ${got.length})`)), timeoutMs);
      const check = () => {
        if (got.length >= count) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return { got, next };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL cluster notifier', () => {
  let pg: TestPostgres;
  let url: string;
  let database: OpenedDatabase;
  let a: PgNotifier;
  let b: PgNotifier;
  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('notify');
    database = openPostgres(url);
    a = await PgNotifier.start({ url, db: database.db, nodeId: 'node-a', heartbeatMs: 500 });
    // B backs off longer than A after losing its connection, so A is back first (see the restart test).
    b = await PgNotifier.start({ url, db: database.db, nodeId: 'node-b', heartbeatMs: 500, backoff: { minMs: 1_500, maxMs: 1_500 } });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.close();
    await pg?.destroy();
  });

  it('delivers to the other node only, within milliseconds', async () => {
    const atB = inbox(b, 'changes');
    const atA = inbox(a, 'changes');
    const sent = performance.now();
    await a.publish('changes', { k: 'x', f: 7, m: 'mbx', q: 12 });
    await atB.next(1);
    const latency = atB.got[0]!.at - sent;
    expect(atB.got[0]).toMatchObject({ payload: { k: 'x', f: 7, m: 'mbx', q: 12 }, origin: 'node-a' });
    expect(latency).toBeLessThan(1_000);
    // Once the pool has its connection: the steady-state latency.
    const again = performance.now();
    await a.publish('changes', { k: 'f', f: 7, m: 'mbx', q: 13 });
    await atB.next(2);
    console.log(`notify latency (publish -> other node): first ${latency.toFixed(1)} ms, then ${(atB.got[1]!.at - again).toFixed(1)} ms`);
    await sleep(100);
    expect(atA.got).toHaveLength(0); // no echo to the sender
    expect(a.state()).toEqual({ ok: true, detail: 'listening' });
  });

  it('sends a message inside a transaction at commit, never before, never after a rollback', async () => {
    const atB = inbox(b, 'revoke');
    await database.db.transaction().execute(async (trx) => {
      await a.publishInTransaction(trx, [{ topic: 'revoke', payload: { m: 'in-tx', r: 'test' } }]);
      await sleep(300);
      expect(atB.got).toHaveLength(0);
    });
    await atB.next(1);
    expect(atB.got[0]!.payload).toMatchObject({ m: 'in-tx' });

    await expect(
      database.db.transaction().execute(async (trx) => {
        await a.publishInTransaction(trx, [{ topic: 'revoke', payload: { m: 'rolled-back' } }]);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    // A rolled-back savepoint drops its messages; the rest of the transaction still sends.
    await database.db.transaction().execute(async (trx) => {
      await sql`savepoint s`.execute(trx);
      await a.publishInTransaction(trx, [{ topic: 'revoke', payload: { m: 'savepoint-undone' } }]);
      await sql`rollback to savepoint s`.execute(trx);
      await a.publishInTransaction(trx, [{ topic: 'revoke', payload: { m: 'kept' } }]);
    });
    await atB.next(2);
    await sleep(200);
    expect(atB.got.map((g) => g.payload.m)).toEqual(['in-tx', 'kept']);
  });

  it('reconnects after a PostgreSQL restart, LISTENs again and resyncs what was missed', async () => {
    const resyncs = { a: 0, b: 0 };
    a.onResync(() => void resyncs.a++);
    // B's catch-up: what a consumer does in its resync callback (the store reads the journal).
    let journalAtResync: number | null = null;
    const atB = inbox(b, 'changes');
    b.onResync(async () => {
      const r = await sql<{ n: number }>`select count(*)::int as n from journal`.execute(database.db);
      journalAtResync = r.rows[0]!.n;
      resyncs.b++;
    });
    await sql`create table journal (id serial primary key)`.execute(database.db);

    const restarted = performance.now();
    await pg.restart();
    await a.whenListening(10_000);
    await b.whenListening(10_000);
    console.log(`both nodes listening again ${(performance.now() - restarted).toFixed(0)} ms after the restart began`);
    const until = Date.now() + 3_000;
    while ((resyncs.a < 1 || resyncs.b < 1) && Date.now() < until) await sleep(20);
    expect(resyncs).toEqual({ a: 1, b: 1 });
    expect([a.reconnects, b.reconnects]).toEqual([1, 1]);

    // LISTEN resumed: live messages flow again both ways.
    const atA = inbox(a, 'changes');
    await b.publish('changes', { k: 'f', f: 2, q: 5 });
    await a.publish('changes', { k: 'e', f: 3, q: 6 });
    await atA.next(1);
    await atB.next(1);
    expect(atA.got[0]!.payload).toMatchObject({ k: 'f', f: 2 });
    expect(atB.got[0]!.payload).toMatchObject({ k: 'e', f: 3 });

    // B alone loses its connection (its backend is killed) and backs off 1.5 s: a change committed
    // meanwhile is not heard by B, but read by its resync callback once LISTEN holds again.
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'postern-listen-node-b'`.execute(database.db);
    const deadline = Date.now() + 2_000;
    while (b.state().ok && Date.now() < deadline) await sleep(10);
    expect(b.state()).toMatchObject({ ok: false, detail: expect.stringMatching(/reconnecting/) });
    await database.db.transaction().execute(async (trx) => {
      await sql`insert into journal default values`.execute(trx);
      await a.publishInTransaction(trx, [{ topic: 'changes', payload: { k: 'x', f: 1, q: 99 } }]);
    });
    await b.whenListening(10_000);
    const until2 = Date.now() + 3_000;
    while (resyncs.b < 2 && Date.now() < until2) await sleep(20);
    expect(resyncs).toEqual({ a: 1, b: 2 });
    expect(journalAtResync).toBe(1);
    expect(atB.got).toHaveLength(1); // the live message before; the missed one only through the journal
  });
});

describe('local notifier (single node and in-process nodes)', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await createTestCore();
  });
  afterAll(async () => core?.close());

  it('a lone node is not clustered and sends nothing', async () => {
    const n = new LocalNotifier('solo');
    expect(n.clustered).toBe(false);
    expect(n.state().ok).toBe(true);
    await n.close();
  });

  it('carries a store change committed on one node to the watchers of another (no UIDs: read from the journal)', async () => {
    const hub = new LocalHub();
    const na = new LocalNotifier('a', hub);
    const nb = new LocalNotifier('b', hub);
    const storeA = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes, cluster: na });
    const storeB = new SqlMailStore({ db: core.db, blobs: core.blobs, maxMessageBytes: core.config.maxMessageBytes, cluster: nb });
    const mailboxId = (await core.createMailbox('two@nodes.test', 'two nodes passphrase')).id;
    const folder = (await storeB.getFolder(mailboxId, 'INBOX'))!;
    const seenB: FolderEvent[] = [];
    const seenA: FolderEvent[] = [];
    storeB.watch(folder.id, (e) => seenB.push(e));
    storeA.watch(folder.id, (e) => seenA.push(e));
    const { uid } = await storeA.append(mailboxId, 'INBOX', Buffer.from('Subject: hi\r\n\r\nbody\r\n'));
    await sleep(20);
    expect(seenA.map((e) => e.kind)).toEqual(['exists']);
    expect(seenB).toEqual([{ kind: 'exists', folderId: folder.id, uids: [], modseq: expect.any(Number) }]);
    const ch = await storeB.changesSince(folder.id, folder.highestModseq);
    expect(ch.changed.map((e) => e.uid)).toEqual([uid]);
    await storeA.storeFlags(folder.id, [uid], 'add', ['\\Deleted']);
    await storeA.expunge(folder.id);
    await sleep(20);
    expect(seenB.map((e) => e.kind)).toEqual(['exists', 'flags', 'expunge']);
    expect(await storeB.listMessages(folder.id)).toEqual([]);
    await na.close();
    await nb.close();
  });

  it('revocations reach the sessions and credential caches of the other node; a resync re-checks sessions against the database', async () => {
    const hub = new LocalHub();
    const logger = createLogger('silent');
    const credA = new CredentialService(core.db, logger);
    const credB = new CredentialService(core.db, logger);
    const na = new LocalNotifier('a', hub);
    const nb = new LocalNotifier('b', hub);
    credA.joinCluster(na);
    credB.joinCluster(nb);
    const box = await core.createMailbox('revoked@nodes.test', 'revocation passphrase');
    const login = () => credB.verifyLogin({ username: 'revoked@nodes.test', password: 'revocation passphrase', protocol: 'imap', remoteAddress: '127.0.0.9' });
    const first = await login();
    expect(first.ok).toBe(true);
    const version = first.ok ? first.credentialVersion : -1;
    const ended: string[] = [];
    credB.onRevoke(box.id, (reason) => ended.push(`b:${reason}`), 'password', version);
    credA.onRevoke(box.id, (reason) => ended.push(`a:${reason}`), 'password', version);

    // Revoked on node A (after its commit): A's session ends at once, B's when the message arrives.
    const t0 = performance.now();
    await repos(core.db, PLATFORM_SCOPE).mailboxes.bumpCredentialVersion(box.id, Date.now());
    expect(credA.notifyRevoked(box.id, 'suspended on A')).toBe(1);
    expect(ended).toEqual(['a:suspended on A']);
    while (ended.length < 2 && performance.now() - t0 < 1_000) await sleep(5);
    expect(ended).toEqual(['a:suspended on A', 'b:suspended on A']);
    expect(credB.activeSessionCount(box.id)).toBe(0);
    // B's cached verification was for the old version: the old password still works (nothing
    // changed it), checked again against the new version.
    const again = await login();
    expect(again.ok && again.credentialVersion).toBe(version + 1);

    // A revocation B never heard of (its link was down): the re-check after a reconnect finds it.
    credB.onRevoke(box.id, (reason) => ended.push(`b:${reason}`), 'password', version + 1);
    await repos(core.db, PLATFORM_SCOPE).mailboxes.bumpCredentialVersion(box.id, Date.now());
    expect(await credB.recheckSessions()).toBe(1);
    expect(ended.at(-1)).toBe('b:credentials revoked');
    await na.close();
    await nb.close();
  });
});
