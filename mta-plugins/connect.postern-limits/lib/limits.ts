/**
 * Pure logic of the SMTP abuse limits (no Haraka here): concurrent-session caps (global, and
 * per client address for sessions that have not authenticated), the command-line length guard
 * (RFC 5321 §4.5.3.1.4: 512 octets with CRLF; AUTH lines up to 12,288, RFC 4954 §4) and the
 * DATA minimum-rate check.
 */

export interface SmtpLimitSettings {
  /** Concurrent sessions of all clients (0: no cap). */
  maxSessions: number;
  /** Concurrent not-yet-authenticated sessions from one address (0: no cap). */
  maxSessionsPerIp: number;
  /** DATA must bring at least this many bytes per second, measured over each rate window. */
  dataMinRateBytesPerSecond: number;
  dataRateWindowSeconds: number;
  /** Whole DATA phase deadline in seconds, whatever the rate (0: none). */
  dataTimeoutSeconds: number;
}

export const COMMAND_LINE_MAX = 512;
export const AUTH_LINE_MAX = 12_288;
/** RFC 5321 §4.5.3.1.6: 998 octets of text plus CRLF. */
export const TEXT_LINE_MAX = 1000;

export type Admission = { ok: true } | { ok: false; reason: 'global' | 'per_ip' };

/** Concurrent sessions: all, and unauthenticated ones per address. */
export class SessionCounter {
  private total = 0;
  private readonly unauth = new Map<string, number>();

  constructor(private readonly settings: Pick<SmtpLimitSettings, 'maxSessions' | 'maxSessionsPerIp'>) {}

  /** Counts the session in when admitted; a refused session is not counted. */
  admit(ip: string): Admission {
    if (this.settings.maxSessions && this.total >= this.settings.maxSessions) return { ok: false, reason: 'global' };
    const n = this.unauth.get(ip) ?? 0;
    if (this.settings.maxSessionsPerIp && n >= this.settings.maxSessionsPerIp) return { ok: false, reason: 'per_ip' };
    this.total++;
    this.unauth.set(ip, n + 1);
    return { ok: true };
  }

  /** The session authenticated: it no longer counts against its address's unauthenticated cap. */
  authenticated(ip: string): void {
    this.dropUnauth(ip);
  }

  /** `stillUnauth`: the session never authenticated (its per-address slot is released too). */
  closed(ip: string, stillUnauth: boolean): void {
    this.total = Math.max(0, this.total - 1);
    if (stillUnauth) this.dropUnauth(ip);
  }

  get sessions(): number {
    return this.total;
  }

  unauthenticatedFrom(ip: string): number {
    return this.unauth.get(ip) ?? 0;
  }

  private dropUnauth(ip: string): void {
    const n = (this.unauth.get(ip) ?? 0) - 1;
    if (n > 0) this.unauth.set(ip, n);
    else this.unauth.delete(ip);
  }
}

/**
 * One SessionCounter for several Haraka processes (kept in the master): each session is counted
 * under the process that holds it, so the sessions of a process that died are released at once
 * (`release`) instead of holding their slots for ever.
 */
export class SharedSessionCounter {
  private readonly counter: SessionCounter;
  /** Per owner: admitted sessions, and unauthenticated ones per address. */
  private readonly owners = new Map<number, { total: number; unauth: Map<string, number> }>();

  constructor(settings: Pick<SmtpLimitSettings, 'maxSessions' | 'maxSessionsPerIp'>) {
    this.counter = new SessionCounter(settings);
  }

  admit(owner: number, ip: string): Admission {
    const a = this.counter.admit(ip);
    if (!a.ok) return a;
    let o = this.owners.get(owner);
    if (!o) this.owners.set(owner, (o = { total: 0, unauth: new Map() }));
    o.total++;
    o.unauth.set(ip, (o.unauth.get(ip) ?? 0) + 1);
    return a;
  }

  authenticated(owner: number, ip: string): void {
    if (!this.take(owner, ip)) return;
    this.counter.authenticated(ip);
  }

  closed(owner: number, ip: string, stillUnauth: boolean): void {
    const o = this.owners.get(owner);
    if (!o || o.total === 0) return;
    if (stillUnauth && !this.take(owner, ip)) return;
    o.total--;
    this.counter.closed(ip, stillUnauth);
  }

  /** The owner (a process) is gone: every session it held is closed. */
  release(owner: number): void {
    const o = this.owners.get(owner);
    if (!o) return;
    this.owners.delete(owner);
    for (const [ip, n] of o.unauth) for (let i = 0; i < n; i++) this.counter.closed(ip, true);
    const authenticated = o.total - [...o.unauth.values()].reduce((a, b) => a + b, 0);
    for (let i = 0; i < authenticated; i++) this.counter.closed('', false);
  }

  get sessions(): number {
    return this.counter.sessions;
  }

  unauthenticatedFrom(ip: string): number {
    return this.counter.unauthenticatedFrom(ip);
  }

  /** Takes one unauthenticated slot of `ip` from the owner's ledger; false when it holds none. */
  private take(owner: number, ip: string): boolean {
    const o = this.owners.get(owner);
    const n = o?.unauth.get(ip) ?? 0;
    if (!o || n === 0) return false;
    if (n > 1) o.unauth.set(ip, n - 1);
    else o.unauth.delete(ip);
    return true;
  }
}

/**
 * Watches the bytes of command lines as they arrive (before Haraka buffers them): `push`
 * answers 'too-long' as soon as a line passes its limit without a line end.
 */
export class CommandLineGuard {
  private pending = 0;
  private head = '';

  push(chunk: Buffer): 'ok' | 'too-long' {
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(0x0a, start);
      const end = lf === -1 ? chunk.length : lf + 1;
      if (this.head.length < 5) this.head += chunk.subarray(start, Math.min(end, start + 5 - this.head.length)).toString('latin1');
      this.pending += end - start;
      if (this.pending > this.limit()) return 'too-long';
      if (lf === -1) return 'ok';
      this.pending = 0;
      this.head = '';
      start = lf + 1;
      if (start >= chunk.length) return 'ok';
    }
  }

  /** DATA bytes are not command lines: forget the partial line when DATA starts or ends. */
  reset(): void {
    this.pending = 0;
    this.head = '';
  }

  private limit(): number {
    return /^AUTH[ \r]/i.test(this.head) || /^AUTH$/i.test(this.head) ? AUTH_LINE_MAX : COMMAND_LINE_MAX;
  }
}

/** Bytes of DATA per window; `check` answers why a session is cut, or null. */
export class DataRate {
  private windowStart: number;
  private windowBytes = 0;

  constructor(
    private readonly settings: Pick<SmtpLimitSettings, 'dataMinRateBytesPerSecond' | 'dataRateWindowSeconds' | 'dataTimeoutSeconds'>,
    private readonly startedAt: number,
  ) {
    this.windowStart = startedAt;
  }

  add(bytes: number): void {
    this.windowBytes += bytes;
  }

  check(now: number): 'too-slow' | 'deadline' | null {
    if (this.settings.dataTimeoutSeconds && now - this.startedAt >= this.settings.dataTimeoutSeconds * 1000) return 'deadline';
    const windowMs = this.settings.dataRateWindowSeconds * 1000;
    if (now - this.windowStart < windowMs) return null;
    const needed = (this.settings.dataMinRateBytesPerSecond * (now - this.windowStart)) / 1000;
    if (this.windowBytes < needed) return 'too-slow';
    this.windowStart = now;
    this.windowBytes = 0;
    return null;
  }
}
