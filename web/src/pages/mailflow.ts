/**
 * Mail flow: the dashboard's last-hour/last-day figures with small hourly charts
 * (GET /api/v1/stats/mail) and the outbound queue page (GET /api/v1/outbound-queue).
 */
import { get, seg } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { can, isOperator } from '../lib/session.js';
import { badge, fmtDate, notice, pagedList } from '../lib/ui.js';
import { named } from '../lib/names.js';
import type { MailStats, QueueEntry, Tenant } from '../lib/types.js';

const LABELS: Record<string, string> = {
  delivered: 'Delivered (outbound)',
  local: 'Stored in mailboxes',
  deferred: 'Deferred messages',
  bounced: 'Bounced',
  rejected: 'SMTP rejections',
  authFailed: 'Failed logins',
};

/** Hourly bars, oldest left; the label says what they show for screen readers. */
function bars(values: number[], label: string): SVGElement {
  const w = 120;
  const hgt = 28;
  const top = Math.max(1, ...values);
  const bw = w / Math.max(1, values.length);
  return h(
    'svg',
    { viewBox: `0 0 ${w} ${hgt}`, class: 'spark', role: 'img', 'aria-label': label },
    values.map((v, i) => {
      const bh = v > 0 ? Math.max(1, (v / top) * (hgt - 1)) : 0;
      return h('rect', { x: (i * bw + 0.5).toFixed(1), y: (hgt - bh).toFixed(1), width: Math.max(0.5, bw - 1).toFixed(1), height: bh.toFixed(1), fill: 'currentColor' });
    }),
  ) as SVGElement;
}

/**
 * The last-hour / last-24-hours figures with hourly bars, for the dashboard's one mail-flow
 * card: null without mailflow.read. `deferred` counts messages (once each, however often retried).
 */
export async function mailStatsTiles(): Promise<{ scope: 'platform' | 'tenant'; tiles: HTMLElement; note: HTMLElement } | { error: unknown } | null> {
  if (!can('mailflow.read')) return null;
  try {
    const s = await get<MailStats>('/api/v1/stats/mail');
    const tiles = h(
      'dl',
      { class: 'tiles', 'data-testid': 'mail-stats' },
      s.series.map((k) => {
        const per = s.hours.map((b) => b.counts[k] ?? 0);
        return h(
          'div',
          null,
          h('dt', null, LABELS[k] ?? k),
          h(
            'dd',
            null,
            h('span', { 'data-series': k }, String(s.lastHour[k] ?? 0)),
            h('span', { class: 'muted' }, ` last hour · ${s.lastDay[k] ?? 0} last 24 h`),
            bars(per, `${LABELS[k] ?? k} per hour, last 24 hours: ${per.join(', ')}`),
          ),
        );
      }),
    );
    const note = h(
      'p',
      { class: 'muted small' },
      s.scope === 'tenant'
        ? 'Messages stored in your mailboxes. Counted since the appliance last started.'
        : 'Counted since the appliance last started; one bar per hour. Deferred counts messages (once each, however often they are retried).',
    );
    return { scope: s.scope, tiles, note };
  } catch (err) {
    return { error: err };
  }
}

const fmtAge = (s: number) => (s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : s < 172_800 ? `${(s / 3600).toFixed(1)} h` : `${Math.round(s / 86_400)} d`);

export async function outboundQueuePage(): Promise<Node> {
  const root = h('div', null, h('h1', null, 'Outbound queue'));
  if (!can('mailflow.read')) {
    root.append(notice('You do not hold the permission to read the mail flow (mailflow.read).'));
    return root;
  }
  // Operators see every tenant's messages: the tenant column names them.
  const tenantNames = isOperator() ? new Map((await get<Tenant[]>('/api/v1/tenants', { limit: '500' }).catch(() => [] as Tenant[])).map((t) => [t.id, t.name])) : undefined;
  root.append(
    h(
      'p',
      { class: 'muted' },
      isOperator() ? 'Messages waiting to leave the appliance, oldest first. One row per destination domain.' : 'Messages your domains sent that are waiting to be delivered, oldest first.',
    ),
    pagedList<QueueEntry>({
      caption: 'Queued messages',
      pageSize: 50,
      filters: [{ name: 'domain', label: 'Destination domain', type: 'search' }],
      load: (q, page) => get<QueueEntry[]>('/api/v1/outbound-queue', { ...q, limit: String(page.limit), ...(page.after ? { after: page.after } : {}) }),
      cursor: (e) => e.id,
      empty: 'The queue is empty: everything has been delivered.',
      columns: [
        { label: 'Age', cell: (e) => h('span', { title: fmtDate(e.queuedAt) }, fmtAge(e.ageSeconds)) },
        { label: 'From', cell: (e) => (e.sender === '' ? badge('bounce', 'info') : e.sender) },
        { label: 'To', cell: (e) => [h('strong', null, e.domain), h('br'), h('span', { class: 'muted small' }, e.recipients.join(', '))] },
        { label: 'Attempts', cell: (e) => h('span', { 'data-testid': 'queue-attempts' }, String(e.attempts)) },
        { label: 'Next attempt', cell: (e) => fmtDate(e.nextAttemptAt) },
        { label: 'Last error', cell: (e) => (e.lastError ? h('span', { class: 'wrap', 'data-testid': 'queue-error' }, e.lastError) : '—') },
        ...(isOperator()
          ? [{ label: 'Tenant', cell: (e: QueueEntry) => (e.tenantId ? h('a', { href: `/tenants/${seg(e.tenantId)}` }, named(e.tenantId, tenantNames)) : 'none (a bounce or notice)') }]
          : []),
      ],
    }),
  );
  return root;
}
