/**
 * Dashboard: component health from /readyz, audit chain status, domains awaiting DNS
 * verification, and the latest audit events. Metrics appear once the appliance exposes them.
 */
import { ApiError, get, seg } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { can, isOperator, ownTenant, session } from '../lib/session.js';
import type { AuditEvent, Domain, Readiness, Tenant } from '../lib/types.js';
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
      Object.entries(r.components).map(([name, c]) => h('li', null, badge(c.ok ? 'ok' : 'failing', c.ok ? 'ok' : 'bad'), ' ', h('strong', null, name), c.detail ? h('span', { class: 'muted' }, ` — ${c.detail}`) : null)),
    ),
  );
}

async function metricsCard(): Promise<HTMLElement> {
  // The metrics endpoint belongs to a later issue; show it only when it exists.
  try {
    const res = await fetch('/metrics', { headers: { accept: 'text/plain' } });
    if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/plain')) throw new Error(String(res.status));
    const text = await res.text();
    const wanted = /^(postern_[a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$/;
    const rows = text
      .split('\n')
      .map((l) => wanted.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .slice(0, 40)
      .map((m) => ({ name: m[1]!, labels: m[2] ?? '', value: m[3]! }));
    return section('Metrics', table([{ label: 'Metric', cell: (r) => r.name + r.labels }, { label: 'Value', cell: (r) => r.value, class: 'num' }], rows, 'Metrics', 'No Postern metrics reported.'));
  } catch {
    return section('Metrics', h('p', { class: 'muted' }, 'Queue, delivery and authentication metrics are not available on this appliance yet.'));
  }
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
    return section(
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

export async function dashboardPage(): Promise<Node> {
  const p = session.info?.principal;
  const [ready, metrics, audit, domains] = await Promise.all([
    readiness().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
    metricsCard(),
    can('audit.read') ? auditCard() : Promise.resolve(null),
    can('domains.read') ? domainsCard() : Promise.resolve(null),
  ]);
  return h(
    'div',
    null,
    h('h1', null, 'Dashboard'),
    h('p', { class: 'muted' }, `Welcome, ${p?.name ?? ''}.`),
    h('div', { class: 'grid' }, healthCard(ready), metrics, domains, audit),
  );
}
