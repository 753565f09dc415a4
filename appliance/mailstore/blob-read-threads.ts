/**
 * Many small blob files read on threads of their own (issue 18, FETCH BODY[] of 1,000 messages).
 * Through fs.readFile each file costs four trips through libuv's pool (open, fstat, read, close),
 * each a callback and a fresh Buffer on the event loop: about 30 µs of the loop's time per cached
 * message, more in a fresh process. Here a thread reads a whole batch with plain system calls,
 * one file after the other as Dovecot does, into ONE buffer that is handed over without a copy;
 * the loop sees one message per batch and gets views of that buffer. Cold files block the reading
 * thread, never the loop. A missing file fails the batch with its index (the caller names the blob).
 */
import { WorkerSlots } from '../db/worker-slots.js';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
parentPort.on('message', (m) => {
  if (m.touch) {
    // a new reused buffer's pages are faulted in here, at start, not by a first FETCH's reads
    new Uint8Array(m.slab).fill(0);
    parentPort.postMessage({ id: m.id, sizes: [], lengths: [], lent: true });
    return;
  }
  const fds = [];
  const sizes = [];
  let at = -1;
  try {
    let total = 0;
    for (at = 0; at < m.paths.length; at++) {
      const fd = fs.openSync(m.paths[at], 'r');
      fds.push(fd);
      const size = fs.fstatSync(fd).size;
      sizes.push(size);
      total += size;
    }
    const lent = m.slab && total <= m.slab.byteLength;
    const buffer = lent ? m.slab : Buffer.allocUnsafeSlow(total).buffer;
    const bytes = new Uint8Array(buffer, 0, total);
    const lengths = [];
    let off = 0;
    for (at = 0; at < fds.length; at++) {
      let got = 0;
      while (got < sizes[at]) {
        const n = fs.readSync(fds[at], bytes, off + got, sizes[at] - got, got);
        if (n === 0) break;
        got += n;
      }
      lengths.push(got);
      off += sizes[at];
    }
    if (lent) parentPort.postMessage({ id: m.id, sizes, lengths, lent: true });
    else parentPort.postMessage({ id: m.id, sizes, lengths, buffer }, [buffer]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: { message: String(err && err.message), code: err && err.code, index: at } });
  } finally {
    for (const fd of fds) try { fs.closeSync(fd); } catch {}
  }
});
`;

/** A read that failed: the system error's code and the index of the file that failed. */
export class BlobReadError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly index: number,
  ) {
    super(message);
    this.name = 'BlobReadError';
  }
}

type Pending = { resolve: (files: Buffer[]) => void; reject: (err: Error) => void; slab: SharedArrayBuffer | null };
type Answer = { id: number; sizes: number[]; lengths: number[]; buffer?: ArrayBuffer; lent?: true; error?: undefined } | { id: number; error: { message: string; code?: string; index: number } };

/** Files read into memory kept for reuse: valid until release(), never to be read after it. */
export interface LentFiles {
  files: Buffer[];
  release(): void;
}

/** Size of the reused buffers a lending read fills (files of a larger batch get a buffer of their own). */
export const SLAB_BYTES = 1024 * 1024;
/** Reused buffers kept between reads (their pages are faulted in once; a fresh buffer pays a fault per page). */
const SPARE_SLABS = 8;
/**
 * Reused buffers made and faulted in on the threads at prestart: as many as a FETCH of many
 * bodies holds at once (the batch being written and four read ahead, fetch.ts BATCHES_AHEAD, and
 * one given back late). Faulted in by a fresh process's first such FETCH instead, their 1,536 pages
 * cost its read threads about 15 ms of CPU on this VM (issue 18, FETCH BODY[] cold).
 */
const PRESTART_SLABS = 6;

export class BlobReadThreads {
  private readonly slots: WorkerSlots<Pending, Answer>;

  /** Four, as libuv's pool: four files read at once keep a disk with cold files as busy as fs.readFile did. */
  constructor(size = 4) {
    this.slots = new WorkerSlots<Pending, Answer>(WORKER_SOURCE, 'blob read', size, settle);
  }

  private readonly spare: SharedArrayBuffer[] = [];

  /** The reused buffers made at prestart, once every one is faulted in and lendable (null before prestart). */
  private prefaulted: Promise<void> | null = null;

  /**
   * Starts the threads that are not running (they boot while the caller goes on); the first time,
   * also the reused buffers, each lent only once a thread has faulted its pages in.
   */
  prestart(): void {
    this.slots.prestart();
    if (this.prefaulted) return;
    const made: Array<Promise<void>> = [];
    for (let i = this.spare.length; i < PRESTART_SLABS; i++) {
      const slab = new SharedArrayBuffer(SLAB_BYTES);
      made.push(
        new Promise<Buffer[]>((resolve, reject) => this.slots.send({ resolve, reject, slab }, { slab, touch: true })).then(
          () => this.giveBack(slab),
          () => undefined,
        ),
      );
    }
    this.prefaulted = Promise.all(made).then(() => undefined);
  }

  /** Resolves when the buffers made at prestart are lendable (tests). */
  async prestarted(): Promise<void> {
    await this.prefaulted;
  }

  /**
   * The files read into a buffer kept for reuse (FETCH: copied into the response buffer and
   * released at once): `release()` gives the buffer back; the views must not be read after it.
   */
  async lendFiles(paths: string[]): Promise<LentFiles> {
    const slab = this.spare.pop() ?? new SharedArrayBuffer(SLAB_BYTES);
    let files: Buffer[];
    try {
      files = await this.read(paths, slab);
    } catch (err) {
      this.giveBack(slab);
      throw err;
    }
    let released = false;
    return {
      files,
      release: () => {
        if (released) return;
        released = true;
        this.giveBack(slab);
      },
    };
  }

  private giveBack(slab: SharedArrayBuffer): void {
    if (this.spare.length < SPARE_SLABS) this.spare.push(slab);
  }

  /** The whole contents of each file, in order (views of one new buffer per call). */
  readFiles(paths: string[]): Promise<Buffer[]> {
    return this.read(paths, null);
  }

  private read(paths: string[], slab: SharedArrayBuffer | null): Promise<Buffer[]> {
    if (!paths.length) return Promise.resolve([]);
    return new Promise<Buffer[]>((resolve, reject) => this.slots.send({ resolve, reject, slab }, { paths, slab }));
  }

  /** Stops the threads (their pending reads fail). */
  close(): Promise<void> {
    return this.slots.close();
  }
}

/** Settles a read with its thread's answer: views of the lent or transferred buffer, one per file. */
function settle(p: Pending, m: Answer): void {
  if (m.error) return p.reject(new BlobReadError(m.error.message, m.error.code, m.error.index));
  const buffer = m.lent ? p.slab! : m.buffer!;
  const out: Buffer[] = new Array<Buffer>(m.sizes.length);
  let off = 0;
  for (let i = 0; i < m.sizes.length; i++) {
    out[i] = Buffer.from(buffer, off, m.lengths[i]);
    off += m.sizes[i]!;
  }
  p.resolve(out);
}

/** The process's blob read threads, started at the first batch read. */
export const blobReadThreads = new BlobReadThreads();
