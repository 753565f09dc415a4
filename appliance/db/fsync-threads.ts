/**
 * fsync and fdatasync on threads of their own (issue 18). On libuv's thread pool (4 threads) an
 * fsync holds a thread for as long as the disk takes — milliseconds, tens of them under load —
 * and with a few APPENDs and group commits in flight every thread was syncing: each small file
 * read of a FETCH (open, stat, read, close: four trips through the pool) and each blob write
 * queued behind them (15 ms per page-cached blob read in the mixed benchmark). Syncs wait here
 * instead, on threads that do nothing else; the pool stays free for reads, writes and crypto.
 * The threads block in the kernel, not on a core. Durability is unchanged: a caller is answered
 * when the sync system call has returned, exactly as with fs.fdatasync. The blob store's
 * pre-created files are made here too (`createSynced`: create, then one directory fsync).
 */
import { WorkerSlots } from './worker-slots.js';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
function syncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}
function create(dir, names) {
  const made = [];
  try {
    for (const name of names) {
      fs.closeSync(fs.openSync(path.join(dir, name), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o640));
      made.push(name);
    }
    syncDir(dir);
  } catch (err) {
    for (const name of made) { try { fs.unlinkSync(path.join(dir, name)); } catch {} }
    throw err;
  }
}
parentPort.on('message', (m) => {
  let error = null;
  try {
    if (m.create !== undefined) {
      create(m.create, m.names);
    } else if (m.fd !== undefined) {
      try {
        if (m.full) fs.fsyncSync(m.fd); else fs.fdatasyncSync(m.fd);
      } finally {
        if (m.close) fs.closeSync(m.fd);
      }
    } else {
      syncDir(m.path);
    }
  } catch (err) {
    error = { message: String(err && err.message), code: err && err.code };
  }
  parentPort.postMessage({ id: m.id, error });
});
`;

type Pending = { resolve: () => void; reject: (err: Error) => void };
type Answer = { id: number; error: { message: string; code?: string } | null };
type Request = { fd: number; full: boolean; close?: boolean } | { path: string } | { create: string; names: string[] };

export class FsyncThreads {
  // a thread that dies fails what it was syncing (never reported as durable)
  private readonly slots: WorkerSlots<Pending, Answer>;

  constructor(size = 4) {
    this.slots = new WorkerSlots<Pending, Answer>(WORKER_SOURCE, 'fsync', size, (p, m) => {
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else p.resolve();
    });
  }

  /** fdatasync(2) of an open file (the descriptor must stay open until this settles). */
  fdatasync(fd: number): Promise<void> {
    return this.send({ fd, full: false });
  }

  /**
   * fdatasync(2), then close(2) of the descriptor on the thread, whether the sync succeeded or not
   * (issue 18, APPEND: the blob's close was one more system call on the serving loop). The caller
   * must not use or close `fd` again; should the thread die, the descriptor may be left open.
   */
  fdatasyncAndClose(fd: number): Promise<void> {
    return this.send({ fd, full: false, close: true });
  }

  /** fsync(2) of a path opened read-only for it (a directory, after an entry was added or removed). */
  fsyncPath(path: string): Promise<void> {
    return this.send({ path });
  }

  /**
   * Creates the empty files `names` in `dir` (mode 0640, none may exist yet), then fsyncs `dir`:
   * resolves when their entries are on disk. On failure none is left behind. The descriptors are
   * closed on the thread (a worker closes the descriptors it opened when it exits). The blob
   * store's pre-created files (blobstore.ts).
   */
  createSynced(dir: string, names: string[]): Promise<void> {
    return this.send({ create: dir, names });
  }

  private send(req: Request): Promise<void> {
    return new Promise<void>((resolve, reject) => this.slots.send({ resolve, reject }, req));
  }

  /** Stops the threads (their pending syncs fail). */
  close(): Promise<void> {
    return this.slots.close();
  }
}

/** The process's sync threads, started at the first sync. */
export const fsyncThreads = new FsyncThreads();
