/**
 * WAL checkpoints off the event loop (issue 18, appliance/db/sqlite-checkpoint.ts): once a
 * database has written a few megabytes of WAL through synced group commits, a worker thread
 * checkpoints it and the main connection's automatic checkpoint becomes a large backstop. Every
 * committed row is still there after a reopen, and closing removes the WAL (the worker's
 * connection closes first, so the main connection's close is the last and checkpoints).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { commitDurability, openSqlite, walCheckpointer } from '../../appliance/db/dialect.js';
import { BACKSTOP_PAGES, CHECKPOINTER_FROM_BYTES } from '../../appliance/db/sqlite-checkpoint.js';

const dir = mkdtempSync(path.join(tmpdir(), 'postern-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function autoCheckpoint(db: Kysely<any>): Promise<number> {
  const r = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
  return Number(r.rows[0]!.wal_autocheckpoint);
}

describe.skipIf(!!process.env.POSTERN_TEST_PG_URL)('SQLite WAL checkpoints in a worker thread', () => {
  it('starts after a few MB of synced commits, checkpoints there, keeps every row, and the close removes the WAL', async () => {
    const file = path.join(dir, 'ckpt.db');
    const opened = openSqlite(file);
    const db = opened.db as unknown as Kysely<any>;
    await sql`create table t (id integer primary key, v blob not null)`.execute(db);
    const ckpt = walCheckpointer(opened.db)!;
    expect(ckpt.running).toBe(false);
    expect(await autoCheckpoint(db)).toBe(1000);

    const durability = commitDurability(opened.db)!;
    const row = Buffer.alloc(3000, 7);
    // Enough synced commits for well over CHECKPOINTER_FROM_BYTES of WAL (one page per row and more).
    const commits = Math.ceil((3 * CHECKPOINTER_FROM_BYTES) / 4096);
    for (let i = 0; i < commits; i++) {
      await durability.unsynced((conn) => conn.transaction().execute((trx) => sql`insert into t (v) values (${row})`.execute(trx)));
      await durability.sync();
    }
    expect(ckpt.running).toBe(true);
    expect(await autoCheckpoint(db)).toBe(BACKSTOP_PAGES);
    // Checkpoint requests are answered by the worker: wait for one (event-driven, bounded).
    for (let i = 0; i < 200 && ckpt.stats.runs === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(ckpt.stats.runs).toBeGreaterThan(0);
    expect(ckpt.stats.frames).toBeGreaterThan(0);
    expect(ckpt.stats.errors).toBe(0);

    await opened.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    const again = openSqlite(file);
    const n = await sql<{ n: number }>`select count(*) as n from t`.execute(again.db as unknown as Kysely<any>);
    expect(Number(n.rows[0]!.n)).toBe(commits);
    await again.close();
  });
});
