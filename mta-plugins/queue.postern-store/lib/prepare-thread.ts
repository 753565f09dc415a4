/**
 * An inbound message's blob write and MIME parse (`prepareMessage`) on a thread of its own
 * (issue 18). On Haraka's event loop, the inbound path's bottleneck (one loop, ~90 % busy), they
 * cost five completions per message (open, write, fdatasync, the folder's fsync, close) besides
 * the parse itself. Here a worker thread runs the very same `prepareMessage` against its own
 * handle on the same blob store (the local folder, or S3), and the loop sends one message and
 * gets one answer. The answer comes only once the blob is durable, exactly as before; an error
 * (or a thread that died) fails the message, which Haraka answers 4xx. A thread that died is
 * started again with the next message; the thread holds Haraka open only while it works.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { StorageConfig } from '../../../appliance/config.js';
import type { PreparedMessage } from '../../../appliance/mailstore/ingest.js';

export interface PrepareStorage {
  storage: Pick<StorageConfig, 'blobStore' | 's3'>;
  blobDir: string;
}

/** The compiled modules the thread loads (beside this file in dist/). */
const MODULES = {
  blobstore: path.resolve(__dirname, '../../../appliance/mailstore/blobstore.js'),
  ingest: path.resolve(__dirname, '../../../appliance/mailstore/ingest.js'),
};

const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openBlobStore } = require(workerData.modules.blobstore);
const { prepareMessage } = require(workerData.modules.ingest);
let store = null;
function blobs() {
  store ??= openBlobStore(workerData.storage, workerData.blobDir).catch((err) => { store = null; throw err; });
  return store;
}
blobs().catch(() => undefined);
parentPort.on('message', (m) => {
  const raw = Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength);
  blobs().then((b) => prepareMessage(b, raw, m.prefixes)).then(
    (prepared) => parentPort.postMessage({ id: m.id, prepared }),
    (err) => parentPort.postMessage({ id: m.id, error: { message: String((err && err.message) || err), code: err && err.code } }),
  );
});
`;

type Pending = { resolve(p: PreparedMessage): void; reject(err: Error): void };
type Answer = { id: number; prepared?: PreparedMessage; error?: { message: string; code?: string } };

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

export class PrepareThread {
  private slot: Slot | null = null;
  private nextId = 1;

  constructor(private readonly opts: PrepareStorage) {}

  /** Starts the thread now (it opens the blob store while Haraka goes on). */
  start(): void {
    this.thread();
  }

  /** prepareMessage(store, raw, prefixes) on the thread: resolves once the blob is durable. */
  prepare(raw: Buffer, prefixes: string[]): Promise<PreparedMessage> {
    const { worker, pending } = this.thread();
    const id = this.nextId++;
    return new Promise<PreparedMessage>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      if (pending.size === 1) worker.ref();
      // A copy (`raw` may be a view of a pooled buffer that must not be detached), handed over
      // to the thread rather than cloned once more.
      const copy = new Uint8Array(raw);
      worker.postMessage({ id, raw: copy, prefixes }, [copy.buffer]);
    });
  }

  /** Stops the thread; what it was doing fails. */
  async close(): Promise<void> {
    const s = this.slot;
    this.slot = null;
    if (s) await s.worker.terminate();
  }

  private thread(): Slot {
    if (this.slot) return this.slot;
    const worker = new Worker(SOURCE, { eval: true, workerData: { modules: MODULES, storage: this.opts.storage, blobDir: this.opts.blobDir } });
    const slot: Slot = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (m: Answer) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (!slot.pending.size) worker.unref();
      if (m.prepared) p.resolve(m.prepared);
      else p.reject(Object.assign(new Error(m.error?.message ?? 'prepare failed'), { code: m.error?.code }));
    });
    // A thread that died fails what it held; the next message starts a new one.
    const gone = (err: Error) => {
      if (this.slot === slot) this.slot = null;
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`the prepare thread exited (${code})`)));
    this.slot = slot;
    return slot;
  }
}
