/**
 * A rate limit for noisy log lines (failed and throttled logins): per event, at most `burst`
 * lines at once and `perSecond` on average (a token bucket). Lines left out are counted in
 * metrics and summarised in one line (`imap.log.suppressed`, with the count) when logging
 * resumes, so an attacker cannot fill the disk through the log while operators still see
 * that it happens.
 */
import type { Logger } from '../logger.js';
import { countImapLogSuppressed } from '../metrics.js';

export class LogLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly perSecond = 10,
    private readonly burst = 50,
  ) {}

  /** True when a line for `event` may be written now. */
  allow(event: string, now = Date.now()): boolean {
    let b = this.buckets.get(event);
    if (!b) {
      if (this.buckets.size > 100) this.buckets.clear();
      b = { tokens: this.burst, at: now, suppressed: 0 };
      this.buckets.set(event, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (b.tokens < 1) {
      b.suppressed++;
      countImapLogSuppressed(event, 1);
      return false;
    }
    b.tokens -= 1;
    if (b.suppressed) {
      this.logger.warn({ event: 'imap.log.suppressed', suppressedEvent: event, lines: b.suppressed }, 'log lines suppressed by the rate limit');
      b.suppressed = 0;
    }
    return true;
  }
}
