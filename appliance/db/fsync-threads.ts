/**
 * fsync and fdatasync on threads of their own (issue 18). On libuv's thread pool (4 threads) an
 * fsync holds a thread for as long as the disk takes — milliseconds, tens of them under load —
 * and with a few APPENDs and group commits in flight every thread was syncing: each small file
 * read of a FETCH (open, stat, read, close: four trips through the pool) and each blob write
 * queued behind them (15 ms per page-cached blob read in the mixed benchmark). Syncs wait here
 * instead, on threads that do nothing else; the pool stays free for reads, writes and crypto.
 * The threads block in the kernel, not on a core. Durability is unchanged: a caller is answered
 * when the sync system call has returned, exactly as with fs.fdatasync.
 */
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
parentPort.on('message', (m) => {
  let error = null;
  try {
    if (m.fd !== undefined) {
      if (m.full) fs.fsyncSync(m.fd); else fs.fdatasyncSync(m.fd);
    } else {
      const fd = fs.openSync(m.path, 'r');
      try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    }
  } catch (err) {
    error = { message: String(err && err.message), code: err && err.code };
  }
  parentPort.postMessage({ id: m.id, error });
});
`;

type Pending = { resolve: () => void; reject: (err: Error) => void };

interface SyncThread {
  worker: Worker;
  pending: Map<number, Pending>;
}

type Request = { fd: number; full: boolean } | { path: string };

export class FsyncThreads {
  private readonly threads: Array<SyncThread | null>;
  private nextId = 1;

  constructor(size = 4) {
    this.threads = new Array<SyncThread | null>(size).fill(null);
  }

  /** fdatasync(2) of an open file (the descriptor must stay open until this settles). */
  fdatasync(fd: number): Promise<void> {
    return this.send({ fd, full: false });
  }

  /** fsync(2) of a path opened read-only for it (a directory, after an entry was added or removed). */
  fsyncPath(path: string): Promise<void> {
    return this.send({ path });
  }

  private send(req: Request): Promise<void> {
    // the least busy thread (an idle one when there is one)
    let slot = 0;
    let best = Infinity;
    for (let i = 0; i < this.threads.length; i++) {
      const n = this.threads[i]?.pending.size ?? 0;
      if (n < best) {
        best = n;
        slot = i;
        if (n === 0) break;
      }
    }
    const thread = (this.threads[slot] ??= this.start(slot));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      if (thread.pending.size === 1) thread.worker.ref();
      thread.worker.postMessage({ id, ...req });
    });
  }

  private start(slot: number): SyncThread {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const thread: SyncThread = { worker, pending: new Map() };
    worker.on('message', (m: { id: number; error: { message: string; code?: string } | null }) => {
      const p = thread.pending.get(m.id);
      if (!p) return;
      thread.pending.delete(m.id);
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else p.resolve();
      if (thread.pending.size === 0) worker.unref();
    });
    // a thread that dies fails what it was syncing (never reported as durable); the next sync starts a new one
    const fail = (err: Error) => {
      if (this.threads[slot] === thread) this.threads[slot] = null;
      for (const p of thread.pending.values()) p.reject(err);
      thread.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`fsync thread exited (${code})`)));
    worker.unref();
    return thread;
  }

  /** Stops the threads (their pending syncs fail). */
  async close(): Promise<void> {
    const running = this.threads.filter((t): t is SyncThread => t !== null);
    this.threads.fill(null);
    await Promise.all(running.map((t) => t.worker.terminate()));
  }
}

/** The process's sync threads, started at the first sync. */
export const fsyncThreads = new FsyncThreads();
