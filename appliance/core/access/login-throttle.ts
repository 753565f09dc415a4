/**
 * Login throttling for every protocol (IMAP, SMTP AUTH, the owners' and principals' console
 * logins), shared by the credential module and the console's session service. In memory: one
 * appliance process serves all logins.
 *
 * Keyed by *source*, never by account alone, so nobody can lock an owner out (issue 13):
 * - the source: an IPv4 address, or the /64 of an IPv6 address (one host's usual allocation);
 * - the wider network: the /24 (IPv4) or /48 (IPv6) around it;
 * - the account from that source.
 * A source over its failure limit, or an account over its limit from that source, is refused
 * (back-off doubling up to maxLockMs). The wider network over its limit, or an account under a
 * sustained attack from other sources, only *delays* attempts: a correct password from a
 * source that has not been failing is always checked and accepted. A success clears only the
 * account's failures from that source; what the attacker accumulates elsewhere stays.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface LoginThrottleOptions {
  /** Failures of one account from one source before that pair is refused. */
  accountFailures: number;
  /** Failures from one source (any account) before the source is refused. */
  ipFailures: number;
  /** Failures from the /24 or /48 around a source before its attempts are delayed. */
  netFailures: number;
  /** Failures of one account from all sources before attempts from sources it never succeeded from are delayed. */
  accountDelayFailures: number;
  /** Failures of one account from all sources within the window that raise an alert (once per alertIntervalMs). */
  alertFailures: number;
  alertIntervalMs: number;
  windowMs: number;
  baseLockMs: number;
  maxLockMs: number;
  /** The delay given to attempts the wider network or an attacked account slows down. */
  delayMs: number;
  /** How long a source stays known-good for an account after a success. */
  trustMs: number;
}

export const DEFAULT_THROTTLE: LoginThrottleOptions = {
  accountFailures: 5,
  ipFailures: 20,
  netFailures: 100,
  accountDelayFailures: 10,
  alertFailures: 20,
  alertIntervalMs: 6 * 3600_000,
  windowMs: 15 * 60_000,
  baseLockMs: 1_000,
  maxLockMs: 15 * 60_000,
  delayMs: 1_000,
  trustMs: 30 * 24 * 3600_000,
};

export type ThrottleScope = 'source' | 'account-source' | 'network' | 'account';

export type ThrottleDecision = { action: 'allow' } | { action: 'delay'; delayMs: number; scope: ThrottleScope } | { action: 'refuse'; retryAfterMs: number; scope: ThrottleScope };

/** A sustained attack on one account, reported once per alert interval. */
export interface AttackAlert {
  account: string;
  failures: number;
  sources: number;
  lastSource: string;
  at: number;
}

export interface FailureOutcome {
  /** Failures of the account from all sources within the window. */
  accountFailures: number;
  /** Distinct sources among them. */
  sources: number;
  /** True once per alert interval when the account is under sustained attack. */
  alert: boolean;
}

interface Counter {
  times: number[];
  lockedUntil: number;
}

const MAX_KEYS = 100_000;

/** The source key: an IPv4 address, or the /64 of an IPv6 address. */
export function sourceKey(ip: string): string {
  const v = normalizeIp(ip);
  if (isIPv6(v)) return `${expandIPv6(v).slice(0, 4).join(':')}::/64`;
  return v;
}

/** The wider network: /24 (IPv4) or /48 (IPv6). */
export function networkKey(ip: string): string {
  const v = normalizeIp(ip);
  if (isIPv4(v)) return `${v.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(v)) return `${expandIPv6(v).slice(0, 3).join(':')}::/48`;
  return v;
}

function normalizeIp(ip: string): string {
  const s = String(ip ?? '')
    .trim()
    .toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  return mapped ? mapped[1]! : s || 'unknown';
}

function expandIPv6(ip: string): string[] {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return groups.map((g) => (g.includes('.') ? g : g.replace(/^0+(?=.)/, '') || '0'));
}

class FailureWindow {
  private readonly map = new Map<string, Counter>();

  constructor(private readonly opts: LoginThrottleOptions) {}

  count(key: string, now: number): number {
    const rec = this.map.get(key);
    return rec ? rec.times.filter((t) => now - t < this.opts.windowMs).length : 0;
  }

  lockedFor(key: string, now: number): number {
    const rec = this.map.get(key);
    return rec && rec.lockedUntil > now ? rec.lockedUntil - now : 0;
  }

  /** Records one failure; locks the key (back-off) once it reaches `limit`. Returns the count in the window. */
  add(key: string, now: number, limit: number): number {
    const rec = this.map.get(key) ?? { times: [], lockedUntil: 0 };
    rec.times = rec.times.filter((t) => now - t < this.opts.windowMs);
    rec.times.push(now);
    // Bounded memory per key: the limit's worth of history is all any decision needs.
    if (rec.times.length > 1000) rec.times.splice(0, rec.times.length - 1000);
    const excess = rec.times.length - limit;
    if (limit > 0 && excess >= 0) rec.lockedUntil = now + Math.min(this.opts.maxLockMs, this.opts.baseLockMs * 2 ** Math.min(excess, 30));
    this.map.delete(key);
    this.map.set(key, rec);
    if (this.map.size > MAX_KEYS) this.prune(now);
    return rec.times.length;
  }

  clear(key: string): void {
    this.map.delete(key);
  }

  private prune(now: number): void {
    for (const [k, rec] of this.map) {
      if (rec.lockedUntil < now && rec.times.every((t) => now - t >= this.opts.windowMs)) this.map.delete(k);
    }
    // Still too many (a flood of distinct keys): drop the oldest-touched.
    for (const k of this.map.keys()) {
      if (this.map.size <= MAX_KEYS * 0.9) break;
      this.map.delete(k);
    }
  }
}

/**
 * What the credential module and the session services ask (awaiting each answer): the in-memory
 * LoginThrottle below (one node) or the database-backed SharedLoginThrottle (a cluster,
 * login-throttle-shared.ts), so every node sees the same failures.
 */
export interface LoginGate {
  readonly opts: LoginThrottleOptions;
  onAttack: ((alert: AttackAlert) => void) | null;
  check(account: string, ip: string, now: number): ThrottleDecision | Promise<ThrottleDecision>;
  retryAfter(account: string, ip: string, now: number): number | Promise<number>;
  fail(account: string, ip: string, now: number): FailureOutcome | Promise<FailureOutcome>;
  succeed(account: string, ip: string, now: number): void | Promise<void>;
}

export class LoginThrottle implements LoginGate {
  readonly opts: LoginThrottleOptions;
  private readonly sources: FailureWindow;
  private readonly networks: FailureWindow;
  private readonly accountSources: FailureWindow;
  private readonly accounts: FailureWindow;
  /** account → source → last failure (distinct sources of an attack). */
  private readonly attackSources = new Map<string, Map<string, number>>();
  private readonly trusted = new Map<string, number>();
  private readonly alerted = new Map<string, number>();
  /** Told (never awaited) of a sustained attack; the appliance alerts the owner and tenant admins. */
  onAttack: ((alert: AttackAlert) => void) | null = null;

  constructor(opts: Partial<LoginThrottleOptions> = {}) {
    this.opts = { ...DEFAULT_THROTTLE, ...opts };
    this.sources = new FailureWindow(this.opts);
    this.networks = new FailureWindow(this.opts);
    this.accountSources = new FailureWindow(this.opts);
    this.accounts = new FailureWindow(this.opts);
  }

  /** What to do with a login attempt before the password is checked. */
  check(account: string, ip: string, now: number): ThrottleDecision {
    const acct = account.toLowerCase();
    const src = sourceKey(ip);
    const sourceLock = this.sources.lockedFor(src, now);
    if (sourceLock > 0) return { action: 'refuse', retryAfterMs: sourceLock, scope: 'source' };
    const pairLock = this.accountSources.lockedFor(`${acct}\u0000${src}`, now);
    if (pairLock > 0) return { action: 'refuse', retryAfterMs: pairLock, scope: 'account-source' };
    if (this.networks.count(networkKey(ip), now) >= this.opts.netFailures) return { action: 'delay', delayMs: this.opts.delayMs, scope: 'network' };
    if (this.accounts.count(acct, now) >= this.opts.accountDelayFailures && !this.isTrusted(acct, src, now)) {
      return { action: 'delay', delayMs: this.opts.delayMs, scope: 'account' };
    }
    return { action: 'allow' };
  }

  /** Milliseconds until this source may try this account again (0: now; delays are not refusals). */
  retryAfter(account: string, ip: string, now: number): number {
    const d = this.check(account, ip, now);
    return d.action === 'refuse' ? d.retryAfterMs : 0;
  }

  fail(account: string, ip: string, now: number): FailureOutcome {
    const acct = account.toLowerCase();
    const src = sourceKey(ip);
    this.sources.add(src, now, this.opts.ipFailures);
    this.networks.add(networkKey(ip), now, 0);
    this.accountSources.add(`${acct}\u0000${src}`, now, this.opts.accountFailures);
    const accountFailures = this.accounts.add(acct, now, 0);
    let srcs = this.attackSources.get(acct);
    if (!srcs) {
      srcs = new Map();
      this.attackSources.set(acct, srcs);
      if (this.attackSources.size > MAX_KEYS) this.attackSources.delete(this.attackSources.keys().next().value!);
    }
    srcs.delete(src);
    srcs.set(src, now);
    for (const [s, t] of srcs) {
      if (now - t < this.opts.windowMs && srcs.size <= 1000) break;
      srcs.delete(s);
    }
    let alert = false;
    if (accountFailures >= this.opts.alertFailures && now - (this.alerted.get(acct) ?? -Infinity) >= this.opts.alertIntervalMs) {
      alert = true;
      this.alerted.set(acct, now);
      if (this.alerted.size > MAX_KEYS) this.alerted.delete(this.alerted.keys().next().value!);
      try {
        this.onAttack?.({ account: acct, failures: accountFailures, sources: srcs.size, lastSource: src, at: now });
      } catch {
        /* an alert must never fail a login */
      }
    }
    return { accountFailures, sources: srcs.size, alert };
  }

  /**
   * A correct login: forgets only this account's failures from this source and remembers the
   * source as known-good for the account. The account's failures from elsewhere stay counted.
   */
  succeed(account: string, ip: string, now: number): void {
    const acct = account.toLowerCase();
    const src = sourceKey(ip);
    this.accountSources.clear(`${acct}\u0000${src}`);
    const key = `${acct}\u0000${src}`;
    this.trusted.delete(key);
    this.trusted.set(key, now + this.opts.trustMs);
    if (this.trusted.size > MAX_KEYS) this.trusted.delete(this.trusted.keys().next().value!);
  }

  private isTrusted(account: string, src: string, now: number): boolean {
    return (this.trusted.get(`${account}\u0000${src}`) ?? 0) > now;
  }
}

/**
 * At most `perWindow` log lines per key and window; the rest are counted and reported in the
 * next line that passes (`suppressed`). A throttled flood writes a few lines, not one per try.
 */
export class LogRateLimiter {
  private readonly windows = new Map<string, { start: number; n: number; suppressed: number }>();

  constructor(
    private readonly perWindow = 5,
    private readonly windowMs = 60_000,
  ) {}

  /** null: do not log this one; otherwise log, with the count suppressed since the last line. */
  admit(key: string, now: number): { suppressed: number } | null {
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      const suppressed = w?.suppressed ?? 0;
      w = { start: now, n: 0, suppressed: 0 };
      this.windows.delete(key);
      this.windows.set(key, w);
      if (this.windows.size > 10_000) this.windows.delete(this.windows.keys().next().value!);
      w.n++;
      return { suppressed };
    }
    if (w.n < this.perWindow) {
      w.n++;
      const suppressed = w.suppressed;
      w.suppressed = 0;
      return { suppressed };
    }
    w.suppressed++;
    return null;
  }
}
