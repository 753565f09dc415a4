/**
 * An inbound message's blob write and MIME parse (`prepareMessage`) on a thread of its own
 * (issue 18). On Haraka's event loop, the inbound path's bottleneck (one loop, ~90 % busy), they
 * cost five completions per message (open, write, fdatasync, the folder's fsync, close) besides
 * the parse itself. Here a worker thread runs the very same `prepareMessage` against its own
 * handle on the same blob store (the local folder, or S3), and the loop sends one message and
 * gets one answer. The answer comes only once the blob is durable, exactly as before; an error
 * (or a thread that died) fails the message, which Haraka answers 4xx. A thread that died is
 * started again with the next message; the thread holds Haraka open only while it works.
 *
 * The same thread runs the inbound SPF/DKIM/DMARC/ARC checks after DATA (`authenticate`, ninth
 * round of issue 18: mailauth's parsing, hashing and DNS answers, about 5 % of Haraka's event loop
 * in a profile) and, with the appliance's MTA socket, makes the delivery call (`deliver`). It also
 * DKIM-signs submitted messages (`sign`, tenth round).
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { StorageConfig } from '../../../appliance/config.js';
import type { PreparedMessage } from '../../../appliance/mailstore/ingest.js';
import type { DeliverParams, DeliverResult } from '../../../appliance/rpc/protocol.js';
import type { AuthCheck, AuthCheckParams } from '../../data.postern-auth/lib/check.js';
import type { SignatureData } from '../../data.postern-sign/lib/signer.js';

export interface PrepareStorage {
  storage: Pick<StorageConfig, 'blobStore' | 's3'>;
  blobDir: string;
  /** The resolver of the inbound SPF/DKIM/DMARC checks (POSTERN_DNS_RESOLVER; absent or null: the system's). */
  dnsResolver?: { host: string; port: number } | null;
  /**
   * The appliance's MTA socket (POSTERN_MTA_RPC_SOCKET): with it, `deliver` calls `mail.deliver`
   * from the thread itself. Absent: only `prepare`, and the plugin calls over Haraka's channel.
   */
  rpcSocket?: string | null;
}

/** What `deliver` sends with the prepared message. */
export type DeliverRequest = Omit<DeliverParams, 'prepared'>;

/** The compiled modules the thread loads (beside this file in dist/). */
const MODULES = {
  blobstore: path.resolve(__dirname, '../../../appliance/mailstore/blobstore.js'),
  ingest: path.resolve(__dirname, '../../../appliance/mailstore/ingest.js'),
  auth: path.resolve(__dirname, '../../data.postern-auth/lib/check.js'),
  resolver: path.resolve(__dirname, '../../../appliance/net/resolver.js'),
  channel: path.resolve(__dirname, '../../../appliance/rpc/channel.js'),
  signer: path.resolve(__dirname, '../../data.postern-sign/lib/signer.js'),
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
let check = null;
function checker() {
  if (!check) {
    const { checkMessage } = require(workerData.modules.auth);
    const { createResolver } = require(workerData.modules.resolver);
    // SPF, DKIM, DMARC and PTR answers are the same for every message of a sender: kept 10 s.
    const resolver = createResolver(workerData.dnsResolver ?? null, { cacheMs: 10_000 });
    check = (raw, params) => checkMessage(raw, params, resolver);
  }
  return check;
}
// Loaded now rather than inside the first message's checks.
setImmediate(() => { try { checker(); } catch {} });
// The appliance's socket; a socket that never connected sends nothing, and the prepared message
// goes back for the plugin to deliver over Haraka's channel (as without a socket).
let rpc = null;
let unreachable = false;
function appliance() {
  if (!rpc) {
    const net = require('node:net');
    const { RpcClient, socketEndpoint } = require(workerData.modules.channel);
    const socket = net.connect(workerData.rpcSocket);
    const client = new RpcClient(socketEndpoint(socket));
    let connected = false;
    socket.once('connect', () => { connected = true; });
    socket.on('error', () => undefined);
    socket.on('close', () => { if (!connected) unreachable = true; client.failAll(); if (rpc === client) rpc = null; });
    rpc = client;
  }
  return rpc;
}
function deliver(m, p) {
  if (unreachable) return Promise.resolve({ id: m.id, prepared: p });
  return appliance().call('mail.deliver', { ...m.deliver, prepared: p }).then(
    (delivered) => ({ id: m.id, delivered }),
    (err) => { if (unreachable) return { id: m.id, prepared: p }; throw err; },
  );
}
let signer = null;
function job(m, raw) {
  if (m.sign) {
    signer ??= require(workerData.modules.signer);
    return signer.dkimSignCached(raw, m.sign, m.now).then((signed) => ({ id: m.id, signed }));
  }
  if (m.auth) return Promise.resolve().then(() => checker()(raw, m.auth)).then((auth) => ({ id: m.id, auth }));
  const prepared = blobs().then((b) => prepareMessage(b, raw, m.prefixes));
  return m.deliver ? prepared.then((p) => deliver(m, p)) : prepared.then((p) => ({ id: m.id, prepared: p }));
}
parentPort.on('message', (m) => {
  const raw = Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength);
  const work = job(m, raw);
  work.then(
    (answer) => parentPort.postMessage(answer),
    (err) => parentPort.postMessage({ id: m.id, error: { message: String((err && err.message) || err), code: err && err.code } }),
  );
});
`;

/** DKIM signatures of a message (data.postern-sign/lib/signer.ts `dkimSignCached`). */
export type Signed = { signatures: string; errors: string[] };

type Pending = { resolve(p: PreparedMessage | AuthCheck | DeliverResult | Signed): void; reject(err: Error): void };
type Answer = { id: number; prepared?: PreparedMessage; auth?: AuthCheck; delivered?: DeliverResult; signed?: Signed; error?: { message: string; code?: string } };

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
    return this.send<PreparedMessage>(raw, { prefixes });
  }

  /**
   * The inbound SPF/DKIM/DMARC/ARC checks of `raw` (data.postern-auth/lib/check.ts) on the
   * thread, with its own 10 s DNS answer cache: mailauth's parsing, hashing and DNS callbacks
   * cost Haraka's event loop nothing (issue 18).
   */
  authenticate(raw: Buffer, params: AuthCheckParams): Promise<AuthCheck> {
    return this.send<AuthCheck>(raw, { auth: params });
  }

  /**
   * DKIM signatures of a submitted message (data.postern-sign/lib/signer.ts `dkimSignCached`,
   * with the thread's own parsed keys) on the thread: the body canonicalization, hashing and the
   * RSA and Ed25519 signatures cost Haraka's event loop nothing (issue 18).
   */
  sign(raw: Buffer, signatureData: SignatureData[], now = Date.now()): Promise<Signed> {
    return this.send<Signed>(raw, { sign: signatureData, now });
  }

  /** True when `deliver` can reach the appliance from the thread (a socket was given). */
  get delivers(): boolean {
    return !!this.opts.rpcSocket;
  }

  /**
   * `prepare`, then the appliance's `mail.deliver` of the prepared message, both on the thread
   * (issue 18): Haraka's event loop sends the bytes and gets the small result, and never
   * handles the parsed message (its clone from the thread, its JSON to the appliance). Resolves
   * after the appliance's durable commit, as the call does; an appliance error keeps its code.
   * Without a socket, or one that never connected, `overChannel` delivers the prepared message.
   */
  async deliver(raw: Buffer, prefixes: string[], request: DeliverRequest, overChannel: (params: DeliverParams) => Promise<DeliverResult>): Promise<DeliverResult> {
    if (!this.delivers) return overChannel({ ...request, prepared: await this.prepare(raw, prefixes) });
    const answer = await this.send<DeliverResult | PreparedMessage>(raw, { prefixes, deliver: request });
    // The socket never connected (nothing was sent): the prepared message comes back for the channel.
    return 'blobId' in answer ? overChannel({ ...request, prepared: answer }) : answer;
  }

  private send<T>(raw: Buffer, job: { prefixes: string[]; deliver?: DeliverRequest } | { auth: AuthCheckParams } | { sign: SignatureData[]; now: number }): Promise<T> {
    const { worker, pending } = this.thread();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as Pending['resolve'], reject });
      if (pending.size === 1) worker.ref();
      // A copy (`raw` may be a view of a pooled buffer that must not be detached), handed over
      // to the thread rather than cloned once more.
      const copy = new Uint8Array(raw);
      worker.postMessage({ id, raw: copy, ...job }, [copy.buffer]);
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
    const worker = new Worker(SOURCE, {
      eval: true,
      // A small blob's file is opened here and closed by a sync thread after its fdatasync
      // (blobstore.ts writePooled): with Node's default tracking, each delivery printed two
      // warnings (an fd "closed but not opened", then its number "opened twice"), a stack trace,
      // a stderr line through Haraka's loop and a log line in the appliance (issue 18, twelfth
      // round), and the thread's exit would close descriptor numbers that others own by then.
      trackUnmanagedFds: false,
      workerData: { modules: MODULES, storage: this.opts.storage, blobDir: this.opts.blobDir, dnsResolver: this.opts.dnsResolver ?? null, rpcSocket: this.opts.rpcSocket ?? null },
    });
    const slot: Slot = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (m: Answer) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (!slot.pending.size) worker.unref();
      if (m.prepared) p.resolve(m.prepared);
      else if (m.auth) p.resolve(m.auth);
      else if (m.delivered) p.resolve(m.delivered);
      else if (m.signed) p.resolve(m.signed);
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
