/**
 * The scheduled jobs' and the request path's bookkeeping writes commit without an fsync on the
 * serving loop (issue 18, round 10): the audit verification's checkpoint, a job's run record
 * (leases.ran_at), and the last-use records of API tokens, console sessions, grants and app
 * passwords. On SQLite each commits with synchronous = NORMAL and the WAL is fdatasync'd on the
 * sync thread (repos/base.ts syncedOffLoop); a synchronous commit was an fsync on the loop that
 * served every request (12-22 ms each under disk contention in the control bench). Durability is
 * kept: the verification answers, a job's run counts as recorded and a request is answered only
 * after that sync (tested with the sync held), and the connection is back to synchronous = FULL
 * for every other writer. PostgreSQL commits as before (no WAL sync of ours).
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyAuditChain } from '../../appliance/core/audit/audit.js';
import { PLATFORM_SCOPE } from '../../appliance/core/kernel/scope.js';
import { readsOffThread } from '../../appliance/db/dialect.js';
import { fsyncThreads } from '../../appliance/db/fsync-threads.js';
import { repos } from '../../appliance/db/repos/index.js';
import { LeaseRunner } from '../../appliance/cluster/lease.js';
import { createTestApp, provisionTenant, type TestApp } from '../helpers/app.js';
import { testOnPostgres } from '../helpers/database.js';

let t: TestApp;
let a: Awaited<ReturnType<typeof provisionTenant>>;
const onSqlite = !testOnPostgres();

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Bookkeeping tenant', 'bookkeeping.example');
}, 60_000);

afterAll(async () => {
  await t?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Counts the WAL syncs on the sync thread; with `hold`, each waits until `release()`. */
function watchSyncs(hold = false) {
  const original = fsyncThreads.fdatasync.bind(fsyncThreads);
  let release!: () => void;
  const gate = hold ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  let reached!: () => void;
  const first = new Promise<void>((r) => (reached = r));
  const spy = vi.spyOn(fsyncThreads, 'fdatasync').mockImplementation((fd) => {
    reached();
    return gate.then(() => original(fd));
  });
  return { spy, first, release: () => release() };
}

/** A promise and whether it has settled yet. */
function tracked<T>(p: Promise<T>): { p: Promise<T>; settled: () => boolean } {
  let done = false;
  const q = p.finally(() => {
    done = true;
  });
  return { p: q, settled: () => done };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

async function synchronousMode(): Promise<number> {
  const r = await sql<{ synchronous: number }>`pragma synchronous`.execute(t.core.db);
  return Number(r.rows[0]!.synchronous);
}

/** The sync held: `run` has reached it and must not settle before its release (SQLite); then it settles. */
async function settlesOnlyAfterTheSync<T>(run: () => Promise<T>): Promise<T> {
  const syncs = watchSyncs(true);
  const r = tracked(run());
  await Promise.race([syncs.first, r.p]); // a commit that syncs by itself never reaches the sync thread
  await turn();
  expect(syncs.spy).toHaveBeenCalledTimes(1);
  expect(r.settled()).toBe(false);
  syncs.release();
  const out = await r.p;
  expect(syncs.spy).toHaveBeenCalledTimes(1);
  expect(await synchronousMode()).toBe(2); // FULL again for every other writer
  return out;
}

describe('the audit verification checkpoint', () => {
  it('is written, with one WAL sync on the sync thread (SQLite) before the verification answers', async () => {
    const db = readsOffThread(t.core.db); // as the scheduled verification and the API have it
    const r = onSqlite ? await settlesOnlyAfterTheSync(() => verifyAuditChain(db)) : await verifyAuditChain(db);
    expect(r.ok).toBe(true);
    const cp = await repos(t.core.db, PLATFORM_SCOPE).audit.verifiedCheckpoint();
    expect(cp?.seq).toBe(r.events);
  });
});

describe("a scheduled job's run record", () => {
  it('is durable before it counts as recorded (SQLite: one WAL sync on the sync thread)', async () => {
    const runner = new LeaseRunner(t.core.db, { nodeId: 'node-r10', ttlMs: 30_000 });
    let ran = 0;
    runner.every('r10-job', 60_000, async () => void ran++, { runOnAcquire: true });
    await runner.tick(); // the lease is taken, then the job starts
    await runner.stop(); // waits for the job and its run record, then gives the lease up
    expect(ran).toBe(1);
    const r = repos(t.core.db, PLATFORM_SCOPE).leases;
    const lease = await r.acquire('r10-job', 'node-r10', Date.now(), 30_000, 0);
    const mark = () => r.markRan('r10-job', 'node-r10', lease!.fence, 23_456);
    expect(onSqlite ? await settlesOnlyAfterTheSync(mark) : await mark()).toBe(true);
    expect(Number((await r.list()).find((l) => l.name === 'r10-job')!.ran_at)).toBe(23_456);
    // another fence (the lease was lost meanwhile) records nothing
    expect(await r.markRan('r10-job', 'node-r10', lease!.fence + 1, 34_567)).toBe(false);
  });
});

describe('last-use records', () => {
  it("an API token's: the request that records it is answered after its sync, off the loop (SQLite)", async () => {
    const tok = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name: 'r10-touch' } });
    expect(tok.status).toBe(201);
    const get = () => t.call('GET', `/api/v1/tenants/${a.tenantId}`, { token: tok.body.token });
    expect((await get()).status).toBe(200); // first use recorded
    t.advance(61_000); // the next use is recorded again
    const res = onSqlite ? await settlesOnlyAfterTheSync(get) : await get();
    expect(res.status).toBe(200);
    const row = await t.core.db.selectFrom('api_tokens').select('last_used_at').where('id', '=', tok.body.id).executeTakeFirstOrThrow();
    expect(Number(row.last_used_at)).toBeGreaterThan(Date.now() + 60_000);
  });

  const touches: Array<[string, () => Promise<void>]> = [
    ['a console session', () => repos(t.core.db, PLATFORM_SCOPE).sessions.touch('ses_r10_none', Date.now())],
    ['a shared-mailbox grant', () => repos(t.core.db, PLATFORM_SCOPE).grants.touch('grt_r10_none', Date.now())],
    ['an app password', () => repos(t.core.db, PLATFORM_SCOPE).mailboxes.touchAppPassword('apw_r10_none', Date.now())],
  ];
  for (const [what, touch] of touches) {
    it(`${what}'s: one WAL sync on the sync thread (SQLite), none of ours on PostgreSQL`, async () => {
      const syncs = watchSyncs();
      await touch();
      expect(syncs.spy).toHaveBeenCalledTimes(onSqlite ? 1 : 0);
      if (onSqlite) expect(await synchronousMode()).toBe(2);
    });
  }

  it('inside a transaction, the transaction decides (no sync of its own)', async () => {
    const syncs = watchSyncs();
    await repos(t.core.db, PLATFORM_SCOPE).transaction((r) => r.sessions.touch('ses_r10_none', Date.now()));
    expect(syncs.spy).not.toHaveBeenCalled();
  });
});
