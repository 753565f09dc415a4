/**
 * A lease heartbeat on SQLite costs the serving loop no fsync (issue 18, round 9): the renewals
 * commit unsynced and share one WAL sync on the sync thread (dialect.ts commitDurability), where
 * each renewal used to be its own synchronous commit (an fsync on the loop, up to 22 ms under disk
 * contention in the control bench). The leases are durable before the runner acts on them, and
 * the connection is back to synchronous = FULL for every other writer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseRunner } from '../../appliance/cluster/lease.js';
import { openSqlite, type OpenedDatabase } from '../../appliance/db/dialect.js';
import { fsyncThreads } from '../../appliance/db/fsync-threads.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';

let dir: string;
let opened: OpenedDatabase;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'postern-lease-sync-'));
  opened = openSqlite(path.join(dir, 'postern.db'));
  await migrateToLatest(opened.db);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await opened.close();
  await rm(dir, { recursive: true, force: true });
});

describe('lease heartbeat on SQLite', () => {
  it('renews every lease with one WAL sync on the sync thread, then acts', async () => {
    const runner = new LeaseRunner(opened.db, { nodeId: 'node-a', ttlMs: 30_000 });
    const names = ['job-one', 'job-two', 'job-three'];
    const held = names.map((n) => runner.hold(n));
    const syncs = vi.spyOn(fsyncThreads, 'fdatasync');
    let syncsWhenActed = -1;
    runner.onChange = () => {
      if (syncsWhenActed < 0) syncsWhenActed = syncs.mock.calls.length;
    };
    await runner.tick();
    expect(held.map((h) => h())).toEqual([true, true, true]);
    expect(syncs).toHaveBeenCalledTimes(1); // one shared WAL sync for three renewals
    expect(syncsWhenActed).toBe(1); // nothing acted on before the sync
    await runner.tick(); // a renewal: the same, once more
    expect(syncs).toHaveBeenCalledTimes(2);
    const rows = await opened.db.selectFrom('leases').select(['name', 'holder', 'fence']).orderBy('name').execute();
    expect(rows).toEqual([...names].sort().map((name) => ({ name, holder: 'node-a', fence: 1 })));
    const mode = await sql<{ synchronous: number }>`pragma synchronous`.execute(opened.db);
    expect(mode.rows[0]!.synchronous).toBe(2); // FULL again for every other writer
    await runner.stop();
  });

  it('a refused renewal is reported per lease and keeps nothing new', async () => {
    const runner = new LeaseRunner(opened.db, { nodeId: 'node-a', ttlMs: 30_000 });
    const held = runner.hold('job-one');
    await sql`drop table leases`.execute(opened.db);
    await runner.tick();
    expect(held()).toBe(false);
    const mode = await sql<{ synchronous: number }>`pragma synchronous`.execute(opened.db);
    expect(mode.rows[0]!.synchronous).toBe(2);
  });
});
