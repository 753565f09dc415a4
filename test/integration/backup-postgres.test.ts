/**
 * `postern backup` / `postern restore` on PostgreSQL (POSTERN_DATABASE_URL): pg_dump of a
 * private server's database, the blobs its messages table refers to (read from the dump
 * itself), and pg_restore into a fresh empty database with the blobs verified.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../appliance/backup/backup.js';
import { restoreBackup } from '../../appliance/backup/restore.js';
import { openPostgres } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let server: TestPostgres;
const work = mkdtempSync(path.join(tmpdir(), 'postern-pgbackup-'));
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.destroy();
  rmSync(work, { recursive: true, force: true });
});

const BLOBS = ['0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210'];

describe('backup and restore on PostgreSQL', () => {
  it('pg_dump + the referenced blobs, then pg_restore into an empty database', async () => {
    const url = await server.createDatabase('backup_src');
    const { db, close } = openPostgres(url);
    const dataDir = path.join(work, 'data');
    try {
      await migrateToLatest(db);
      for (const [i, id] of BLOBS.entries()) {
        mkdirSync(path.join(dataDir, 'blobs', id.slice(0, 2)), { recursive: true });
        writeFileSync(path.join(dataDir, 'blobs', id.slice(0, 2), id), `Subject: pg ${i}\r\n\r\nbody ${i}\r\n`);
        await db.insertInto('messages').values({ blob_id: id, size: 24, meta: '{}', refs: 1, sort_keys: null, created_at: Date.now() }).execute();
      }
      // A blob in the data dir that no message refers to is not part of the backup.
      writeFileSync(path.join(dataDir, 'blobs', '01', '01000000000000000000000000000000'), 'orphan');
    } finally {
      await close();
    }
    const m = await takeBackup({ dataDir, databaseUrl: url, out: path.join(work, 'backup') });
    expect(m.database.engine).toBe('postgres');
    expect(m.blobs.map((b) => b.id).sort()).toEqual([...BLOBS].sort());

    const target = await server.createDatabase('backup_dst');
    const restoredDir = path.join(work, 'restored');
    await restoreBackup({ from: path.join(work, 'backup'), dataDir: restoredDir, databaseUrl: target });
    const r = openPostgres(target);
    try {
      const rows = await r.db.selectFrom('messages').select('blob_id').orderBy('blob_id').execute();
      expect(rows.map((x) => x.blob_id)).toEqual([...BLOBS].sort());
    } finally {
      await r.close();
    }
    for (const id of BLOBS) expect(readFileSync(path.join(restoredDir, 'blobs', id.slice(0, 2), id), 'utf8')).toMatch(/^Subject: pg/);
  }, 120_000);
});
