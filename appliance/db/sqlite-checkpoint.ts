/**
 * WAL checkpoints off the event loop (issue 18). SQLite checkpoints the WAL into the database
 * file inside the commit that crosses `wal_autocheckpoint` pages: on better-sqlite3 that commit
 * runs on the event loop, copies up to a thousand pages and fsyncs the WAL and the database file
 * there, stalling every IMAP session and HTTP request for tens to hundreds of milliseconds every
 * few hundred deliveries. Once a database has written a couple of megabytes of WAL, a worker thread with
 * its own connection takes over: after every KICK_EVERY synced commits it runs a PASSIVE
 * checkpoint (which never blocks the writer; the writer restarts the WAL at its next commit once
 * everything is copied). The main connection keeps a much larger automatic checkpoint as a
 * backstop, in case the worker falls behind or stops. Small databases (most tests) never start it.
 */
import { fstat } from 'node:fs';
import { Worker } from 'node:worker_threads';

/**
 * The WAL size (bytes) from which checkpoints move to the worker: half of SQLite's own automatic
 * point (1,000 pages of 4 KiB), which the WAL file of a busy database reaches and keeps (a WAL is
 * reused from its start after a checkpoint, not shrunk).
 */
export const CHECKPOINTER_FROM_BYTES = 2 * 1024 * 1024;
/** The main connection's own automatic checkpoint (pages) while the worker runs: a backstop only. */
export const BACKSTOP_PAGES = 16_000;
/** Synced commits between checkpoint requests. */
const KICK_EVERY = 32;

/** The worker's code (CommonJS, evaluated): one connection, a PASSIVE checkpoint per request, counts sent back. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
db.pragma('wal_autocheckpoint = 0');
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.postMessage({ closed: true });
    parentPort.close();
    return;
  }
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    parentPort.postMessage({ checkpointed: r ? r.checkpointed : 0 });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message) });
  }
});
`;

export interface CheckpointStats {
  /** Checkpoints the worker ran. */
  runs: number;
  /** WAL frames it copied into the database file (as SQLite reported them, summed). */
  frames: number;
  /** Failed checkpoint attempts (the backstop covers them). */
  errors: number;
}

export class WalCheckpointer {
  private worker: Worker | null = null;
  private commits = 0;
  private inFlight = false;
  private closing: Promise<void> | null = null;
  readonly stats: CheckpointStats = { runs: 0, frames: 0, errors: 0 };

  constructor(
    private readonly file: string,
    /** Sets the main connection's automatic checkpoint (pages). */
    private readonly setAutoCheckpoint: (pages: number) => void,
  ) {}

  get running(): boolean {
    return this.worker !== null;
  }

  /** Starts the worker (idempotent); the main connection's automatic checkpoint becomes the backstop. */
  start(): void {
    if (this.worker || this.closing) return;
    const driver = require.resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file: this.file } });
    worker.unref();
    worker.on('message', (m: { checkpointed?: number; error?: string }) => {
      this.inFlight = false;
      if (m.error !== undefined) this.stats.errors++;
      else if (m.checkpointed !== undefined) {
        this.stats.runs++;
        this.stats.frames += Math.max(0, m.checkpointed);
      }
    });
    // A worker that fails leaves the backstop in charge: the main connection checkpoints as before.
    worker.on('error', () => this.stopped(worker));
    worker.on('exit', () => this.stopped(worker));
    this.worker = worker;
    this.setAutoCheckpoint(BACKSTOP_PAGES);
  }

  private stopped(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.inFlight = false;
    if (!this.closing) this.setAutoCheckpoint(1000);
  }

  /**
   * Called after each synced commit with the WAL's descriptor: asks for a checkpoint every
   * KICK_EVERY commits (one at a time); before the worker runs, looks at the WAL's size as often
   * and starts it once the WAL has reached CHECKPOINTER_FROM_BYTES.
   */
  committed(walFd: number): void {
    if (++this.commits < KICK_EVERY || this.inFlight || this.closing) return;
    if (this.worker) return this.request();
    this.commits = 0;
    fstat(walFd, (err, st) => {
      if (!err && st.size >= CHECKPOINTER_FROM_BYTES) this.start();
    });
  }

  /** Asks the worker for a checkpoint now (when none is running). */
  request(): void {
    if (!this.worker || this.inFlight) return;
    this.commits = 0;
    this.inFlight = true;
    this.worker.postMessage('checkpoint');
  }

  /** Closes the worker's connection (before the main one closes, so that the last close checkpoints and removes the WAL). */
  close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    this.closing ??= new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.on('message', (m: { closed?: boolean }) => {
        if (m.closed) void worker.terminate();
      });
      worker.postMessage('close');
    });
    return this.closing;
  }
}
