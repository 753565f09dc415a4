/**
 * The backup layout and its manifest. A backup directory is a repository of snapshots that
 * share one content store of blobs (incremental: a blob stored by an earlier snapshot is not
 * copied again; blobs are immutable, their ids never reused):
 *
 *   DIR/blobs/<2 hex>/<blob id>           message bytes, as in the data dir's blob store
 *   DIR/snapshots/<stamp>/database.sqlite (or database.pgdump)
 *   DIR/snapshots/<stamp>/files/…         secrets.key, tls/ (what the data dir needs besides)
 *   DIR/snapshots/<stamp>/manifest.json   version, created, database and file sha256, blob list
 *   DIR/snapshots/<stamp>/manifest.sha256 the manifest's own checksum
 *   DIR/LATEST                            the newest complete snapshot's name (written last)
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const BACKUP_FORMAT = 'postern-backup';
export const BACKUP_VERSION = 1;

export interface FileEntry {
  /** Path relative to the snapshot's files/ folder (and to the data dir). */
  path: string;
  size: number;
  sha256: string;
}

export interface BlobEntry {
  id: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  /** ISO time the database snapshot was taken. */
  created: string;
  snapshot: string;
  database: { engine: 'sqlite' | 'postgres'; file: string; size: number; sha256: string };
  files: FileEntry[];
  blobs: BlobEntry[];
  stats: { blobsCopied: number; blobsReused: number; bytesCopied: number; attempts: number };
}

export class BackupError extends Error {}

export function blobPath(root: string, id: string): string {
  if (!/^[0-9a-f]{32}$/.test(id)) throw new BackupError(`invalid blob id ${JSON.stringify(id)}`);
  return path.join(root, id.slice(0, 2), id);
}

export function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let size = 0;
    createReadStream(file)
      .on('data', (c: string | Buffer) => {
        const b = typeof c === 'string' ? Buffer.from(c) : c;
        size += b.length;
        h.update(b);
      })
      .on('error', reject)
      .on('end', () => resolve({ sha256: h.digest('hex'), size }));
  });
}

export function manifestChecksum(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Reads and checks a snapshot's manifest (its checksum, format and version). */
export async function readManifest(snapshotDir: string): Promise<Manifest> {
  let text: string;
  let sum: string;
  try {
    text = await readFile(path.join(snapshotDir, 'manifest.json'), 'utf8');
    sum = (await readFile(path.join(snapshotDir, 'manifest.sha256'), 'utf8')).trim().split(/\s+/)[0] ?? '';
  } catch (err) {
    throw new BackupError(`${snapshotDir} is not a Postern backup snapshot: ${(err as Error).message}`);
  }
  if (manifestChecksum(text) !== sum) throw new BackupError(`the manifest of ${snapshotDir} does not match its checksum (corrupt backup)`);
  const m = JSON.parse(text) as Manifest;
  if (m.format !== BACKUP_FORMAT) throw new BackupError(`${snapshotDir}: not a Postern backup (format ${JSON.stringify(m.format)})`);
  if (m.version !== BACKUP_VERSION) throw new BackupError(`${snapshotDir}: backup format version ${m.version} is not supported (this Postern reads version ${BACKUP_VERSION})`);
  return m;
}

/** The snapshot folder `--from DIR` names: DIR itself when it holds a manifest, else DIR/snapshots/<LATEST or the given name>. */
export async function resolveSnapshot(from: string, name?: string): Promise<{ repo: string; dir: string }> {
  const own = await readFile(path.join(from, 'manifest.json')).then(
    () => true,
    () => false,
  );
  if (own && !name) return { repo: path.resolve(from, '..', '..'), dir: from };
  let snap = name;
  if (!snap) {
    snap = (await readFile(path.join(from, 'LATEST'), 'utf8').catch(() => '')).trim();
    if (!snap) throw new BackupError(`${from} holds no complete backup (no LATEST file)`);
  }
  return { repo: from, dir: path.join(from, 'snapshots', snap) };
}
