/**
 * `postern restore --from DIR --data-dir DIR`: a backup snapshot into an empty data dir.
 * Everything is verified while it is copied into a staging folder beside the target (manifest
 * checksum, database sha256 and SQLite integrity, every file and blob present with its size and
 * sha256); only a fully verified restore is renamed into place, so a refused restore leaves
 * nothing behind. A non-empty target is refused before anything is read.
 *
 * Into a cluster (POSTERN_DATABASE_URL + POSTERN_BLOB_STORE=s3): the target database must be
 * empty (checked first). Every blob is verified against the manifest before anything is written;
 * then each one is uploaded to the bucket under its own id (the index rows name it), its sha256
 * checked again on the way and its MD5 checked by the store (Content-MD5); then the dump is
 * restored into PostgreSQL (one transaction), and the data dir gets the node's local files only.
 * Blobs go first so an interrupted upload can simply be run again against the still empty database.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { StorageConfig } from '../config.js';
import { integrityCheckSqlite, postgresTables, restorePostgres } from '../db/backup.js';
import type { S3BlobStore } from '../mailstore/blobstore-s3.js';
import { copyHashed, pool } from './backup.js';
import { BackupError, type BlobEntry, type Manifest, blobPath, readManifest, resolveSnapshot, sha256File } from './manifest.js';

const UPLOAD_CONCURRENCY = 8;

export interface RestoreOptions {
  from: string;
  /** A snapshot name (default: the repository's LATEST). */
  snapshot?: string;
  dataDir: string;
  /** The (empty) PostgreSQL database a pg_dump snapshot is restored into. */
  databaseUrl?: string | null;
  /** The target's blob store: with `s3` the blobs are uploaded to the bucket instead of the data dir. */
  storage?: Pick<StorageConfig, 'blobStore' | 's3'>;
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
  const s3 = opts.storage?.blobStore === 's3';
  for (const b of m.blobs) {
    const src = blobPath(path.join(repo, 'blobs'), b.id);
    if (s3) checkBlob(b, await sha256File(src).catch(() => null));
    else await copyVerified(src, blobPath(path.join(staging, 'blobs'), b.id), b, `blob ${b.id}`);
    if (++done % 1000 === 0) opts.progress?.(`  blobs ${s3 ? 'verified' : 'copied'}: ${done}/${m.blobs.length}`);
  }
}

function checkBlob(b: BlobEntry, got: { size: number; sha256: string } | null): void {
  if (!got) throw new BackupError(`corrupt backup: blob ${b.id} is missing`);
  if (got.size !== b.size || got.sha256 !== b.sha256) throw new BackupError(`corrupt backup: blob ${b.id} does not match its checksum (size ${got.size}, expected ${b.size})`);
}

/** Uploads every (already verified) blob to the bucket under its own id, checking each again as it is read. */
async function uploadBlobs(m: Manifest, repo: string, storage: Pick<StorageConfig, 's3'>, progress?: (line: string) => void): Promise<void> {
  const { S3BlobStore } = await import('../mailstore/blobstore-s3.js');
  const store: S3BlobStore = new S3BlobStore(storage.s3!);
  try {
    await store.probe();
    progress?.(`uploading ${m.blobs.length} blobs to the S3 bucket ${storage.s3!.bucket}`);
    let done = 0;
    await pool(m.blobs, UPLOAD_CONCURRENCY, async (b) => {
      const data = await readFile(blobPath(path.join(repo, 'blobs'), b.id)).catch(() => null);
      checkBlob(b, data && { size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
      const md5 = await store.putAs(b.id, data!);
      if (md5 !== createHash('md5').update(data!).digest('hex')) throw new BackupError(`the S3 store answered a different MD5 for blob ${b.id}`);
      if (++done % 1000 === 0) progress?.(`  blobs uploaded: ${done}/${m.blobs.length}`);
    });
  } finally {
    store.close();
  }
}

/** Refuses a restore the target cannot take, before anything is read or written. */
async function checkTarget(m: Manifest, opts: RestoreOptions): Promise<void> {
  const s3 = opts.storage?.blobStore === 's3';
  if (s3 && !opts.storage?.s3) throw new BackupError('POSTERN_BLOB_STORE=s3 needs the POSTERN_S3_* settings');
  if (s3 && m.database.engine !== 'postgres')
    throw new BackupError('this backup holds a SQLite database: a cluster (POSTERN_BLOB_STORE=s3) restores a PostgreSQL backup; restore it into a data dir without POSTERN_BLOB_STORE=s3 first');
  if (m.database.engine !== 'postgres') return;
  if (!opts.databaseUrl) throw new BackupError('this backup holds a PostgreSQL dump: set POSTERN_DATABASE_URL to the empty database to restore it into');
  let tables: string[];
  try {
    tables = await postgresTables(opts.databaseUrl);
  } catch (err) {
    throw new BackupError(`cannot open the target database (POSTERN_DATABASE_URL): ${(err as Error).message}`);
  }
  if (tables.length)
    throw new BackupError(`the target database is not empty (${tables.length} tables, e.g. ${tables.slice(0, 3).join(', ')}): restore only into an empty database (createdb a new one)`);
}

export async function restoreBackup(opts: RestoreOptions): Promise<Manifest> {
  const target = path.resolve(opts.dataDir);
  await assertEmptyTarget(target);
  const { repo, dir } = await resolveSnapshot(opts.from, opts.snapshot);
  const m = await readManifest(dir);
  await checkTarget(m, opts);
  opts.progress?.(`restoring snapshot ${m.snapshot} (${m.created}): ${m.blobs.length} blobs`);
  const staging = path.join(path.dirname(target), `.${path.basename(target)}.restoring-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { recursive: true, mode: 0o750 });
  try {
    await restoreInto(m, repo, dir, staging, opts);
    opts.progress?.('backup verified: every checksum matches');
    if (opts.storage?.blobStore === 's3') await uploadBlobs(m, repo, opts.storage, opts.progress);
    if (m.database.engine === 'postgres') {
      opts.progress?.('restoring the database dump into PostgreSQL');
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
