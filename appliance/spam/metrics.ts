/**
 * Spam metrics (in the appliance's one registry) and the hourly spam counts of the dashboard.
 * Scan outcomes arrive from the Haraka child with each decision (`spam.result`; the connection
 * checks come in its periodic metrics report, see appliance/metrics.ts); the counts are kept per tenant (a tenant sees its own)
 * and for the whole appliance, in memory like the other mail-flow figures.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../metrics.js';

export const SPAM_SERIES = ['scanned', 'junked', 'rejected', 'greylisted', 'unscanned'] as const;
export type SpamSeries = (typeof SPAM_SERIES)[number];
export type ScanOutcome = 'clean' | 'junk' | 'reject' | 'greylist' | 'block' | 'unscanned' | 'tempfail';

const scans = new Counter({
  name: 'postern_spam_scans_total',
  help: 'Messages scanned by rspamd, by direction, outcome (clean, junk, reject, greylist, block, unscanned, tempfail) and tenant.',
  labelNames: ['direction', 'outcome', 'tenant'],
  registers: [registry],
});
const scanSeconds = new Histogram({
  name: 'postern_spam_scan_seconds',
  help: 'Time of one rspamd scan as seen by the MTA.',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});
const learns = new Counter({
  name: 'postern_spam_learns_total',
  help: 'Messages taught to rspamd from users moving mail into or out of Junk, by class and result.',
  labelNames: ['class', 'result', 'tenant'],
  registers: [registry],
});
export const scannerUp = new Gauge({
  name: 'postern_spam_scanner_up',
  help: '1 when the process (rspamd, redis) runs and answers; 0 when down or not installed (inbound mail unscanned).',
  labelNames: ['process'],
  registers: [registry],
});
export const scannerRestarts = new Counter({
  name: 'postern_spam_scanner_restarts_total',
  help: 'Restarts of rspamd or redis by the supervisor after a crash.',
  labelNames: ['process'],
  registers: [registry],
});

export function countLearn(kind: 'spam' | 'ham', result: 'ok' | 'error', tenantId: string): void {
  learns.inc({ class: kind, result, tenant: tenantId });
}

const HOUR_MS = 3600_000;
const KEEP_HOURS = 48;

type Counts = Record<SpamSeries, number>;
const zero = (): Counts => Object.fromEntries(SPAM_SERIES.map((s) => [s, 0])) as Counts;

/** Hourly spam counts, per tenant and in total, for the last 48 hours. */
export class RollingSpamStats {
  private readonly hours = new Map<number, { total: Counts; tenants: Map<string, Counts> }>();

  constructor(private readonly clock: () => number = Date.now) {}

  add(series: SpamSeries, tenantId: string | null): void {
    const hour = Math.floor(this.clock() / HOUR_MS) * HOUR_MS;
    let b = this.hours.get(hour);
    if (!b) {
      this.hours.set(hour, (b = { total: zero(), tenants: new Map() }));
      for (const h of this.hours.keys()) if (h < hour - KEEP_HOURS * HOUR_MS) this.hours.delete(h);
    }
    b.total[series]++;
    if (tenantId) {
      let t = b.tenants.get(tenantId);
      if (!t) b.tenants.set(tenantId, (t = zero()));
      t[series]++;
    }
  }

  /** Oldest first, the current hour last; `tenantId` null: the appliance's totals. */
  snapshot(opts: { hours?: number; tenantId?: string | null }): { hours: Array<{ start: number; counts: Counts }>; lastHour: Counts; lastDay: Counts } {
    const n = Math.min(Math.max(opts.hours ?? 24, 1), KEEP_HOURS);
    const current = Math.floor(this.clock() / HOUR_MS) * HOUR_MS;
    const hours: Array<{ start: number; counts: Counts }> = [];
    const lastDay = zero();
    for (let i = n - 1; i >= 0; i--) {
      const start = current - i * HOUR_MS;
      const b = this.hours.get(start);
      const c = { ...(b ? (opts.tenantId ? (b.tenants.get(opts.tenantId) ?? zero()) : b.total) : zero()) };
      hours.push({ start, counts: c });
    }
    for (let i = 0; i < 24; i++) {
      const b = this.hours.get(current - i * HOUR_MS);
      const c = b ? (opts.tenantId ? b.tenants.get(opts.tenantId) : b.total) : undefined;
      if (c) for (const s of SPAM_SERIES) lastDay[s] += c[s];
    }
    return { hours, lastHour: { ...hours[hours.length - 1]!.counts }, lastDay };
  }
}

export const spamStats = new RollingSpamStats();

/** One scan decision from the MTA: metrics and the dashboard's counts. */
export function recordScan(r: { direction: 'inbound' | 'outbound'; outcome: ScanOutcome; tenantId: string | null; seconds: number | null }): void {
  scans.inc({ direction: r.direction, outcome: r.outcome, tenant: r.tenantId ?? '' });
  if (r.seconds !== null && r.seconds >= 0) scanSeconds.observe(r.seconds);
  if (r.direction !== 'inbound') return;
  if (r.outcome === 'unscanned' || r.outcome === 'tempfail') {
    spamStats.add('unscanned', r.tenantId);
    return;
  }
  if (r.outcome === 'greylist') {
    spamStats.add('greylisted', r.tenantId);
    return;
  }
  if (r.outcome === 'block') {
    spamStats.add('rejected', r.tenantId);
    return;
  }
  spamStats.add('scanned', r.tenantId);
  if (r.outcome === 'junk') spamStats.add('junked', r.tenantId);
  if (r.outcome === 'reject') spamStats.add('rejected', r.tenantId);
}
