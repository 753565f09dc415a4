/**
 * Dashboard: component health from /readyz, audit chain status, domains awaiting DNS
 * verification, and the latest audit events. Metrics appear once the appliance exposes them.
 */
import { ApiError, get, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { can, isOperator, ownTenant, session } from '../lib/session.js';
import { fetchMetrics, max, sum } from '../lib/metrics.js';
import type { AuditEvent, Domain, Readiness, Tenant } from '../lib/types.js';
import { emergencyResets } from './resets.js';
import { mailStatsTiles } from './mailflow.js';
import { actorOf, targetOf, tenantOf } from '../lib/names.js';
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
      Object.entries(r.components).map(([name, c]) =>
        h(
          'li',
          null,
          badge(c.ok ? (c.detail ? 'attention' : 'ok') : 'failing', c.ok ? (c.detail ? 'warn' : 'ok') : 'bad'),
          ' ',
          h('strong', null, name),
          c.detail ? h('span', { class: 'muted' }, ` — ${c.detail}`) : null,
        ),
      ),
    ),
  );
}

const fmtAge = (s: number | null) => (s === null ? '—' : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);
// A labelled counter has no series until it first counts: the endpoint answered, so that is 0.
const n = (v: number | null) => String(Math.round(v ?? 0));

/**
 * One mail-flow card: what is happening now (queue, MTA, open sessions, from /metrics) and the
 * last hour / 24 hours per series with hourly bars (/api/v1/stats/mail).
 */
async function mailFlowCard(): Promise<HTMLElement | null> {
  const [m, stats] = await Promise.all([fetchMetrics(), mailStatsTiles()]);
  const title = stats && 'scope' in stats && stats.scope === 'tenant' ? 'Your mail' : 'Mail flow';
  let now: HTMLElement | null = null;
  if (m.ok) {
    const s = m.samples;
    const mtaUp = max(s, 'postern_mta_up');
    now = h(
      'dl',
      { class: 'tiles', 'data-testid': 'metrics' },
      h(
        'div',
        null,
        h('dt', null, 'Outbound queue'),
        h(
          'dd',
          null,
          n(sum(s, 'postern_outbound_queue_messages')),
          h('span', { class: 'muted' }, ` · oldest ${fmtAge(max(s, 'postern_outbound_queue_oldest_age_seconds'))}`),
          ' ',
          h('a', { href: '/queue', class: 'small' }, 'open the queue'),
        ),
      ),
      h('div', null, h('dt', null, 'MTA'), h('dd', null, mtaUp === null ? '—' : badge(mtaUp === 1 ? 'up' : 'down', mtaUp === 1 ? 'ok' : 'bad'))),
      h('div', null, h('dt', null, 'Open sessions'), h('dd', null, `IMAP ${n(sum(s, 'postern_imap_sessions'))} · SMTP ${n(sum(s, 'postern_smtp_sessions'))}`)),
    );
  }
  if (!now && !stats) return section(title, h('p', { class: 'muted' }, m.ok ? '' : m.reason));
  const card = section(title, now, stats === null ? null : 'error' in stats ? alertBox(stats.error) : [stats.tiles, stats.note], !m.ok && stats ? h('p', { class: 'muted small' }, m.reason) : null);
  card.classList.add('wide');
  return card;
}

/** DNS state of every live domain from the last check (the metrics carry it); never-checked ones are not problems. */
function dnsSummary(m: Awaited<ReturnType<typeof fetchMetrics>>): HTMLElement | null {
  if (!m.ok) return null;
  const dns = m.samples.filter((x) => x.name === 'postern_dns_check_status' && x.value === 1);
  const bad = dns.filter((x) => x.labels.status === 'failing' || x.labels.status === 'degraded');
  const unchecked = dns.filter((x) => x.labels.status === 'unknown');
  const names = (xs: typeof dns) =>
    xs
      .map((x) => x.labels.domain ?? '?')
      .slice(0, 5)
      .join(', ');
  return h(
    'p',
    { 'data-testid': 'dns-summary' },
    'DNS: ',
    bad.length ? badge(`${bad.length} with problems`, 'bad') : badge('no problems found', 'ok'),
    bad.length ? h('span', { class: 'muted' }, ` (${names(bad)})`) : null,
    unchecked.length ? [' · ', badge(`${unchecked.length} not checked yet`, 'info'), h('span', { class: 'muted' }, ` (${names(unchecked)})`)] : null,
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
          { label: 'When', cell: (e) => fmtDate(e.at), class: 'nowrap' },
          { label: 'Action', cell: (e) => h('code', null, e.action) },
          { label: 'Target', cell: (e) => targetOf(e) },
          { label: 'Actor', cell: (e) => actorOf(e) },
          ...(isOperator() ? [{ label: 'Tenant', cell: (e: AuditEvent) => tenantOf(e) }] : []),
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
    const lastCheck = new Map<string, { status: string; checkedAt: string } | null>();
    await Promise.all(
      pending.map(async (d) => {
        const hist = await get<{ snapshots: Array<{ status: string; checkedAt: string }> }>(`/api/v1/domains/${seg(d.id)}/dns/history`, { limit: '1' }).catch(() => null);
        lastCheck.set(d.id, hist?.snapshots[0] ?? null);
      }),
    );
    return section(
      'Domains awaiting DNS verification',
      // Appliance-wide DNS state (every tenant's domains): operators only.
      isOperator() ? dnsSummary(await fetchMetrics()) : null,
      table(
        [
          { label: 'Domain', cell: (d) => h('a', { href: `/domains/${seg(d.id)}` }, d.name) },
          ...(isOperator() ? [{ label: 'Tenant', cell: (d: Domain & { tenantName: string }) => d.tenantName }] : []),
          {
            label: 'Last DNS check',
            cell: (d) => {
              const c = lastCheck.get(d.id);
              return c ? [badge(c.status), h('span', { class: 'muted small nowrap' }, ` ${fmtDate(c.checkedAt)}`)] : badge('not checked yet', 'info');
            },
          },
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
    return section(
      'Pending approvals',
      h('p', null, pending.length ? badge(`${pending.length} emergency reset${pending.length === 1 ? '' : 's'} waiting`, 'warn') : badge('nothing waiting', 'ok')),
      h('p', null, h('a', { href: '/approvals' }, 'Open the approvals queue')),
    );
  } catch (err) {
    return section('Pending approvals', alertBox(err));
  }
}

export async function dashboardPage(): Promise<Node> {
  const p = session.info?.principal;
  const [ready, flow, audit, domains, approvals, spam] = await Promise.all([
    readiness().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
    mailFlowCard(),
    can('audit.read') ? auditCard() : Promise.resolve(null),
    can('domains.read') ? domainsCard() : Promise.resolve(null),
    approvalsCard(),
    spamStatsCard(),
  ]);
  const flowSlot = h('div', { class: 'slot wide' }, flow);
  const root = h(
    'div',
    null,
    h('h1', null, 'Dashboard'),
    h('p', { class: 'muted' }, `Welcome, ${p?.name ?? ''}.`),
    h('div', { class: 'grid' }, healthCard(ready), domains, approvals, flowSlot, spam, audit),
  );
  const tick = () =>
    setTimeout(async () => {
      if (!root.isConnected) return;
      replace(flowSlot, await mailFlowCard());
      tick();
    }, 15_000);
  tick();
  return root;
}
