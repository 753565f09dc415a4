/**
 * Login throttling for the console (principals and mailbox owners), per account and per client
 * IP: after `accountFailures` (or `ipFailures`) failures within the window, logins are refused
 * for base·2^(excess) ms, capped. In memory: one appliance process serves the console.
 */
export interface LoginThrottleOptions {
  accountFailures: number;
  ipFailures: number;
  windowMs: number;
  baseLockMs: number;
  maxLockMs: number;
}

const DEFAULTS: LoginThrottleOptions = { accountFailures: 5, ipFailures: 20, windowMs: 15 * 60_000, baseLockMs: 1_000, maxLockMs: 15 * 60_000 };

interface Record_ {
  times: number[];
  lockedUntil: number;
}

export class LoginThrottle {
  private readonly opts: LoginThrottleOptions;
  private readonly accounts = new Map<string, Record_>();
  private readonly ips = new Map<string, Record_>();

  constructor(opts: Partial<LoginThrottleOptions> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Milliseconds until a login for this account from this IP may be tried (0: now). */
  retryAfter(account: string, ip: string, now: number): number {
    const a = this.accounts.get(account.toLowerCase());
    const i = this.ips.get(ip);
    return Math.max(0, (a?.lockedUntil ?? 0) - now, (i?.lockedUntil ?? 0) - now);
  }

  fail(account: string, ip: string, now: number): void {
    this.bump(this.accounts, account.toLowerCase(), this.opts.accountFailures, now);
    this.bump(this.ips, ip, this.opts.ipFailures, now);
  }

  succeed(account: string): void {
    this.accounts.delete(account.toLowerCase());
  }

  private bump(map: Map<string, Record_>, key: string, limit: number, now: number): void {
    const rec = map.get(key) ?? { times: [], lockedUntil: 0 };
    rec.times = rec.times.filter((t) => now - t < this.opts.windowMs);
    rec.times.push(now);
    const excess = rec.times.length - limit;
    if (excess >= 0) rec.lockedUntil = now + Math.min(this.opts.maxLockMs, this.opts.baseLockMs * 2 ** excess);
    map.set(key, rec);
    if (map.size > 100_000) {
      for (const [k, r] of map) if (r.lockedUntil < now && r.times.every((t) => now - t >= this.opts.windowMs)) map.delete(k);
    }
  }
}
