/**
 * Outbound connections kept between messages (issue 18). Haraka 3's outbound queue opens a new
 * connection for every message it relays (outbound/client_pool.js: connect, banner, EHLO,
 * STARTTLS, AUTH, the message, QUIT, close), where Postfix keeps a connection to a busy
 * destination and sends the next message over it. This pool does the same for Haraka:
 *
 * - After a message was accepted (a 2xx answer to the final dot), Haraka's QUIT is sent as RSET
 *   instead; once the server answers RSET with 250, the connection waits here, idle, for the next
 *   message to the same target (host, port, HELO name, AUTH credentials, bound address).
 * - Haraka's delivery code still knows a kept connection (`__fromPool`: it skips the greeting
 *   and EHLO and starts with MAIL FROM on it, TLS and AUTH already in place), so the next message
 *   to that target takes it instead of connecting.
 * - Anything unexpected ends the connection as before: a refused or failed message is followed
 *   by QUIT, an RSET answered otherwise than 250, a line from the server while idle, an error, a
 *   close, IDLE_MS without use, MAX_USES messages.
 *
 * Only the socket changes hands: queue files, retries and bounces stay Haraka's, and a queue
 * file is still removed only after the server accepted its message. A kept connection is not
 * used for a message with a non-ASCII envelope address (Haraka decides SMTPUTF8 from the EHLO
 * answer of the connection it opened itself), nor for the appliance's own MX listener (a kept
 * session would hold one of its unauthenticated session slots).
 */

/** A connection as Haraka's outbound code holds it (tls_socket's pluggable stream). */
export interface OutboundSocket {
  write(data: unknown, ...rest: unknown[]): unknown;
  end(data?: unknown): unknown;
  destroy(): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  removeAllListeners(event?: string): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
  writable?: boolean;
  destroyed?: boolean;
  targetsocket?: { destroyed?: boolean };
  __fromPool?: boolean;
}

/** The fields of Haraka's HarakaMx a connection depends on. */
export interface OutboundMx {
  exchange?: string;
  path?: string;
  port?: number;
  bind?: string;
  bind_helo?: string;
  using_lmtp?: boolean;
  auth_user?: string;
  auth_pass?: string;
  auth_type?: string;
}

export type GetClient = (mx: OutboundMx, cb: (err: unknown, socket: OutboundSocket | null) => void) => void;
export type ReleaseClient = (socket: OutboundSocket, mx: OutboundMx) => void;

/** How long a connection waits for its next message (Postfix: 2 s, smtp_connection_cache_time_limit). */
export const IDLE_MS = 5_000;
/** Messages over one connection before it is closed. */
export const MAX_USES = 100;
/** Idle connections kept per target. */
export const MAX_IDLE_PER_TARGET = 32;

type State = 'busy' | 'rset' | 'idle' | 'closed';

interface Track {
  key: string;
  state: State;
  uses: number;
  /** The last command line written was the final dot of a message. */
  dotSent: boolean;
  /** The server accepted that message (2xx to the dot). */
  accepted: boolean;
  timer: NodeJS.Timeout | null;
  onLine: (line: string) => void;
  onGone: () => void;
}

const FINAL_REPLY = /^\d{3}(?: |\r?\n|$)/;

export function targetKey(mx: OutboundMx): string {
  return JSON.stringify([mx.path ?? null, mx.exchange ?? null, mx.port ?? null, mx.bind ?? null, mx.bind_helo ?? null, mx.auth_user ?? null, mx.auth_pass ?? null, mx.auth_type ?? null]);
}

function usable(s: OutboundSocket): boolean {
  return s.writable !== false && !s.destroyed && !s.targetsocket?.destroyed;
}

export class OutboundPool {
  private readonly idle = new Map<string, OutboundSocket[]>();
  private readonly tracks = new WeakMap<OutboundSocket, Track>();
  /** Connections opened and messages that took a kept one (for tests and logs). */
  readonly stats = { opened: 0, reused: 0 };

  constructor(
    private readonly connect: GetClient,
    private readonly release: ReleaseClient,
    private readonly opts: { idleMs?: number; maxUses?: number; maxIdle?: number } = {},
  ) {}

  /**
   * A connection for `mx`: a kept one when `reuse` allows and one is idle (marked `__fromPool`,
   * handed over at once), else a new one from Haraka's own `get_client`, tracked so it can be kept
   * after its message. `keep` false: a new connection that is never kept.
   */
  get(mx: OutboundMx, reuse: boolean, keep: boolean, cb: (err: unknown, socket: OutboundSocket | null) => void): void {
    const key = targetKey(mx);
    const kept = reuse && keep ? this.take(key) : null;
    if (kept) {
      this.stats.reused++;
      cb(null, kept);
      return;
    }
    this.connect(mx, (err, socket) => {
      if (socket) {
        this.stats.opened++;
        if (keep && !mx.using_lmtp) this.track(socket, key);
      }
      cb(err, socket);
    });
  }

  /** Haraka gives a connection up (`release_client`): it is closed, never kept. */
  drop(socket: OutboundSocket, mx: OutboundMx): void {
    const t = this.tracks.get(socket);
    if (t) this.forget(socket, t);
    this.release(socket, mx);
  }

  /** Idle connections to one target (for tests). */
  idleCount(mx: OutboundMx): number {
    return this.idle.get(targetKey(mx))?.length ?? 0;
  }

  private take(key: string): OutboundSocket | null {
    const list = this.idle.get(key);
    while (list?.length) {
      const s = list.pop()!;
      const t = this.tracks.get(s);
      if (!t || t.state !== 'idle' || !usable(s)) {
        if (t) this.close(s, t, false);
        continue;
      }
      if (t.timer) clearTimeout(t.timer);
      t.timer = null;
      // Haraka's delivery removes every error, timeout, close and end listener and adds its own.
      t.state = 'busy';
      t.dotSent = false;
      t.accepted = false;
      s.__fromPool = true;
      if (!list.length) this.idle.delete(key);
      return s;
    }
    return null;
  }

  private track(socket: OutboundSocket, key: string): void {
    const t: Track = {
      key,
      state: 'busy',
      uses: 0,
      dotSent: false,
      accepted: false,
      timer: null,
      onLine: (line) => this.line(socket, t, line),
      onGone: () => this.close(socket, t, false),
    };
    this.tracks.set(socket, t);
    const maxUses = this.opts.maxUses ?? MAX_USES;
    // Before Haraka's own line listener (added after this callback), so the answer to the dot is
    // seen here before Haraka writes its QUIT.
    socket.on('line', t.onLine);
    const write = socket.write;
    socket.write = function (this: OutboundSocket, data: unknown, ...rest: unknown[]) {
      if (typeof data === 'string' && t.state === 'busy') {
        if (data === 'QUIT\r\n' && t.dotSent && t.accepted && t.uses + 1 < maxUses) {
          t.state = 'rset';
          data = 'RSET\r\n';
        } else {
          t.dotSent = data === '.\r\n';
          t.accepted = false;
        }
      }
      return write.call(this, data, ...rest);
    };
  }

  private line(socket: OutboundSocket, t: Track, line: string): void {
    if (t.state === 'busy') {
      if (t.dotSent && FINAL_REPLY.test(line)) t.accepted = line.startsWith('2');
      return;
    }
    if (t.state === 'rset') {
      if (!FINAL_REPLY.test(line)) return;
      if (line.startsWith('250')) this.park(socket, t);
      else this.close(socket, t, false);
      return;
    }
    // Idle: the server speaks unasked (a 421 before it closes, say).
    if (t.state === 'idle') this.close(socket, t, false);
  }

  /** The RSET was answered: Haraka's listeners go, the connection waits for the next message. */
  private park(socket: OutboundSocket, t: Track): void {
    const list = this.idle.get(t.key) ?? [];
    if (list.length >= (this.opts.maxIdle ?? MAX_IDLE_PER_TARGET)) return this.close(socket, t, true);
    t.uses++;
    t.state = 'idle';
    socket.removeAllListeners('line');
    socket.on('line', t.onLine);
    for (const e of ['error', 'close', 'end', 'timeout']) {
      socket.removeAllListeners(e);
      socket.on(e, t.onGone);
    }
    t.timer = setTimeout(() => this.close(socket, t, true), this.opts.idleMs ?? IDLE_MS);
    t.timer.unref();
    list.push(socket);
    this.idle.set(t.key, list);
  }

  private forget(socket: OutboundSocket, t: Track): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = null;
    const list = this.idle.get(t.key);
    const i = list ? list.indexOf(socket) : -1;
    if (i >= 0) list!.splice(i, 1);
    if (list && !list.length) this.idle.delete(t.key);
  }

  /** Ends a kept (or keepable) connection; `quit`: between messages, so with a courteous QUIT. */
  private close(socket: OutboundSocket, t: Track, quit: boolean): void {
    if (t.state === 'closed') return;
    t.state = 'closed';
    this.forget(socket, t);
    socket.removeAllListeners('line');
    socket.removeAllListeners('error');
    socket.on('error', () => undefined);
    if (quit && usable(socket)) {
      socket.end('QUIT\r\n');
      setTimeout(() => socket.destroy(), 1_000).unref();
    } else {
      socket.destroy();
    }
  }
}

/** True when every envelope address of a queued message is ASCII (a kept connection may carry it). */
export function asciiEnvelope(todo: { mail_from?: unknown; rcpt_to?: unknown[] } | null | undefined): boolean {
  if (!todo) return false;
  // Every field of each address (user, host, the original forms) as Haraka writes it to the queue file.
  // eslint-disable-next-line no-control-regex
  return [todo.mail_from, ...(todo.rcpt_to ?? [])].every((a) => !/[^\x00-\x7f]/.test(JSON.stringify(a ?? null)));
}
