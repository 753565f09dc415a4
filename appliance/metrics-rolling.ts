/**
 * Mail-flow counts per hour for the last 48 hours, kept in memory (lost on restart, like the
 * Prometheus counters next to them): the dashboard's "last hour / last day" figures and small
 * charts. Fed where metrics.ts counts the same events (local deliveries, outbound results, SMTP
 * rejections, failed logins). Local deliveries also count per tenant, the one series a tenant
 * can be told about; the others are the appliance's (platform) figures.
 */

export const MAIL_SERIES = ['delivered', 'deferred', 'bounced', 'local', 'rejected', 'authFailed'] as const;
export type MailSeries = (typeof MAIL_SERIES)[number];

const HOUR_MS = 3600_000;
/** Counts are kept in 5-minute slots: "the last hour" is the last 12 slots (the current one partly elapsed). */
const SLOT_MS = 5 * 60_000;
const KEEP_HOURS = 48;

interface Bucket {
  /** Start of the slot (epoch ms). */
  hour: number;
  counts: Record<MailSeries, number>;
  /** Local deliveries per tenant id. */
  local: Map<string, number>;
}

const zero = (): Record<MailSeries, number> => Object.fromEntries(MAIL_SERIES.map((s) => [s, 0])) as Record<MailSeries, number>;

export class RollingMailStats {
  private buckets: Bucket[] = [];

  constructor(private readonly clock: () => number = Date.now) {}

  private bucket(now: number): Bucket {
    const hour = Math.floor(now / SLOT_MS) * SLOT_MS;
    let last = this.buckets[this.buckets.length - 1];
    if (!last || last.hour !== hour) {
      last = { hour, counts: zero(), local: new Map() };
      this.buckets.push(last);
      const oldest = hour - KEEP_HOURS * HOUR_MS;
      while (this.buckets.length && this.buckets[0]!.hour < oldest) this.buckets.shift();
    }
    return last;
  }

  add(series: MailSeries, n = 1, tenantId?: string | null): void {
    if (!(n > 0)) return;
    const b = this.bucket(this.clock());
    b.counts[series] += n;
    if (series === 'local' && tenantId) b.local.set(tenantId, (b.local.get(tenantId) ?? 0) + n);
  }

  /**
   * The last `hours` clock-hour buckets (oldest first, the current hour last; hours without
   * events are zeros) and the sums over the last hour and the last 24 hours (to 5 minutes). `tenantId`: only that
   * tenant's local deliveries (the other series are not attributable to a tenant).
   */
  snapshot(opts: { hours?: number; tenantId?: string | null } = {}): {
    buckets: Array<{ start: number } & Partial<Record<MailSeries, number>>>;
    lastHour: Partial<Record<MailSeries, number>>;
    lastDay: Partial<Record<MailSeries, number>>;
  } {
    const hours = Math.min(Math.max(opts.hours ?? 24, 1), KEEP_HOURS);
    const now = this.clock();
    const current = Math.floor(now / HOUR_MS) * HOUR_MS;
    const tenant = opts.tenantId ?? null;
    const series: readonly MailSeries[] = tenant === null ? MAIL_SERIES : ['local'];
    const countsOf = (b: Bucket): Partial<Record<MailSeries, number>> => Object.fromEntries(series.map((s) => [s, tenant === null ? b.counts[s] : (b.local.get(tenant) ?? 0)]));
    const empty = (): Partial<Record<MailSeries, number>> => Object.fromEntries(series.map((s) => [s, 0]));
    const first = current - (hours - 1) * HOUR_MS;
    const buckets: Array<{ start: number } & Partial<Record<MailSeries, number>>> = [];
    for (let i = 0; i < hours; i++) buckets.push({ start: first + i * HOUR_MS, ...empty() });
    const lastHour = empty();
    const lastDay = empty();
    const slotNow = Math.floor(now / SLOT_MS) * SLOT_MS;
    for (const b of this.buckets) {
      const c = countsOf(b);
      const add = (into: Partial<Record<MailSeries, number>>) => {
        for (const s of series) into[s] = (into[s] ?? 0) + (c[s] ?? 0);
      };
      const i = Math.floor((b.hour - first) / HOUR_MS);
      if (i >= 0 && i < hours) add(buckets[i]!);
      if (b.hour > slotNow - HOUR_MS) add(lastHour);
      if (b.hour > slotNow - 24 * HOUR_MS) add(lastDay);
    }
    return { buckets, lastHour, lastDay };
  }

  /** Tests. */
  reset(): void {
    this.buckets = [];
  }
}

/** The appliance's one instance (the control plane reads it in the same process). */
export const mailStats = new RollingMailStats();
