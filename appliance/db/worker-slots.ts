/**
 * A few worker threads that take requests by id and answer them in any order: the fsync threads
 * (db/fsync-threads.ts) and the blob read threads (mailstore/blob-read-threads.ts), issue 18.
 * A thread starts at its first request (or at prestart) and again after it died; a request goes
 * to the least busy thread (an idle one when there is one); a thread holds the process open only
 * while it has requests; one that dies fails what it was doing.
 */
import { Worker } from 'node:worker_threads';

interface Slot<P> {
  worker: Worker;
  pending: Map<number, P>;
}

export class WorkerSlots<P extends { reject(err: Error): void }, A extends { id: number }> {
  private readonly threads: Array<Slot<P> | null>;
  private nextId = 1;

  /**
   * `source`: the thread's code (CommonJS, evaluated), answering each message with its `id`;
   * `settle`: settles a request with its thread's answer; `name` names the threads in errors.
   */
  constructor(
    private readonly source: string,
    private readonly name: string,
    size: number,
    private readonly settle: (request: P, answer: A) => void,
  ) {
    this.threads = new Array<Slot<P> | null>(size).fill(null);
  }

  /** Starts the threads that are not running (they boot while the caller goes on). */
  prestart(): void {
    for (let i = 0; i < this.threads.length; i++) this.threads[i] ??= this.start(i);
  }

  /** Sends `message` with a new id to the least busy thread; `request` is settled by its answer. */
  send(request: P, message: object): void {
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
    thread.pending.set(id, request);
    if (thread.pending.size === 1) thread.worker.ref();
    thread.worker.postMessage({ id, ...message });
  }

  private start(slot: number): Slot<P> {
    // The threads close descriptors the serving loop opened (a blob's file after its fdatasync):
    // with Node's tracking of a worker's own descriptors each such close printed a process warning
    // ("closed but not opened in unmanaged mode"), one per stored message. Our threads close every
    // descriptor they open themselves, so nothing relies on the tracking.
    const worker = new Worker(this.source, { eval: true, trackUnmanagedFds: false });
    const thread: Slot<P> = { worker, pending: new Map() };
    worker.on('message', (m: A) => {
      const p = thread.pending.get(m.id);
      if (!p) return;
      thread.pending.delete(m.id);
      if (thread.pending.size === 0) worker.unref();
      this.settle(p, m);
    });
    // a thread that dies fails what it was doing; the next request starts a new one in its slot
    const fail = (err: Error) => {
      if (this.threads[slot] === thread) this.threads[slot] = null;
      for (const p of thread.pending.values()) p.reject(err);
      thread.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`${this.name} thread exited (${code})`)));
    worker.unref();
    return thread;
  }

  /** Stops the threads (their pending requests fail). */
  async close(): Promise<void> {
    const running = this.threads.filter((t): t is Slot<P> => t !== null);
    this.threads.fill(null);
    await Promise.all(running.map((t) => t.worker.terminate()));
  }
}
