/**
 * `postern migrate`, the message-bytes half: copies every blob the source's messages refer to
 * into the target blob store (S3), recording source id → target id, size and sha256 in the
 * target database, so a re-run copies only what is missing; then verifies every copy by sha256
 * against the source. A blob put but not yet recorded when a run dies is an unreferenced object
 * in the target (the orphan sweep removes it after its grace period); it is never referenced twice.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { blobMapPage, countSourceBlobs, mappedBlobs, recordBlob, type RowRewriter, sourceBlobIds } from '../db/move.js';
import type { BlobStore } from './blobstore.js';

type AnyDb = Kysely<any>;
const PAGE = 500;

export interface BlobProgress {
  done: number;
  total: number;
  copied: number;
  bytes: number;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Runs `fn` over `items` with at most `limit` running at once. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Copies the blobs not yet in the target. */
export async function copyBlobs(
  source: { db: AnyDb; blobs: BlobStore },
  target: { db: AnyDb; blobs: BlobStore },
  opts: { concurrency: number; onProgress: (p: BlobProgress) => void },
): Promise<BlobProgress> {
  const p: BlobProgress = { done: 0, total: await countSourceBlobs(source.db), copied: 0, bytes: 0 };
  opts.onProgress({ ...p });
  let after = '';
  for (;;) {
    const ids = await sourceBlobIds(source.db, after, PAGE);
    if (!ids.length) break;
    after = ids[ids.length - 1]!;
    const known = await mappedBlobs(target.db, ids);
    p.done += known.size;
    await pool(
      ids.filter((id) => !known.has(id)),
      opts.concurrency,
      async (id) => {
        const bytes = await source.blobs.get(id).catch((err: Error) => {
          throw new Error(`source blob ${id} cannot be read (${err.message}): the source data dir is damaged`);
        });
        const targetId = await target.blobs.put(bytes);
        await recordBlob(target.db, { sourceId: id, targetId, size: bytes.length, sha256: sha256(bytes) });
        p.done++;
        p.copied++;
        p.bytes += bytes.length;
        opts.onProgress({ ...p });
      },
    );
    opts.onProgress({ ...p });
  }
  return p;
}

/** The row rewriter for the table copy: each message row gets the target id of its blob. */
export function blobIdRewriter(target: AnyDb): RowRewriter {
  return async (table, rows) => {
    if (table !== 'messages') return;
    const map = await mappedBlobs(target, [...new Set(rows.map((r) => r.blob_id as string))]);
    for (const r of rows) {
      const id = map.get(r.blob_id as string);
      if (!id) throw new Error(`blob ${String(r.blob_id)} of message ${String(r.id)} was not copied`);
      r.blob_id = id;
    }
  };
}

export interface BlobCheck {
  checked: number;
  bytes: number;
  mismatches: Array<{ sourceId: string; targetId: string; reason: string }>;
}

/** Reads every copied blob on both sides and compares sizes and sha256 digests. */
export async function verifyBlobs(source: BlobStore, target: { db: AnyDb; blobs: BlobStore }, opts: { concurrency: number; onProgress: (checked: number) => void }): Promise<BlobCheck> {
  const out: BlobCheck = { checked: 0, bytes: 0, mismatches: [] };
  let after = '';
  for (;;) {
    const page = await blobMapPage(target.db, after, PAGE);
    if (!page.length) break;
    after = page[page.length - 1]!.sourceId;
    await pool(page, opts.concurrency, async (b) => {
      const [s, t] = await Promise.all([source.get(b.sourceId), target.blobs.get(b.targetId).catch((err: Error) => err)]);
      out.checked++;
      if (t instanceof Error) out.mismatches.push({ sourceId: b.sourceId, targetId: b.targetId, reason: `target unreadable: ${t.message}` });
      else if (sha256(s) !== b.sha256) out.mismatches.push({ sourceId: b.sourceId, targetId: b.targetId, reason: 'source changed since it was copied' });
      else if (sha256(t) !== b.sha256 || t.length !== b.size) out.mismatches.push({ sourceId: b.sourceId, targetId: b.targetId, reason: 'target bytes differ' });
      else out.bytes += t.length;
    });
    opts.onProgress(out.checked);
  }
  return out;
}
