/**
 * Request/response RPC over a Node IPC channel (the appliance ↔ its Haraka child). JSON
 * messages: {t:'req', id, m, p} and {t:'res', id, ok, r | e:{code, message}}. Message bytes
 * never travel here (the child writes them to the blob store); only small requests do.
 */
import type { Socket } from 'node:net';
import { AppError, type ErrorCode } from '../core/kernel/errors.js';

export interface IpcEndpoint {
  send?(message: unknown, cb?: (err: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off?(event: 'message', listener: (message: unknown) => void): unknown;
  connected?: boolean;
}

type Request = { t: 'req'; id: number; m: string; p: unknown };
type Response = { t: 'res'; id: number; ok: true; r: unknown } | { t: 'res'; id: number; ok: false; e: { code: string; message: string } };

export type Handler = (params: any) => Promise<unknown> | unknown;

function isRequest(x: unknown): x is Request {
  return !!x && typeof x === 'object' && (x as Request).t === 'req' && typeof (x as Request).id === 'number';
}
function isResponse(x: unknown): x is Response {
  return !!x && typeof x === 'object' && (x as Response).t === 'res' && typeof (x as Response).id === 'number';
}

/**
 * Serves handlers on an endpoint (the appliance side; also the Haraka master for its workers,
 * where `fallback` relays the methods it does not answer itself to the appliance).
 */
export function serveRpc(
  endpoint: IpcEndpoint,
  handlers: Record<string, Handler>,
  onError?: (err: unknown, method: string) => void,
  fallback?: (method: string, params: unknown) => Promise<unknown>,
): () => void {
  const listener = (msg: unknown) => {
    if (!isRequest(msg)) return;
    const reply = (res: Response) => {
      if (endpoint.connected === false || !endpoint.send) return;
      try {
        endpoint.send(res);
      } catch {
        /* child gone */
      }
    };
    const own = Object.prototype.hasOwnProperty.call(handlers, msg.m) ? handlers[msg.m] : undefined;
    const handler = own ?? (fallback ? (p: unknown) => fallback(msg.m, p) : undefined);
    if (!handler) return reply({ t: 'res', id: msg.id, ok: false, e: { code: 'Invalid', message: `unknown method ${msg.m}` } });
    Promise.resolve()
      .then(() => handler(msg.p))
      .then(
        (r) => reply({ t: 'res', id: msg.id, ok: true, r: r ?? null }),
        (err: unknown) => {
          if (!(err instanceof AppError)) onError?.(err, msg.m);
          const code = err instanceof AppError ? err.code : 'TempFailure';
          const message = err instanceof AppError ? err.message : 'internal error';
          reply({ t: 'res', id: msg.id, ok: false, e: { code, message } });
        },
      );
  };
  endpoint.on('message', listener);
  return () => endpoint.off?.('message', listener);
}

/**
 * The same messages over a stream socket (a Unix-domain socket between the appliance and a
 * Haraka worker): one JSON document per line (JSON text never holds a raw line break).
 */
export function socketEndpoint(socket: Socket): IpcEndpoint {
  const listeners = new Set<(message: unknown) => void>();
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let nl = buf.indexOf('\n');
    while (nl !== -1) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        continue; // not ours: ignored, like a foreign IPC message
      }
      for (const l of listeners) l(msg);
    }
  });
  return {
    get connected() {
      return !socket.destroyed;
    },
    send(message: unknown, cb?: (err: Error | null) => void): boolean {
      return socket.write(`${JSON.stringify(message)}\n`, (err) => cb?.(err ?? null));
    },
    on(_event: 'message', listener: (message: unknown) => void) {
      listeners.add(listener);
    },
    off(_event: 'message', listener: (message: unknown) => void) {
      listeners.delete(listener);
    },
  };
}

/** How often pending calls are checked against their deadlines (one timer for all calls, not one per call). */
const SWEEP_MS = 1_000;

/** Calls handlers across an endpoint (the Haraka side). */
export class RpcClient {
  private nextId = 1;
  private readonly pending = new Map<number, { method: string; resolve: (v: unknown) => void; reject: (e: unknown) => void; deadline: number }>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly endpoint: IpcEndpoint,
    private readonly timeoutMs = 30_000,
  ) {
    endpoint.on('message', (msg) => {
      if (!isResponse(msg)) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.r);
      else p.reject(new AppError(msg.e.code as ErrorCode, msg.e.message));
    });
  }

  /** Fails the calls past their deadline (within SWEEP_MS of it); runs while calls are pending. */
  private sweep(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(id);
      p.reject(new AppError('TempFailure', `rpc ${p.method} timed out`));
    }
    if (!this.pending.size && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** The endpoint is gone: every pending call fails now instead of at its timeout. */
  failAll(): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new AppError('TempFailure', 'appliance is not reachable'));
    }
  }

  call<T>(method: string, params: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (!this.endpoint.send || this.endpoint.connected === false) {
        reject(new AppError('TempFailure', 'appliance is not reachable'));
        return;
      }
      const id = this.nextId++;
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, deadline: Date.now() + this.timeoutMs });
      if (!this.sweeper) {
        // Unref'd: the channel, not a deadline, keeps the process alive.
        this.sweeper = setInterval(() => this.sweep(), Math.min(SWEEP_MS, this.timeoutMs));
        this.sweeper.unref();
      }
      try {
        this.endpoint.send({ t: 'req', id, m: method, p: params }, (err) => {
          if (!err) return;
          const p = this.pending.get(id);
          if (!p) return;
          this.pending.delete(id);
          p.reject(new AppError('TempFailure', 'appliance is not reachable'));
        });
      } catch {
        this.pending.delete(id);
        reject(new AppError('TempFailure', 'appliance is not reachable'));
      }
    });
  }
}
