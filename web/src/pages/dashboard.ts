/**
 * Dashboard: component health from /readyz, audit chain status, domains awaiting DNS
 * verification, and the latest audit events. Metrics appear once the appliance exposes them.
 */
import { ApiError, get, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { can, isOperator, ownTenant, session } from '../lib/session.js';
import { fetchMetrics, max, type Sample, sum } from '../lib/metrics.js';
import type { AuditEvent, Domain, Readiness, Tenant } from '../lib/types.js';
import { emergencyResets } from './resets.js';
import { mailStatsCard } from './mailflow.js';
import { spamStatsCard } from './spam.js';
import { alertBox, badge, fmtDate, section, table } from '../lib/ui.js';

async function readiness(): Promise<Readiness> {
  const res = await fetch('/readyz', { headers: { accept: 'application/json' } });
  return (await res.json()) as Readiness;
}

function healthCard(r: Readiness | Error): HTMLElement {
  if (r instanceof Error) return section('Health', alertBox(r));
  return section(
    'Health',
    h('p', null, 'Appliance: ', badge(r.status, r.status === 'ready' ? 'ok' : 'bad')),
    h(
      'ul',
      { class: 'health-list' },
      // ok with a detail: working, with something to know (e.g. spam: inbound mail unscanned).
      Object.entries(r.components).map(([name, c]) => h('li', null, badge(c.ok ? (c.detail ? 'attention' : 'ok') : 'failing', c.ok ? (c.detail ? 'warn' : 'ok') : 'bad'), ' ', h('strong', null, name), c.detail ? h('span', { class: 'muted' }, ` — ${c.detail}`) : null)),
    ),
  );
}

const SERIES: Array<{ key: string; label: string; read: (s: Sample[]) => number | null }> = [
  { key: 'delivered', label: 'Delivered', read: (s) => sum(s, 'postern_outbound_results_total', (l) => l.result === 'delivered') },
  { key: 'bounced', label: 'Bounced', read: (s) => sum(s, 'postern_outbound_results_total', (l) => l.result === 'bounced') },
  { key: 'rejected', label: 'SMTP rejections', read: (s) => sum(s, 'postern_smtp_rejections_total') },
  { key: 'authfail', label: 'Failed logins', read: (s) => sum(s, 'postern_auth_attempts_total', (l) => l.result !== 'success') },
];

/** Counts per sampling interval while the dashboard is open (the appliance keeps totals since start, not history). */
const history: Array<{ at: number; values: Record<string, number | null> }> = [];

function sparkline(points: number[], label: string): SVGElement {
  const w = 120;
  const hgt = 28;
  const top = Math.max(1, ...points);
  const step = points.length > 1 ? w / (points.length - 1) : w;
  const coords = points.map((p, i) => `${(i * step).toFixed(1)},${(hgt - (p / top) * (hgt - 2) - 1).toFixed(1)}`).join(' ');
  return h('svg', { viewBox: `0 0 ${w} ${hgt}`, class: 'spark', role: 'img', 'aria-label': label }, h('polyline', { points: coords || `0,${hgt - 1} ${w},${hgt - 1}`, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 })) as SVGElement;
}

const fmtAge = (s: number | null) => (s === null ? '—' : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);
// A labelled counter has no series until it first counts: the endpoint answered, so that is 0.
const n = (v: number | null) => String(Math.round(v ?? 0));

async function metricsCard(): Promise<HTMLElement> {
  const m = await fetchMetrics();
  if (!m.ok) return section('Mail flow', h('p', { class: 'muted' }, m.reason));
  const s = m.samples;
  const now = Date.now();
  history.push({ at: now, values: Object.fromEntries(SERIES.map((x) => [x.key, x.read(s)])) });
  if (history.length > 120) history.shift();
  const deltas = (key: string) => history.slice(1).map((p, i) => Math.max(0, (p.values[key] ?? 0) - (history[i]!.values[key] ?? 0)));
  const dns = s.filter((x) => x.name === 'postern_dns_check_status' && x.value === 1);
  const dnsBad = dns.filter((x) => x.labels.status && x.labels.status !== 'ok');
  const mtaUp = max(s, 'postern_mta_up');
  return section(
    'Mail flow',
    h(
      'dl',
      { class: 'tiles', 'data-testid': 'metrics' },
      h('div', null, h('dt', null, 'Outbound queue'), h('dd', null, n(sum(s, 'postern_outbound_queue_messages')), h('span', { class: 'muted' }, ` · oldest ${fmtAge(max(s, 'postern_outbound_queue_oldest_age_seconds'))}`))),
      h('div', null, h('dt', null, 'MTA'), h('dd', null, mtaUp === null ? '—' : badge(mtaUp === 1 ? 'up' : 'down', mtaUp === 1 ? 'ok' : 'bad'))),
      h('div', null, h('dt', null, 'Accepted (SMTP)'), h('dd', null, n(sum(s, 'postern_smtp_messages_accepted_total')))),
      SERIES.map((x) => h('div', null, h('dt', null, x.label), h('dd', null, n(x.read(s)), history.length > 2 ? sparkline(deltas(x.key), `${x.label} per 15 seconds since this page opened`) : null))),
      h('div', null, h('dt', null, 'Open sessions'), h('dd', null, `IMAP ${n(sum(s, 'postern_imap_sessions'))} · SMTP ${n(sum(s, 'postern_smtp_sessions'))}`)),
      h('div', null, h('dt', null, 'Domains with DNS problems'), h('dd', null, String(dnsBad.length), dnsBad.length ? h('span', { class: 'muted' }, ` (${dnsBad.map((x) => x.labels.domain ?? '?').slice(0, 5).join(', ')})`) : null)),
    ),
    h('p', { class: 'muted small' }, 'Totals since the appliance started; the small charts show the change every 15 seconds while this page is open.'),
  );
}

async function auditCard(): Promise<HTMLElement> {
  try {
    let total: number | null = null;
    let chain: HTMLElement | null = null;
    if (can('audit.verify')) {
      const v = await get<{ ok: boolean; events: number; firstBadEventId?: number }>('/api/v1/audit/verify');
      total = v.events;
      chain = h('p', null, 'Audit chain: ', v.ok ? badge('verified', 'ok') : badge(`broken at event ${v.firstBadEventId}`, 'bad'), ` · ${v.events} events`);
    }
    const query: Record<string, string> = { limit: '10' };
    if (total !== null && isOperator()) query.after = String(Math.max(0, total - 10));
    const events = await get<AuditEvent[]>('/api/v1/audit/events', query);
    const card = section(
      'Recent changes',
      chain,
      table(
        [
          { label: 'When', cell: (e) => fmtDate(e.at) },
          { label: 'Action', cell: (e) => h('code', null, e.action) },
          { label: 'Target', cell: (e) => `${e.target.type} ${e.target.id ?? ''}` },
          { label: 'Actor', cell: (e) => `${e.actor.type} ${e.actor.id ?? ''}` },
        ],
        events.slice(-10).reverse(),
        'Recent audit events',
      ),
      h('p', null, h('a', { href: '/audit' }, 'Open the audit log')),
    );
    card.classList.add('wide');
    return card;
  } catch (err) {
    return section('Recent changes', alertBox(err));
  }
}

async function domainsCard(): Promise<HTMLElement> {
  try {
    const tenants = isOperator() ? await get<Tenant[]>('/api/v1/tenants', { limit: '50' }) : [{ id: ownTenant()!, name: '' } as Tenant];
    const pending: Array<Domain & { tenantName: string }> = [];
    for (const t of tenants) {
      const ds = await get<Domain[]>(`/api/v1/tenants/${seg(t.id)}/domains`, { verification: 'pending', limit: '20' });
      for (const d of ds) pending.push({ ...d, tenantName: t.name });
      if (pending.length >= 20) break;
    }
    return section(
      'Domains awaiting DNS verification',
      table(
        [
          { label: 'Domain', cell: (d) => h('a', { href: `/domains/${seg(d.id)}` }, d.name) },
          { label: 'Tenant', cell: (d) => d.tenantName || d.tenantId },
          { label: 'Status', cell: (d) => badge(d.verification) },
        ],
        pending,
        'Domains awaiting verification',
        'Every domain is verified.',
      ),
    );
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return h('span');
    return section('Domains awaiting DNS verification', alertBox(err));
  }
}

async function approvalsCard(): Promise<HTMLElement | null> {
  if (!can('resets.approve') || !can('mailboxes.read')) return null;
  try {
    const pending = await emergencyResets('pending-approval');
    return section('Pending approvals', h('p', null, pending.length ? badge(`${pending.length} emergency reset${pending.length === 1 ? '' : 's'} waiting`, 'warn') : badge('nothing waiting', 'ok')), h('p', null, h('a', { href: '/approvals' }, 'Open the approvals queue')));
  } catch (err) {
    return section('Pending approvals', alertBox(err));
  }
}

export async function dashboardPage(): Promise<Node> {
  const p = session.info?.principal;
  const [ready, metrics, audit, domains, approvals, flow, spam] = await Promise.all([
    readiness().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
    metricsCard(),
    can('audit.read') ? auditCard() : Promise.resolve(null),
    can('domains.read') ? domainsCard() : Promise.resolve(null),
    approvalsCard(),
    mailStatsCard(),
    spamStatsCard(),
  ]);
  const metricsSlot = h('div', { class: 'slot' }, metrics);
  const root = h('div', null, h('h1', null, 'Dashboard'), h('p', { class: 'muted' }, `Welcome, ${p?.name ?? ''}.`), h('div', { class: 'grid' }, healthCard(ready), metricsSlot, flow, spam, domains, approvals, audit));
  const tick = () =>
    setTimeout(async () => {
      if (!root.isConnected) return;
      replace(metricsSlot, await metricsCard());
      tick();
    }, 15_000);
  tick();
  return root;
}
