/**
 * Issue 17: state shared by the nodes of a cluster. Two "nodes" are two connection pools on one
 * database (PostgreSQL: a private server started here; SQLite: two connections to one file).
 * - leases: only one runner runs a job; the holder stops renewing -> the other takes over
 *   after expiry (and the fencing counter grows);
 * - login throttle: failures through two pools add up to one throttle;
 * - send limits: counts add up; a block raised on one node is honoured by the other, and a
 *   lifted block gives a fresh window on the other node too;
 * - idempotency keys: a key used through one pool replays through the other.
 * PostgreSQL gets the cluster tables from migrations 0025/0026 run directly (the whole
 * schema's PostgreSQL port is another branch); SQLite runs every migration.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseRunner, runExclusive } from '../../appliance/cluster/lease.js';
import { SharedLoginThrottle } from '../../appliance/core/access/login-throttle-shared.js';
import { SharedSendWindows } from '../../appliance/core/sending/send-windows.js';
import { SharedIdempotencyStore } from '../../appliance/core/access/idempotency-store.js';
import { loadSecretKey } from '../../appliance/core/access/secret-box.js';
import { openPostgres, openSqlite, type OpenedDatabase } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import * as m0025 from '../../appliance/db/migrations/0025_leases.js';
import * as m0026 from '../../appliance/db/migrations/0026_shared_limits.js';
import type { DB } from '../../appliance/db/schema.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

interface TwoNodes {
  a: Kysely<DB>;
  b: Kysely<DB>;
  close(): Promise<void>;
}

async function sqliteNodes(): Promise<TwoNodes> {
  const dir = await mkdtemp(path.join(tmpdir(), 'postern-shared-'));
  const file = path.join(dir, 'postern.db');
  const first = openSqlite(file);
  await migrateToLatest(first.db);
  const second = openSqlite(file);
  return {
    a: first.db,
    b: second.db,
    async close() {
      await first.close();
      await second.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let pg: TestPostgres;

/** What a SIGKILL does to a runner: its heartbeat stops and nothing is released. */
function crash(runner: LeaseRunner): void {
  const r = runner as unknown as { timer: NodeJS.Timeout | null; stopped: boolean };
  if (r.timer) clearInterval(r.timer);
  r.stopped = true;
}

async function postgresNodes(): Promise<TwoNodes> {
  const url = await pg.createDatabase('shared');
  const first: OpenedDatabase = openPostgres(url, { max: 4 });
  await m0025.up(first.db);
  await m0026.up(first.db);
  const second = openPostgres(url, { max: 4 });
  return {
    a: first.db,
    b: second.db,
    async close() {
      await first.close();
      await second.close();
    },
  };
}

beforeAll(async () => {
  loadSecretKey(tmpdir(), randomBytes(32).toString('hex'));
  pg = await startPostgres();
}, 120_000);

afterAll(async () => {
  await pg?.destroy();
});

describe.each([
  ['sqlite', sqliteNodes],
  ['postgres', postgresNodes],
] as const)('shared state on %s', (_name, nodes) => {
  it('leases: one runner runs the job; after the holder dies the other takes over once the lease expires', async () => {
    const n = await nodes();
    const ttlMs = 600;
    const runs: string[] = [];
    const job = (node: string) => async () => {
      runs.push(node);
    };
    const a = new LeaseRunner(n.a, { nodeId: 'node-a', ttlMs });
    const b = new LeaseRunner(n.b, { nodeId: 'node-b', ttlMs });
    a.every('housekeeping', 100, job('a'));
    b.every('housekeeping', 100, job('b'));
    const aDns = a.hold('dns-check');
    const bDns = b.hold('dns-check');
    try {
      await a.start();
      await b.start();
      expect(aDns()).toBe(true);
      expect(bDns()).toBe(false);
      await waitFor(() => runs.length >= 3, 5000);
      expect(new Set(runs)).toEqual(new Set(['a']));
      const fenceA = a.fence('housekeeping')!;

      // node-a dies: no more renewals, no release (a SIGKILL gives nothing up).
      crash(a);
      const died = Date.now();
      const before = runs.length;
      await waitFor(() => runs.slice(before).includes('b'), 5000);
      expect(Date.now() - died).toBeGreaterThanOrEqual(ttlMs - 250); // not before the lease ran out
      expect(bDns()).toBe(true);
      expect(b.fence('housekeeping')).toBe(fenceA + 1);
      const rows = await n.b.selectFrom('leases').selectAll().orderBy('name').execute();
      expect(rows.map((r) => [r.name, r.holder])).toEqual([
        ['dns-check', 'node-b'],
        ['housekeeping', 'node-b'],
      ]);
      // The job never ran on both at once: after the takeover only b runs it.
      const after = runs.length;
      await waitFor(() => runs.length >= after + 2, 5000);
      expect(new Set(runs.slice(after))).toEqual(new Set(['b']));
    } finally {
      await b.stop();
      await a.stop();
      await n.close();
    }
  });

  it('leases: runExclusive lets one of two concurrent callers run; a clean stop hands the lease over at once', async () => {
    const n = await nodes();
    try {
      let inside = 0;
      let most = 0;
      const fn = async () => {
        inside++;
        most = Math.max(most, inside);
        await sleep(100);
        inside--;
        return 'done';
      };
      const [x, y] = await Promise.all([runExclusive(n.a, 'purge', 5000, 'node-a', fn), runExclusive(n.b, 'purge', 5000, 'node-b', fn)]);
      expect([x, y].filter((r) => r !== null)).toHaveLength(1);
      expect(most).toBe(1);
      // Released after the run: the other node can take it now without waiting for expiry.
      expect(await runExclusive(n.b, 'purge', 5000, 'node-b', async () => 1)).not.toBeNull();

      const a = new LeaseRunner(n.a, { nodeId: 'node-a', ttlMs: 60_000 });
      const b = new LeaseRunner(n.b, { nodeId: 'node-b', ttlMs: 60_000 });
      const aHolds = a.hold('audit-verify');
      const bHolds = b.hold('audit-verify');
      await a.start();
      await b.start();
      expect([aHolds(), bHolds()]).toEqual([true, false]);
      await a.stop();
      await b.tick();
      expect(bHolds()).toBe(true);
      await b.stop();
    } finally {
      await n.close();
    }
  });

  it('login throttle: failures through two nodes add up to one throttle', async () => {
    const n = await nodes();
    try {
      const opts = { accountFailures: 4, ipFailures: 100, baseLockMs: 60_000 };
      const a = new SharedLoginThrottle(n.a, opts);
      const b = new SharedLoginThrottle(n.b, opts);
      const now = Date.now();
      expect(await a.check('bob@example.test', '192.0.2.7', now)).toEqual({ action: 'allow' });
      await a.fail('bob@example.test', '192.0.2.7', now);
      await b.fail('bob@example.test', '192.0.2.7', now);
      await a.fail('bob@example.test', '192.0.2.7', now);
      expect(await b.check('bob@example.test', '192.0.2.7', now)).toEqual({ action: 'allow' }); // 3 of 4
      await b.fail('bob@example.test', '192.0.2.7', now); // the 4th, on the other node
      const d = await a.check('bob@example.test', '192.0.2.7', now + 1);
      expect(d).toMatchObject({ action: 'refuse', scope: 'account-source' });
      expect(await b.retryAfter('bob@example.test', '192.0.2.7', now + 1)).toBeGreaterThan(50_000);
      // Another source is not locked out; a success from it leaves the attacker's count alone.
      expect(await b.check('bob@example.test', '198.51.100.9', now + 1)).toEqual({ action: 'allow' });
      await b.succeed('bob@example.test', '198.51.100.9', now + 1);
      expect(await a.check('bob@example.test', '192.0.2.7', now + 2)).toMatchObject({ action: 'refuse' });
    } finally {
      await n.close();
    }
  });

  it('send windows: counts through two nodes add up; a raised-block marker is seen by both', async () => {
    const n = await nodes();
    try {
      const a = new SharedSendWindows(n.a, 3600_000);
      const b = new SharedSendWindows(n.b, 3600_000);
      const now = Date.now();
      await a.add([{ key: 'm:x:msg', n: 1 }], now);
      await b.add([{ key: 'm:x:msg', n: 1 }], now);
      const after = await a.add([{ key: 'm:x:msg', n: 1 }], now);
      expect(after.get('m:x:msg')!.count).toBe(3);
      expect((await b.read(['m:x:msg', 'b:x'], now)).get('m:x:msg')).toEqual({ count: 3, until: 0 });
      await a.setUntil('b:x', now, now);
      expect((await b.read(['b:x'], now)).get('b:x')!.until).toBe(now);
      await b.clear(['m:x:msg', 'b:x']);
      expect((await a.read(['m:x:msg'], now)).get('m:x:msg')!.count).toBe(0);
    } finally {
      await n.close();
    }
  });

  it('idempotency: a key used through one node replays through the other; a concurrent claim is refused', async () => {
    const n = await nodes();
    try {
      const a = new SharedIdempotencyStore(n.a);
      const b = new SharedIdempotencyStore(n.b);
      const now = Date.now();
      expect(await a.begin('tok\nPOST\n/api/v1/x\nk1', 'fp1', now, now + 60_000)).toEqual({ state: 'claimed' });
      expect(await b.begin('tok\nPOST\n/api/v1/x\nk1', 'fp1', now, now + 60_000)).toMatchObject({ state: 'running' });
      await a.complete('tok\nPOST\n/api/v1/x\nk1', 201, 'application/json', '{"secret":"shown once"}');
      expect(await b.begin('tok\nPOST\n/api/v1/x\nk1', 'fp1', now, now + 60_000)).toEqual({
        state: 'done',
        fingerprint: 'fp1',
        status: 201,
        contentType: 'application/json',
        payload: '{"secret":"shown once"}',
      });
      expect(await b.begin('tok\nPOST\n/api/v1/x\nk1', 'fp2', now, now + 60_000)).toMatchObject({ state: 'done', fingerprint: 'fp1' });
      // The answer is sealed at rest (it may hold a secret shown once).
      const row = await n.a.selectFrom('idempotency_keys').select('payload').executeTakeFirstOrThrow();
      expect(row.payload).not.toContain('shown once');
      // Expired: the key may be used again.
      expect(await b.begin('tok\nPOST\n/api/v1/x\nk1', 'fp2', now + 61_000, now + 120_000)).toEqual({ state: 'claimed' });
    } finally {
      await n.close();
    }
  });
});

// Two connections to one SQLite file; in the PostgreSQL run (POSTERN_TEST_PG_URL) the windows on
// two pools are covered by the PostgreSQL cases above.
describe.skipIf(!!process.env.POSTERN_TEST_PG_URL)('send limiter on two nodes (one SQLite file, two connections, shared windows)', () => {
  it('counts add up across nodes; a block raised on one is honoured by the other, once; a lifted block starts a fresh window on both', async () => {
    const { createTestCore } = await import('../helpers/core.js');
    const { SendLimiter } = await import('../../appliance/core/sending/limits.js');
    const { createLogger } = await import('../../appliance/logger.js');
    const t = await createTestCore();
    const second = openSqlite(path.join(t.dataDir, 'postern.db'));
    try {
      const m = await t.createMailbox('sender@shared.test', 'pw-shared-1234');
      const log = createLogger('silent', { pretty: false });
      const defaults = { ...t.config.sendLimits, mailboxMessagesPerHour: 2, blockFactor: 2 };
      const a = new SendLimiter(t.db, log, defaults, new SharedSendWindows(t.db, defaults.windowMs));
      const b = new SendLimiter(second.db, log, defaults, new SharedSendWindows(second.db, defaults.windowMs));
      const blocks: string[] = [];
      a.onBlock = () => blocks.push('a');
      b.onBlock = () => blocks.push('b');
      const tenant = (await t.db.selectFrom('mailboxes').select('tenant_id').where('id', '=', m.id).executeTakeFirstOrThrow()).tenant_id;
      expect(await a.admit(m.id, tenant, 1)).toEqual({ ok: true });
      expect(await b.admit(m.id, tenant, 1)).toEqual({ ok: true });
      expect(await a.admit(m.id, tenant, 1)).toMatchObject({ ok: false, reason: 'mailbox-rate' }); // 2 sent, one on each node
      expect(await b.admit(m.id, tenant, 1)).toMatchObject({ ok: false, reason: 'mailbox-rate' });
      // The third refusal (ceil(2 * (2 - 1)) = 2 exceeded) blocks, on whichever node it lands.
      expect(await b.admit(m.id, tenant, 1)).toMatchObject({ ok: false, reason: 'blocked' });
      expect(await a.admit(m.id, tenant, 1)).toMatchObject({ ok: false, reason: 'blocked', message: expect.stringContaining('outbound anomaly') });
      expect(blocks).toEqual(['b']);
      const audits = await t.db.selectFrom('audit_events').select('action').where('action', '=', 'mailbox.send.blocked').execute();
      expect(audits).toHaveLength(1);
      // An administrator lifts the block: the node that did not raise it also starts afresh.
      await t.db.updateTable('mailboxes').set({ send_blocked_at: null, send_blocked_reason: null }).where('id', '=', m.id).execute();
      expect(await a.admit(m.id, tenant, 1)).toEqual({ ok: true });
      expect(await b.admit(m.id, tenant, 1)).toEqual({ ok: true });
      expect(await a.admit(m.id, tenant, 1)).toMatchObject({ ok: false, reason: 'mailbox-rate' });
    } finally {
      await second.close();
      await t.close();
    }
  });
});
