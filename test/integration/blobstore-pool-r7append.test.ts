/**
 * Pre-created blob files (issue 18, APPEND): a small blob goes into a file whose directory entry
 * was synced ahead of time, so storing it costs its own fdatasync and no directory fsync. A
 * pre-created file is never taken for a message: the store does not list its own, a sweep in the
 * same process leaves them, one past its age is removed instead of used, one removed by someone
 * else is skipped, and left over after a stop (empty, unreferenced) it is swept as an orphan.
 */
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fsyncThreads } from '../../appliance/db/fsync-threads.js';
import { FileBlobStore, POOL_BATCH, POOL_MAX_AGE_MS, isBlobId } from '../../appliance/mailstore/blobstore.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'postern-blob-pool-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every file under `root` as its name, with its size. */
function files(root: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const shard of readdirSync(root)) for (const f of readdirSync(path.join(root, shard))) out.set(f, statSync(path.join(root, shard, f)).size);
  return out;
}

/** Counts the sync requests made while `fn` runs. */
async function countSyncs<T>(fn: () => Promise<T>): Promise<{ value: T; dirSyncs: number; dataSyncs: number }> {
  const realPath = fsyncThreads.fsyncPath.bind(fsyncThreads);
  const realData = fsyncThreads.fdatasync.bind(fsyncThreads);
  const realDataClose = fsyncThreads.fdatasyncAndClose.bind(fsyncThreads); // (the sync thread closes the file after it, r11)
  let dirSyncs = 0;
  let dataSyncs = 0;
  fsyncThreads.fsyncPath = (p) => (dirSyncs++, realPath(p));
  fsyncThreads.fdatasync = (fd) => (dataSyncs++, realData(fd));
  fsyncThreads.fdatasyncAndClose = (fd) => (dataSyncs++, realDataClose(fd));
  try {
    return { value: await fn(), dirSyncs, dataSyncs };
  } finally {
    fsyncThreads.fsyncPath = realPath;
    fsyncThreads.fdatasync = realData;
    fsyncThreads.fdatasyncAndClose = realDataClose;
  }
}

describe('file blob store: pre-created files', () => {
  it('stores a small blob in a pre-created file: one fdatasync, no directory fsync', async () => {
    const root = path.join(dir, 'hot');
    const blobs = await FileBlobStore.open(root);
    await blobs.put(Buffer.from('first\r\n')); // none made yet: created at the write, and a batch asked for
    await blobs.poolSettled();
    const before = files(root);
    const made = [...before].filter(([, size]) => size === 0).map(([name]) => name);
    expect(made).toHaveLength(POOL_BATCH);
    expect(made.every(isBlobId)).toBe(true);
    const body = Buffer.from('Subject: pooled\r\n\r\nbody\r\n');
    const { value: id, dirSyncs, dataSyncs } = await countSyncs(() => blobs.put(body));
    expect(made).toContain(id);
    expect(dirSyncs).toBe(0);
    expect(dataSyncs).toBe(1);
    expect(readFileSync(path.join(root, id.slice(0, 2), id))).toEqual(body);
    expect((await blobs.get(id)).equals(body)).toBe(true);
  });

  it('lists only blobs: a sweep of unreferenced blobs in this process leaves the pre-created files', async () => {
    const core: TestCore = await createTestCore();
    try {
      const blobs = core.blobs as FileBlobStore;
      const orphans = [];
      for (let i = 0; i < 3; i++) orphans.push(await blobs.put(Buffer.from(`orphan ${i}`)));
      await blobs.poolSettled();
      const listed: string[] = [];
      for await (const b of blobs.list()) listed.push(b.id);
      expect(listed.sort()).toEqual([...orphans].sort());
      const waiting = [...files(path.join(core.dataDir, 'blobs'))].filter(([, size]) => size === 0).map(([name]) => name);
      expect(waiting.length).toBeGreaterThan(0);
      expect(await core.store.sweepOrphanBlobs(0)).toBe(orphans.length);
      for (const name of waiting) expect(existsSync(path.join(core.dataDir, 'blobs', name.slice(0, 2), name))).toBe(true);
      const box = await core.createMailbox('pool@blobs.test', 'Correct-Horse-71');
      const r = await core.store.append(box.id, 'INBOX', Buffer.from('Subject: after the sweep\r\n\r\nkept\r\n'));
      const inbox = (await core.store.getFolder(box.id, 'INBOX'))!;
      const [entry] = await core.store.listMessages(inbox.id);
      expect(entry!.uid).toBe(r.uid);
      expect((await core.store.readMessage(entry!.messageId)).toString()).toContain('kept');
    } finally {
      await core.close();
    }
  });

  it('removes a pre-created file past its age instead of using it', async () => {
    const root = path.join(dir, 'aged');
    const blobs = await FileBlobStore.open(root);
    await blobs.put(Buffer.from('first'));
    await blobs.poolSettled();
    const aged = [...files(root)].filter(([, size]) => size === 0).map(([name]) => name);
    expect(aged).toHaveLength(POOL_BATCH);
    const now = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now + POOL_MAX_AGE_MS);
    try {
      const id = await blobs.put(Buffer.from('later'));
      expect(aged).not.toContain(id);
      for (const name of aged) expect(existsSync(path.join(root, name.slice(0, 2), name))).toBe(false);
      expect((await blobs.get(id)).toString()).toBe('later');
    } finally {
      clock.mockRestore();
    }
  });

  it('skips a pre-created file that someone removed', async () => {
    const root = path.join(dir, 'gone');
    const blobs = await FileBlobStore.open(root);
    await blobs.put(Buffer.from('first'));
    await blobs.poolSettled();
    const waiting = [...files(root)].filter(([, size]) => size === 0).map(([name]) => name);
    // Every one but one removed: the write skips the missing ones and uses the one left.
    const kept = waiting.pop()!;
    for (const name of waiting) unlinkSync(path.join(root, name.slice(0, 2), name));
    const id = await blobs.put(Buffer.from('still stored'));
    expect(id).toBe(kept);
    expect((await blobs.get(id)).toString()).toBe('still stored');
  });

  it('leaves its pre-created files to the orphan sweep of the next start', async () => {
    const core = await createTestCore();
    try {
      await core.blobs.put(Buffer.from('x'));
      await (core.blobs as FileBlobStore).poolSettled();
      const left = [...files(path.join(core.dataDir, 'blobs'))].filter(([, size]) => size === 0).length;
      expect(left).toBe(POOL_BATCH);
      // Another store on the same folder (the next start) sees them as what they are: unreferenced.
      const next = await FileBlobStore.open(path.join(core.dataDir, 'blobs'));
      const listed: string[] = [];
      for await (const b of next.list()) listed.push(b.id);
      expect(listed).toHaveLength(POOL_BATCH + 1);
    } finally {
      await core.close();
    }
  });
});
