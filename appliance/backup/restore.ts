/**
 * `postern restore --from DIR --data-dir DIR`: a backup snapshot into an empty data dir.
 * Everything is verified while it is copied into a staging folder beside the target (manifest
 * checksum, database sha256 and SQLite integrity, every file and blob present with its size and
 * sha256); only a fully verified restore is renamed into place, so a refused restore leaves
 * nothing behind. A non-empty target is refused before anything is read.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { integrityCheckSqlite, restorePostgres } from '../db/backup.js';
import { copyHashed } from './backup.js';
import { BackupError, type Manifest, blobPath, readManifest, resolveSnapshot } from './manifest.js';

export interface RestoreOptions {
  from: string;
  /** A snapshot name (default: the repository's LATEST). */
  snapshot?: string;
  dataDir: string;
  /** The (empty) PostgreSQL database a pg_dump snapshot is restored into. */
  databaseUrl?: string | null;
  progress?: (line: string) => void;
}

async function assertEmptyTarget(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  if (entries.length) throw new BackupError(`the target data dir ${dir} is not empty (${entries.length} entries): restore only into an empty or new directory`);
}

async function copyVerified(src: string, dst: string, want: { size: number; sha256: string }, what: string): Promise<void> {
  await mkdir(path.dirname(dst), { recursive: true });
  const got = await copyHashed(src, dst);
  if (!got) throw new BackupError(`corrupt backup: ${what} is missing (${src})`);
  if (got.size !== want.size || got.sha256 !== want.sha256) throw new BackupError(`corrupt backup: ${what} does not match its checksum (size ${got.size}, expected ${want.size})`);
}

async function restoreInto(m: Manifest, repo: string, snapDir: string, staging: string, opts: RestoreOptions): Promise<void> {
  const dbSrc = path.join(snapDir, m.database.file);
  if (m.database.engine === 'sqlite') {
    const dst = path.join(staging, 'postern.db');
    await copyVerified(dbSrc, dst, m.database, 'the database snapshot');
    const check = integrityCheckSqlite(dst);
    if (check !== 'ok') throw new BackupError(`corrupt backup: the database snapshot fails SQLite's integrity check: ${check.slice(0, 200)}`);
  } else {
    if (!opts.databaseUrl) throw new BackupError('this backup holds a PostgreSQL dump: set POSTERN_DATABASE_URL to the empty database to restore it into');
    const dst = path.join(staging, 'database.pgdump');
    await copyVerified(dbSrc, dst, m.database, 'the database dump');
  }
  for (const f of m.files) await copyVerified(path.join(snapDir, 'files', f.path), path.join(staging, f.path), f, f.path);
  let done = 0;
  for (const b of m.blobs) {
    await copyVerified(blobPath(path.join(repo, 'blobs'), b.id), blobPath(path.join(staging, 'blobs'), b.id), b, `blob ${b.id}`);
    if (++done % 1000 === 0) opts.progress?.(`  blobs: ${done}/${m.blobs.length}`);
  }
}

export async function restoreBackup(opts: RestoreOptions): Promise<Manifest> {
  const target = path.resolve(opts.dataDir);
  await assertEmptyTarget(target);
  const { repo, dir } = await resolveSnapshot(opts.from, opts.snapshot);
  const m = await readManifest(dir);
  opts.progress?.(`restoring snapshot ${m.snapshot} (${m.created}): ${m.blobs.length} blobs`);
  const staging = path.join(path.dirname(target), `.${path.basename(target)}.restoring-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { recursive: true, mode: 0o750 });
  try {
    await restoreInto(m, repo, dir, staging, opts);
    if (m.database.engine === 'postgres') {
      await restorePostgres(opts.databaseUrl!, path.join(staging, 'database.pgdump'));
      await rm(path.join(staging, 'database.pgdump'));
    }
    await assertEmptyTarget(target);
    if (await stat(target).catch(() => null)) await rmdir(target);
    await rename(staging, target);
    return m;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
