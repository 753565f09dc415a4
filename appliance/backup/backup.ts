/**
 * `postern backup`: an online, consistent snapshot of a running appliance.
 *
 * 1. The database is snapshotted first (SQLite `VACUUM INTO`, PostgreSQL `pg_dump`), while mail
 *    keeps flowing.
 * 2. The blob ids that snapshot refers to are read from the snapshot itself and each blob is
 *    copied (blobs are immutable, so a copy taken after the snapshot is the snapshot's bytes).
 *    A blob already in the backup's blob store is not copied again (incremental).
 * 3. A blob the snapshot refers to may have been deleted by an expunge between the snapshot and
 *    the copy: then the snapshot is taken again (its blobs are a new consistent set; the ones
 *    copied already are reused) until every referenced blob is in the backup.
 *    On a cluster node (POSTERN_BLOB_STORE=s3) the blobs are read through the blob store
 *    interface (S3 GetObject); a blob the store no longer has is a `BlobNotFoundError`.
 * 4. The manifest (sha256 of the database, files and every blob) and its checksum are written,
 *    and the snapshot is renamed into place; LATEST names it last.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc, createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { StorageConfig } from '../config.js';
import { BlobNotFoundError, type BlobStore, openBlobStore } from '../mailstore/blobstore.js';
import { referencedBlobsPostgres, referencedBlobsSqlite, snapshotPostgres, snapshotSqlite } from '../db/backup.js';
import { BACKUP_FORMAT, BACKUP_VERSION, BackupError, type BlobEntry, type FileEntry, type Manifest, blobPath, manifestChecksum, readManifest, sha256File } from './manifest.js';

/** Files of the data dir a restored appliance needs besides the database and the blobs. */
export const DATA_FILES = ['secrets.key', 'tls/cert.pem', 'tls/key.pem'];
const MAX_ATTEMPTS = 5;
const COPY_CONCURRENCY = 8;

export interface BackupOptions {
  dataDir: string;
  /** PostgreSQL URL (POSTERN_DATABASE_URL) when the appliance runs on PostgreSQL. */
  databaseUrl?: string | null;
  /** Where the blobs are: the data dir's folder (default) or the S3 store of a cluster (POSTERN_BLOB_STORE=s3). */
  storage?: Pick<StorageConfig, 'blobStore' | 's3'>;
  out: string;
  now?: () => number;
  progress?: (line: string) => void;
}

/** Copies `src` to `dst` (via a temporary name, fsync'd), hashing on the way. ENOENT: null. */
export async function copyHashed(src: string, dst: string): Promise<{ sha256: string; size: number } | null> {
  const tmp = `${dst}.tmp-${randomBytes(4).toString('hex')}`;
  const h = createHash('sha256');
  let size = 0;
  const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o640);
  try {
    await pipeline(
      createReadStream(src),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          h.update(chunk);
          size += chunk.length;
          fh.write(chunk).then(() => cb(), cb);
        },
      }),
    );
    await fh.datasync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  await fh.close();
  await rename(tmp, dst);
  return { sha256: h.digest('hex'), size };
}

/** Writes `data` to `dst` (via a temporary name, fsync'd) and returns its hash and size. */
export async function writeHashed(dst: string, data: Buffer): Promise<{ sha256: string; size: number }> {
  const tmp = `${dst}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o640);
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, dst);
  return { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
}

/** Copies one blob into the backup at `dst`; null when the source no longer has it (expunged). */
type BlobSource = (id: string, dst: string) => Promise<{ sha256: string; size: number } | null>;

/** The data dir's blob folder: streamed file copies (the embedded appliance). */
function folderSource(root: string): BlobSource {
  return (id, dst) => copyHashed(blobPath(root, id), dst);
}

/** A blob store (S3 on a cluster): read through the interface; not found means expunged. */
function storeSource(store: BlobStore): BlobSource {
  return async (id, dst) => {
    let data: Buffer;
    try {
      data = await store.get(id);
    } catch (err) {
      if (err instanceof BlobNotFoundError) return null;
      throw err;
    }
    return writeHashed(dst, data);
  };
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsc.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Blobs recorded by the repository's earlier snapshots (sizes and hashes, so they are not re-read). */
async function knownBlobs(repo: string): Promise<Map<string, BlobEntry>> {
  const known = new Map<string, BlobEntry>();
  const snaps = await readdir(path.join(repo, 'snapshots')).catch(() => [] as string[]);
  for (const s of snaps) {
    if (s.startsWith('.')) continue;
    const m = await readManifest(path.join(repo, 'snapshots', s)).catch(() => null);
    for (const b of m?.blobs ?? []) known.set(b.id, b);
  }
  return known;
}

export async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

interface CopyState {
  known: Map<string, BlobEntry>;
  copied: number;
  reused: number;
  bytes: number;
}

/** Copies the blobs not yet in the repository; returns the ids missing from the data dir. */
async function copyBlobs(ids: string[], source: BlobSource, dstRoot: string, st: CopyState, progress?: (line: string) => void): Promise<Set<string>> {
  const missing = new Set<string>();
  let done = 0;
  await pool(ids, COPY_CONCURRENCY, async (id) => {
    const dst = blobPath(dstRoot, id);
    const have = await stat(dst).catch(() => null);
    if (have && st.known.has(id) && st.known.get(id)!.size === have.size) {
      st.reused++;
    } else if (have) {
      // In the store but in no manifest (an interrupted earlier run): hash what is there.
      st.known.set(id, { id, ...(await sha256File(dst)) });
      st.reused++;
    } else {
      await mkdir(path.dirname(dst), { recursive: true });
      const r = await source(id, dst);
      if (!r) missing.add(id);
      else {
        st.known.set(id, { id, ...r });
        st.copied++;
        st.bytes += r.size;
      }
    }
    if (++done % 1000 === 0) progress?.(`  blobs: ${done}/${ids.length}`);
  });
  return missing;
}

async function snapshotDatabase(opts: BackupOptions, tmp: string): Promise<{ file: string; engine: 'sqlite' | 'postgres'; ids: string[] }> {
  if (opts.databaseUrl) {
    const file = path.join(tmp, 'database.pgdump');
    await rm(file, { force: true });
    await snapshotPostgres(opts.databaseUrl, file);
    return { file, engine: 'postgres', ids: await referencedBlobsPostgres(file) };
  }
  const file = path.join(tmp, 'database.sqlite');
  await rm(file, { force: true });
  const live = path.join(opts.dataDir, 'postern.db');
  if (!(await stat(live).catch(() => null))) throw new BackupError(`${live} does not exist: is ${opts.dataDir} a Postern data dir?`);
  snapshotSqlite(live, file);
  return { file, engine: 'sqlite', ids: referencedBlobsSqlite(file) };
}

async function copyDataFiles(dataDir: string, tmp: string): Promise<FileEntry[]> {
  const files: FileEntry[] = [];
  for (const rel of DATA_FILES) {
    const dst = path.join(tmp, 'files', rel);
    await mkdir(path.dirname(dst), { recursive: true });
    const r = await copyHashed(path.join(dataDir, rel), dst);
    if (r) files.push({ path: rel, ...r });
  }
  return files;
}

export async function takeBackup(opts: BackupOptions): Promise<Manifest> {
  const now = opts.now ?? Date.now;
  const repo = opts.out;
  const blobsRoot = path.join(repo, 'blobs');
  await mkdir(blobsRoot, { recursive: true });
  await mkdir(path.join(repo, 'snapshots'), { recursive: true });
  const st: CopyState = { known: await knownBlobs(repo), copied: 0, reused: 0, bytes: 0 };
  const s3 = opts.storage?.blobStore === 's3' ? await openBlobStore(opts.storage, path.join(opts.dataDir, 'blobs')) : null;
  const source = s3 ? storeSource(s3) : folderSource(path.join(opts.dataDir, 'blobs'));
  const where = s3 ? `the S3 bucket ${opts.storage?.s3?.bucket}` : `${opts.dataDir}/blobs`;
  const tmp = path.join(repo, 'snapshots', `.tmp-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp);
  try {
    let created = 0;
    let snap: Awaited<ReturnType<typeof snapshotDatabase>> | null = null;
    let attempts = 0;
    for (;;) {
      attempts++;
      created = now();
      snap = await snapshotDatabase(opts, tmp);
      opts.progress?.(`database snapshot taken (${snap.engine}); ${snap.ids.length} blobs referenced`);
      const missing = await copyBlobs(snap.ids, source, blobsRoot, st, opts.progress);
      if (!missing.size) break;
      if (attempts >= MAX_ATTEMPTS) throw new BackupError(`${missing.size} blobs the database refers to are missing from ${where} after ${attempts} snapshots (first: ${[...missing][0]})`);
      opts.progress?.(`${missing.size} blobs were deleted after the snapshot (expunged mail): taking the snapshot again`);
    }
    const files = await copyDataFiles(opts.dataDir, tmp);
    const db = await sha256File(snap.file);
    const name = new Date(created).toISOString().replace(/[:.]/g, '-');
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      created: new Date(created).toISOString(),
      snapshot: name,
      database: { engine: snap.engine, file: path.basename(snap.file), ...db },
      files,
      blobs: snap.ids.map((id) => st.known.get(id)!),
      stats: { blobsCopied: st.copied, blobsReused: st.reused, bytesCopied: st.bytes, attempts },
    };
    const text = `${JSON.stringify(manifest, null, 1)}\n`;
    await writeFile(path.join(tmp, 'manifest.json'), text, { flush: true });
    await writeFile(path.join(tmp, 'manifest.sha256'), `${manifestChecksum(text)}  manifest.json\n`, { flush: true });
    await fsyncDir(tmp);
    const final = path.join(repo, 'snapshots', name);
    if (await stat(final).catch(() => null)) throw new BackupError(`snapshot ${name} already exists in ${repo}`);
    await rename(tmp, final);
    await fsyncDir(path.join(repo, 'snapshots'));
    await writeFile(path.join(repo, 'LATEST.tmp'), `${name}\n`, { flush: true });
    await rename(path.join(repo, 'LATEST.tmp'), path.join(repo, 'LATEST'));
    await fsyncDir(repo);
    return manifest;
  } finally {
    await rm(tmp, { recursive: true, force: true });
    (s3 as { close?: () => void } | null)?.close?.();
  }
}
