/**
 * The file blob store's `write` (the APPEND path, issue 18): a small blob is created and written
 * on the calling thread, so its bytes are in the file before the event loop turns and its syncs
 * start at once; a large one goes through libuv's pool as before. Either way `durable` resolves
 * only after the syncs, every chunk is written whole, and a blob whose write or sync failed is
 * removed and never reported durable.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsyncThreads } from '../../appliance/db/fsync-threads.js';
import { FileBlobStore, SMALL_WRITE_BYTES } from '../../appliance/mailstore/blobstore.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'postern-blob-write-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every blob file under `root`, as shard/name. */
function files(root: string): string[] {
  return readdirSync(root).flatMap((shard) => readdirSync(path.join(root, shard)).map((f) => `${shard}/${f}`));
}

describe('file blob store write', () => {
  it('writes a small blob before the event loop turns, whole, and syncs it', async () => {
    const root = path.join(dir, 'small');
    const blobs = await FileBlobStore.open(root, { pool: false }); // the file made at the write (pre-created ones: blobstore-pool-r7append.test.ts)
    const chunks = [Buffer.from('Subject: one\r\n'), Buffer.alloc(0), Buffer.from('\r\n'), Buffer.alloc(20_000, 0x61)];
    const pending = blobs.write(chunks);
    // No await yet: the file exists with every byte (a write through libuv's pool would not have run).
    const [name] = files(root);
    expect(name).toBeDefined();
    expect(readFileSync(path.join(root, name!))).toEqual(Buffer.concat(chunks));
    const written = await pending;
    expect(name!.endsWith(written.id)).toBe(true);
    await written.durable;
    expect((await blobs.get(written.id)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('writes a large blob through the pool, whole, and syncs it', async () => {
    const root = path.join(dir, 'large');
    const blobs = await FileBlobStore.open(root);
    const big = Buffer.alloc(SMALL_WRITE_BYTES + 1, 0x62);
    const written = await blobs.write([big.subarray(0, 10), big.subarray(10)]);
    await written.durable;
    expect((await blobs.get(written.id)).equals(big)).toBe(true);
  });

  it('refuses a small blob it cannot create, leaving nothing behind', async () => {
    const root = path.join(dir, 'notdir');
    const blobs = await FileBlobStore.open(root);
    // Every shard folder replaced by a plain file: creating the blob fails (ENOTDIR), as root too.
    for (const s of readdirSync(root)) {
      await rm(path.join(root, s), { recursive: true });
      await writeFile(path.join(root, s), '');
    }
    await expect(blobs.write(Buffer.from('x'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(readdirSync(root).every((s) => statSync(path.join(root, s)).size === 0)).toBe(true);
  });

  it('removes a small blob whose sync failed and never reports it durable', async () => {
    const root = path.join(dir, 'syncfail');
    const blobs = await FileBlobStore.open(root, { pool: false });
    const real = fsyncThreads.fdatasync.bind(fsyncThreads);
    fsyncThreads.fdatasync = () => Promise.reject(Object.assign(new Error('injected EIO'), { code: 'EIO' }));
    try {
      const written = await blobs.write(Buffer.from('Subject: lost\r\n\r\n'));
      await expect(written.durable).rejects.toMatchObject({ code: 'EIO' });
    } finally {
      fsyncThreads.fdatasync = real;
    }
    expect(files(root)).toEqual([]);
  });
});
