/**
 * The login throttle of a cluster (issue 17): the same rules as LoginThrottle (login-throttle.ts:
 * per source, per account from a source, per wider network, per account; back-off locks; trust
 * of a source after a success; attack alerts), with the counts in the shared database
 * (`rate_windows`), so failures through any node add up to one throttle.
 *
 * Cost per attempt: check() is one read of the five keys; a failure is one multi-row upsert that
 * returns the new counts (plus one write when a lock starts, and a count of sources when an
 * attack alert is due); a success writes nothing when the source is already trusted and had no
 * failures (the check's read is remembered for a few seconds), else one or two small writes.
 * Counts are sliding-window estimates (this window's count plus the previous one's, weighted),
 * not exact timestamps: within one window they are exact.
 */
import type { Executor } from '../../db/repos/index.js';
import { repos } from '../../db/repos/index.js';
import { slidingCount, type RateWindow } from '../../db/repos/rate-windows.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { type AttackAlert, DEFAULT_THROTTLE, type FailureOutcome, type LoginGate, type LoginThrottleOptions, networkKey, sourceKey, type ThrottleDecision } from './login-throttle.js';

const MEMO_MS = 10_000;

interface Keys {
  src: string;
  net: string;
  pair: string;
  acct: string;
  trust: string;
}

function keysOf(account: string, ip: string): Keys {
  const acct = account.toLowerCase();
  const src = sourceKey(ip);
  return { src: `l:s:${src}`, net: `l:n:${networkKey(ip)}`, pair: `l:p:${acct}\n${src}`, acct: `l:a:${acct}`, trust: `l:t:${acct}\n${src}` };
}

export class SharedLoginThrottle implements LoginGate {
  readonly opts: LoginThrottleOptions;
  onAttack: ((alert: AttackAlert) => void) | null = null;
  /** What the last check saw of a pair (so a success skips writes it does not need). */
  private readonly memo = new Map<string, { at: number; pairFailures: boolean; trustedUntil: number }>();

  constructor(
    private readonly db: Executor,
    opts: Partial<LoginThrottleOptions> = {},
  ) {
    this.opts = { ...DEFAULT_THROTTLE, ...opts };
  }

  private get windows() {
    return repos(this.db, PLATFORM_SCOPE).rateWindows;
  }

  private windowStart(now: number): number {
    return Math.floor(now / this.opts.windowMs) * this.opts.windowMs;
  }

  private count(row: RateWindow | undefined, now: number): number {
    return Math.round(slidingCount(row, now, this.opts.windowMs));
  }

  async check(account: string, ip: string, now: number): Promise<ThrottleDecision> {
    const k = keysOf(account, ip);
    const rows = new Map((await this.windows.read([k.src, k.pair, k.net, k.acct, k.trust])).map((r) => [r.key, r]));
    const trustedUntil = rows.get(k.trust)?.until ?? 0;
    this.remember(k.pair, { at: now, pairFailures: rows.has(k.pair), trustedUntil });
    const sourceLock = (rows.get(k.src)?.until ?? 0) - now;
    if (sourceLock > 0) return { action: 'refuse', retryAfterMs: sourceLock, scope: 'source' };
    const pairLock = (rows.get(k.pair)?.until ?? 0) - now;
    if (pairLock > 0) return { action: 'refuse', retryAfterMs: pairLock, scope: 'account-source' };
    if (this.count(rows.get(k.net), now) >= this.opts.netFailures) return { action: 'delay', delayMs: this.opts.delayMs, scope: 'network' };
    if (this.count(rows.get(k.acct), now) >= this.opts.accountDelayFailures && trustedUntil <= now) return { action: 'delay', delayMs: this.opts.delayMs, scope: 'account' };
    return { action: 'allow' };
  }

  async retryAfter(account: string, ip: string, now: number): Promise<number> {
    const d = await this.check(account, ip, now);
    return d.action === 'refuse' ? d.retryAfterMs : 0;
  }

  async fail(account: string, ip: string, now: number): Promise<FailureOutcome> {
    const k = keysOf(account, ip);
    const w = this.windows;
    const start = this.windowStart(now);
    const rows = new Map(
      (
        await w.add(
          [k.src, k.net, k.pair, k.acct].map((key) => ({ key, n: 1 })),
          start,
          this.opts.windowMs,
        )
      ).map((r) => [r.key, r]),
    );
    this.memo.delete(k.pair);
    // Back-off locks, as LoginThrottle: base * 2^(failures - limit), at most maxLockMs.
    for (const [key, limit] of [
      [k.src, this.opts.ipFailures],
      [k.pair, this.opts.accountFailures],
    ] as const) {
      const excess = this.count(rows.get(key), now) - limit;
      if (excess >= 0) await w.setUntil(key, now + Math.min(this.opts.maxLockMs, this.opts.baseLockMs * 2 ** Math.min(excess, 30)), start);
    }
    const accountFailures = this.count(rows.get(k.acct), now);
    if (accountFailures < this.opts.alertFailures) return { accountFailures, sources: 1, alert: false };
    // An attack: once per alert interval across the cluster (the alert key's deadline).
    const alertKey = `l:alert:${account.toLowerCase()}`;
    const [alerted] = await w.read([alertKey]);
    const sources = await w.countPrefix(`l:p:${account.toLowerCase()}\n`, start - this.opts.windowMs);
    if (alerted && alerted.until > now) return { accountFailures, sources, alert: false };
    await w.setUntil(alertKey, now + this.opts.alertIntervalMs, start);
    try {
      this.onAttack?.({ account: account.toLowerCase(), failures: accountFailures, sources, lastSource: sourceKey(ip), at: now });
    } catch {
      /* an alert must never fail a login */
    }
    return { accountFailures, sources, alert: true };
  }

  async succeed(account: string, ip: string, now: number): Promise<void> {
    const k = keysOf(account, ip);
    const seen = this.memo.get(k.pair);
    const fresh = seen && now - seen.at < MEMO_MS;
    if (!fresh || seen.pairFailures) await this.windows.clear([k.pair]);
    // Trust is renewed when less than half of it is left (not on every login).
    if (!fresh || seen.trustedUntil - now < this.opts.trustMs / 2) await this.windows.setUntil(k.trust, now + this.opts.trustMs, this.windowStart(now));
    this.memo.delete(k.pair);
  }

  private remember(pair: string, v: { at: number; pairFailures: boolean; trustedUntil: number }): void {
    this.memo.delete(pair);
    this.memo.set(pair, v);
    if (this.memo.size > 10_000) this.memo.delete(this.memo.keys().next().value!);
  }
}
