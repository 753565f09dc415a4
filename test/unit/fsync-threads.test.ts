/**
 * The sync threads (db/fsync-threads.ts, issue 18) that take fsync/fdatasync off libuv's pool:
 * a sync resolves only when the system call returned, and every failure reaches the caller
 * (a write is never reported durable when its sync failed), also when a thread dies.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsyncThreads } from '../../appliance/db/fsync-threads.js';

describe('fsync threads', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-fsync-'));
  const threads = new FsyncThreads(2);
  afterAll(async () => {
    await threads.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('syncs open files and directories, many at once, with reads of those files going on', async () => {
    const fds = Array.from({ length: 8 }, (_, i) => {
      const fd = openSync(path.join(dir, `f${i}`), 'w');
      writeSync(fd, `data ${i}`);
      return fd;
    });
    try {
      const syncs = [...fds.map((fd) => threads.fdatasync(fd)), threads.fsyncPath(dir)];
      const reads = await Promise.all(fds.map((_, i) => readFile(path.join(dir, `f${i}`), 'utf8')));
      expect(reads).toEqual(fds.map((_, i) => `data ${i}`));
      await Promise.all(syncs);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  });

  it('rejects with the system error: a bad descriptor, a missing path', async () => {
    await expect(threads.fdatasync(987654)).rejects.toMatchObject({ code: 'EBADF' });
    await expect(threads.fsyncPath(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    // and the threads keep working after a failure
    await threads.fsyncPath(dir);
  });

  it('fails the pending syncs of a thread that stops, and starts a new one for the next', async () => {
    const fd = openSync(path.join(dir, 'g'), 'w');
    // A fresh set: its thread is still starting when it is stopped, so the sync is surely pending
    // (a running thread may finish a small file's sync before it stops, which resolves rightly).
    const fresh = new FsyncThreads(1);
    try {
      const pending = fresh.fdatasync(fd);
      await fresh.close();
      await expect(pending).rejects.toThrow(/exited|terminated/);
      await fresh.fdatasync(fd);
    } finally {
      await fresh.close();
      closeSync(fd);
    }
  });

  it('does not keep a process alive once its syncs are done', () => {
    const script = `
      const { fsyncThreads } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/appliance/db/fsync-threads.js'))});
      fsyncThreads.fsyncPath(${JSON.stringify(dir)}).then(() => console.log('synced'));
    `;
    expect(execFileSync(process.execPath, ['-e', script], { timeout: 10_000 }).toString().trim()).toBe('synced');
  });
  it('closes a descriptor the caller opened without a process warning (one per stored message before)', () => {
    const file = path.join(dir, 'closed-on-thread');
    const script = `
      const fs = require('node:fs');
      const { fsyncThreads } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/appliance/db/fsync-threads.js'))});
      (async () => {
        for (let i = 0; i < 3; i++) {
          const fd = fs.openSync(${JSON.stringify(file)} + i, 'w');
          fs.writeSync(fd, 'data');
          await fsyncThreads.fdatasyncAndClose(fd);
        }
        await new Promise((r) => setTimeout(r, 100));
        console.log('closed');
      })();
    `;
    const r = spawnSync(process.execPath, ['-e', script], { timeout: 10_000 });
    expect(r.stdout.toString().trim()).toBe('closed');
    expect(r.stderr.toString()).toBe('');
  });
});
