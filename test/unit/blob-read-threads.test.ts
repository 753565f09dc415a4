/**
 * The blob read threads (mailstore/blob-read-threads.ts, issue 18) that read a FETCH's batch of
 * blob files off the event loop: every file's exact bytes in order (empty files too), a batch
 * larger than the reused buffer, lent buffers reused only after release, a missing file failing
 * the batch with its index (the file store names the blob), and a thread that stops.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobReadThreads, SLAB_BYTES } from '../../appliance/mailstore/blob-read-threads.js';
import { BlobNotFoundError, FileBlobStore } from '../../appliance/mailstore/blobstore.js';

describe('blob read threads', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-blobread-'));
  const threads = new BlobReadThreads(2);
  const files = Array.from({ length: 40 }, (_, i) => {
    const file = path.join(dir, `f${i}`);
    const data = i === 5 ? Buffer.alloc(0) : randomBytes(1 + ((i * 7919) % 30_000));
    writeFileSync(file, data);
    return { file, data };
  });
  afterAll(async () => {
    await threads.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads every file whole and in order, in several batches at once', async () => {
    const [a, b] = await Promise.all([threads.readFiles(files.slice(0, 20).map((f) => f.file)), threads.readFiles(files.slice(20).map((f) => f.file))]);
    expect([...a, ...b].map((x) => x.toString('hex'))).toEqual(files.map((f) => f.data.toString('hex')));
  });

  it('lends a reused buffer: the bytes are right, and the buffer comes back only after release', async () => {
    const paths = files.map((f) => f.file);
    const first = await threads.lendFiles(paths.slice(0, 10));
    expect(first.files.map((x) => x.toString('hex'))).toEqual(files.slice(0, 10).map((f) => f.data.toString('hex')));
    // Not released yet: a second loan must not overwrite the first one's bytes.
    const second = await threads.lendFiles(paths.slice(10, 20));
    expect(first.files.map((x) => x.toString('hex'))).toEqual(files.slice(0, 10).map((f) => f.data.toString('hex')));
    expect(first.files[0]!.buffer).not.toBe(second.files[0]!.buffer);
    expect(second.files.map((x) => x.toString('hex'))).toEqual(files.slice(10, 20).map((f) => f.data.toString('hex')));
    const firstBuffer = first.files[0]!.buffer;
    first.release();
    first.release(); // twice is harmless: the buffer is not handed out twice
    const third = await threads.lendFiles(paths.slice(20, 30));
    const fourth = await threads.lendFiles(paths.slice(30, 40));
    expect(third.files[0]!.buffer).toBe(firstBuffer); // reused
    expect(fourth.files[0]!.buffer).not.toBe(firstBuffer);
    expect([...third.files, ...fourth.files].map((x) => x.toString('hex'))).toEqual(files.slice(20).map((f) => f.data.toString('hex')));
    second.release();
    third.release();
    fourth.release();
  });

  it('reads a batch larger than the reused buffer into one of its own', async () => {
    const big = path.join(dir, 'big');
    const data = randomBytes(SLAB_BYTES + 100);
    writeFileSync(big, data);
    const lent = await threads.lendFiles([files[1]!.file, big]);
    expect(lent.files[0]!.equals(files[1]!.data)).toBe(true);
    expect(lent.files[1]!.equals(data)).toBe(true);
    lent.release();
  });

  it('fails a batch with a missing file, naming its blob through the file store', async () => {
    await expect(threads.readFiles([files[0]!.file, path.join(dir, 'missing')])).rejects.toMatchObject({ code: 'ENOENT', index: 1 });
    const store = await FileBlobStore.open(path.join(dir, 'blobs'));
    const ids = [await store.put(Buffer.from('one')), await store.put(Buffer.from('two'))];
    expect((await store.readMany(ids)).map(String)).toEqual(['one', 'two']);
    const lent = await store.lendMany(ids);
    expect(lent.files.map(String)).toEqual(['one', 'two']);
    lent.release();
    await store.delete(ids[1]!);
    const err = await store.readMany(ids).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobNotFoundError);
    expect((err as BlobNotFoundError).blobId).toBe(ids[1]);
    await expect(store.lendMany(ids)).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('fails the pending reads of a thread that stops, and starts a new one for the next', async () => {
    const fresh = new BlobReadThreads(1);
    try {
      const pending = fresh.readFiles([files[0]!.file]);
      await fresh.close();
      await expect(pending).rejects.toThrow();
      const again = await fresh.readFiles([files[2]!.file]);
      expect(again[0]!.equals(files[2]!.data)).toBe(true);
    } finally {
      await fresh.close();
    }
  });
});
