/**
 * Mail-flow figures for the dashboard: deliveries, deferrals, bounces, SMTP rejections and
 * failed logins in the last hour and day, and per hour. The counts come from the appliance's
 * in-memory rolling counter (metrics-rolling.ts), handed in as a source. A platform actor sees
 * the appliance's figures; a tenant actor only what is attributable to its tenant (mailbox
 * copies stored for its mailboxes), never the appliance-wide ones.
 */
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { repos } from '../../db/repos/index.js';
import { iso } from '../kernel/util.js';

type Counts = Record<string, number | undefined>;

export interface MailStatsSource {
  snapshot(opts: { hours?: number; tenantId?: string | null }): { buckets: Array<{ start: number } & Counts>; lastHour: Counts; lastDay: Counts };
  /** Spam counts (scanned, junked, rejected, greylisted, unscanned) per hour; a tenant's own or the appliance's. */
  spam?(opts: { hours?: number; tenantId?: string | null }): { hours: Array<{ start: number; counts: Counts }>; lastHour: Counts; lastDay: Counts };
}

export interface MailStatsView {
  scope: 'platform' | 'tenant';
  tenantId: string | null;
  /** The series present in this answer (a tenant: `local` only). */
  series: string[];
  lastHour: Record<string, number>;
  lastDay: Record<string, number>;
  /** Oldest first; the current (partial) hour last. */
  hours: Array<{ start: string; counts: Record<string, number> }>;
  /** The counts live in memory: they start again at zero when the appliance restarts. */
  since: 'appliance-start';
  /** Spam decisions (issue 15): the tenant's own when the caller is a tenant. */
  spam?: { lastHour: Record<string, number>; lastDay: Record<string, number>; hours: Array<{ start: string; counts: Record<string, number> }> };
}

const clean = (c: Counts): Record<string, number> => Object.fromEntries(Object.entries(c).filter(([k, v]) => k !== 'start' && typeof v === 'number')) as Record<string, number>;

export async function mailFlowStats(actor: Actor, deps: CoreDeps, source: MailStatsSource, opts: { tenantId?: string; hours?: number } = {}): Promise<MailStatsView> {
  authorize(actor, 'mailflow.read');
  if (opts.tenantId !== undefined) await repos(deps.db, scopeOf(actor)).stats.existingTenantId(opts.tenantId);
  const tenantId = actor.tenantId ?? opts.tenantId ?? null;
  const snap = source.snapshot({ hours: opts.hours ?? 24, tenantId });
  const lastHour = clean(snap.lastHour);
  return {
    scope: tenantId === null ? 'platform' : 'tenant',
    tenantId,
    series: Object.keys(lastHour),
    lastHour,
    lastDay: clean(snap.lastDay),
    hours: snap.buckets.map((b) => ({ start: iso(b.start)!, counts: clean(b) })),
    since: 'appliance-start',
    ...(source.spam ? { spam: spamView(source.spam({ hours: opts.hours ?? 24, tenantId })) } : {}),
  };
}

function spamView(s: ReturnType<NonNullable<MailStatsSource['spam']>>): NonNullable<MailStatsView['spam']> {
  return { lastHour: clean(s.lastHour), lastDay: clean(s.lastDay), hours: s.hours.map((h) => ({ start: iso(h.start)!, counts: clean(h.counts) })) };
}
