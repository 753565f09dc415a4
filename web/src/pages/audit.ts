/** Audit log: filters, paging, chain verification, before/after of each event, export as JSON lines or CSV. */
import { get, withQuery } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import type { RouteContext } from '../lib/router.js';
import { can, isOperator, ownTenant } from '../lib/session.js';
import { describeRef, type RefKind, resolveRef } from '../lib/resolve.js';
import type { AuditEvent } from '../lib/types.js';
import { actorOf, targetOf, tenantOf } from '../lib/names.js';
import type { Tenant } from '../lib/types.js';
import { alertBox, badge, fmtDate, pagedList, section } from '../lib/ui.js';

function detail(e: AuditEvent): HTMLElement {
  const json = (v: unknown) => (v === null || v === undefined ? '—' : JSON.stringify(v, null, 2));
  return h(
    'details',
    { class: 'event-detail' },
    h('summary', null, 'Details'),
    h(
      'dl',
      { class: 'kv' },
      h('dt', null, 'Ids'),
      h(
        'dd',
        null,
        h(
          'code',
          { class: 'wrap' },
          [`target ${e.target.id ?? '—'}`, `actor ${e.actor.id ?? '—'}`, e.actor.tokenId ? `token ${e.actor.tokenId}` : null, e.tenantId ? `tenant ${e.tenantId}` : null].filter(Boolean).join(' · '),
        ),
      ),
      h('dt', null, 'Request'),
      h('dd', null, e.requestId ?? '—'),
      h('dt', null, 'Source'),
      h('dd', null, `${e.sourceIp ?? '—'} ${e.userAgent ?? ''}`),
      h('dt', null, 'Reason'),
      h('dd', null, e.reason ?? '—'),
      h('dt', null, 'Approval'),
      h('dd', null, e.approvalId ?? '—'),
      h('dt', null, 'Before'),
      h('dd', null, h('pre', null, json(e.before))),
      h('dt', null, 'After'),
      h('dd', null, h('pre', null, json(e.after))),
    ),
  );
}

const TARGET_KINDS: Record<string, RefKind[]> = { mailbox: ['mailbox'], alias: ['alias'], principal: ['principal'], token: ['token'], tenant: ['tenant'], domain: ['domain'] };

const toIso = (local: string) => (local ? new Date(local).toISOString() : '');

export async function auditPage(ctx: RouteContext): Promise<Node> {
  const verify = h('div', { 'aria-live': 'polite' });
  const exportLinks = h('p', { class: 'export' });
  let current: Record<string, string> = {};
  const setExport = () => {
    const q = { ...current, since: toIso(current.since ?? ''), until: toIso(current.until ?? '') };
    replace(
      exportLinks,
      'Export the matching events: ',
      h('a', { href: withQuery('/api/v1/audit/export', { ...q, format: 'jsonl' }), download: 'audit.jsonl' }, 'JSON lines'),
      ' · ',
      h('a', { href: withQuery('/api/v1/audit/export', { ...q, format: 'csv' }), download: 'audit.csv' }, 'CSV'),
    );
  };
  setExport();
  if (can('audit.verify')) {
    try {
      const v = await get<{ ok: boolean; events: number; firstBadEventId?: number }>('/api/v1/audit/verify');
      replace(
        verify,
        h('p', { 'data-testid': 'chain-status' }, 'Hash chain: ', v.ok ? badge('verified', 'ok') : badge(`tampered: first bad event ${v.firstBadEventId}`, 'bad'), ` — ${v.events} events checked`),
      );
    } catch (err) {
      replace(verify, alertBox(err));
    }
  }
  const prefilled = (name: string) => ctx.query.get(name) ?? '';
  // Operators filter by tenant name (a list of the tenants), not by typing an id.
  const tenants = isOperator() ? await get<Tenant[]>('/api/v1/tenants', { limit: '500' }).catch(() => [] as Tenant[]) : [];
  const filters = [
    ...(isOperator()
      ? [{ name: 'tenantId', label: 'Tenant', type: 'select' as const, value: prefilled('tenantId'), options: [['', 'All tenants'], ...tenants.map((t) => [t.id, t.name])] as Array<[string, string]> }]
      : []),
    { name: 'action', label: 'Action', placeholder: 'mailbox.create', value: prefilled('action') },
    { name: 'targetType', label: 'Target type', placeholder: 'mailbox', value: prefilled('targetType') },
    {
      name: 'targetId',
      label: 'Target',
      placeholder: 'alice@acme.test',
      value: prefilled('targetId'),
      help: 'A mailbox or alias address, a person’s email, a token, tenant or domain name (or an id)',
    },
    { name: 'actorId', label: 'Actor', placeholder: 'ops@agency.example', value: prefilled('actorId'), help: 'A person’s email or name, a token’s name (or an id)' },
    { name: 'since', label: 'Since', type: 'datetime-local' as const },
    { name: 'until', label: 'Until', type: 'datetime-local' as const },
  ];
  const resolvedNote = h('div', { 'aria-live': 'polite' });
  const list = pagedList<AuditEvent>({
    caption: 'Audit events',
    pageSize: 50,
    filters,
    columns: [
      { label: '#', cell: (e) => e.id, class: 'num' },
      { label: 'When', cell: (e) => fmtDate(e.at), class: 'nowrap' },
      { label: 'Action', cell: (e) => h('code', null, e.action) },
      { label: 'Target', cell: (e) => targetOf(e) },
      { label: 'Actor', cell: (e) => actorOf(e) },
      ...(isOperator() ? [{ label: 'Tenant', cell: (e: AuditEvent) => tenantOf(e) }] : []),
      { label: '', cell: (e) => detail(e) },
    ],
    load: async (q, page) => {
      // Names typed into Target/Actor become the ids the API filters by (said above the table).
      const scope = q.tenantId ? tenants.filter((t) => t.id === q.tenantId) : isOperator() ? tenants : ownTenant() ? [{ id: ownTenant()!, name: '' }] : [];
      const notes: string[] = [];
      const resolved = { ...q };
      if (q.targetId) {
        const r = await resolveRef(q.targetId, scope, isOperator(), TARGET_KINDS[q.targetType ?? ''] ?? []);
        resolved.targetId = r.id;
        if (r.id !== q.targetId) notes.push(`target: ${describeRef(r)}`);
      }
      if (q.actorId) {
        const r = await resolveRef(q.actorId, scope, isOperator(), ['principal', 'token', 'mailbox']);
        resolved.actorId = r.id;
        if (r.id !== q.actorId) notes.push(`actor: ${describeRef(r)}`);
      }
      replace(resolvedNote, notes.length ? h('p', { class: 'muted', 'data-testid': 'audit-resolved' }, `Showing events of ${notes.join(' · ')}`) : '');
      current = resolved;
      setExport();
      const query: Record<string, string | number | null> = { ...resolved, limit: page.limit, after: page.after };
      if (q.since) query.since = toIso(q.since);
      if (q.until) query.until = toIso(q.until);
      return get<AuditEvent[]>('/api/v1/audit/events', query);
    },
    cursor: (e) => String(e.id),
    empty: 'No events match.',
  });
  return h('div', null, h('h1', null, 'Audit log'), verify, section('Events', resolvedNote, list, exportLinks));
}
