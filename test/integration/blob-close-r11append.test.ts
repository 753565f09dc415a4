/**
 * A small blob's file is closed by the sync thread after its fdatasync (issue 18, APPEND: the
 * close was one more system call on the serving loop per message). The descriptor is closed
 * whether the sync succeeded or not, the blob is durable only after a successful sync, and a
 * failed one still removes the file.
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsyncThreads, fsyncThreads } from '../../appliance/db/fsync-threads.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';

let dir: string;
const threads = new FsyncThreads(1);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'postern-blob-close-'));
});
afterAll(async () => {
  await threads.close();
  await rm(dir, { recursive: true, force: true });
});

/** This process's open descriptors on `file`. */
function openOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

describe('fdatasyncAndClose', () => {
  it('syncs the file, then closes the descriptor on the thread', async () => {
    const file = path.join(dir, 'synced');
    const fd = openSync(file, 'w');
    writeSync(fd, 'data');
    await threads.fdatasyncAndClose(fd);
    expect(() => fstatSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(readFileSync(file, 'utf8')).toBe('data');
  });

  it('closes the descriptor when the sync fails, and reports the failure', async () => {
    const fd = openSync('/dev/null', 'r'); // fdatasync(2) on a character device: EINVAL
    await expect(threads.fdatasyncAndClose(fd)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(() => fstatSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});

describe('file blob store: a small blob in a pre-created file', () => {
  it('leaves no descriptor open on the blob once it is durable', async () => {
    const root = path.join(dir, 'pooled');
    const blobs = await FileBlobStore.open(root);
    await blobs.put(Buffer.from('Subject: first\r\n\r\n')); // the pool is filled after the first
    await blobs.poolSettled();
    for (let i = 0; i < 5; i++) {
      const { id, durable } = await blobs.write(Buffer.from(`Subject: ${i}\r\n\r\nbody ${i}\r\n`));
      await durable;
      const file = path.join(root, id.slice(0, 2), id);
      expect(openOn(file)).toBe(0);
      expect(readFileSync(file, 'utf8')).toBe(`Subject: ${i}\r\n\r\nbody ${i}\r\n`);
    }
  });

  it('removes the file and reports a failed sync (never durable)', async () => {
    const root = path.join(dir, 'pooled-fail');
    const blobs = await FileBlobStore.open(root);
    await blobs.put(Buffer.from('Subject: first\r\n\r\n'));
    await blobs.poolSettled();
    const real = fsyncThreads.fdatasyncAndClose.bind(fsyncThreads);
    const closed: number[] = [];
    fsyncThreads.fdatasyncAndClose = (fd) => {
      closeSync(fd); // as the thread does, also after a failure
      closed.push(fd);
      return Promise.reject(Object.assign(new Error('injected EIO'), { code: 'EIO' }));
    };
    try {
      const { id, durable } = await blobs.write(Buffer.from('Subject: lost\r\n\r\n'));
      await expect(durable).rejects.toMatchObject({ code: 'EIO' });
      expect(closed).toHaveLength(1);
      const shard = readdirSync(path.join(root, id.slice(0, 2)));
      expect(shard).not.toContain(id);
    } finally {
      fsyncThreads.fdatasyncAndClose = real;
    }
  });
});
