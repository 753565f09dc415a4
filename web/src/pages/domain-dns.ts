/**
 * A domain's DNS: expected records (copyable) with the live status of the last check, the zone
 * snippet, "check now", snapshot history with last-known-good and the way back to it; the
 * domain's template with its drift; and the timeline of what changed.
 */
import { api, get, post, seg } from '../lib/api.js';
import { named } from '../lib/names.js';
import { h, replace } from '../lib/dom.js';
import { can } from '../lib/session.js';
import type { Domain } from '../lib/types.js';
import { alertBox, badge, confirmDialog, copyButton, fmtDate, form, guard, notice, section, table, toast } from '../lib/ui.js';

export interface ExpectedRecord {
  type: string;
  name: string;
  value: string;
  purpose: string;
  required: boolean;
  /** Why the record cannot be published as is, and which setting fixes it. */
  unpublishable?: string;
  /** With unpublishable: no DNS server may carry it (IP or loopback target); it is not checked. */
  broken?: boolean;
}
export interface CheckedRecord {
  type: string;
  name: string;
  purpose: string;
  required: boolean;
  expected: string;
  found: string[];
  status: string;
  detail?: string;
}
interface Snapshot {
  id: number;
  checkedAt: string;
  status: string;
  template: { id: string; version: number } | null;
  records: CheckedRecord[];
}
interface History {
  lastKnownGood: Snapshot | null;
  snapshots: Snapshot[];
}
interface CheckResult {
  status: string;
  checkedAt: string;
  snapshotId: number;
  records: CheckedRecord[];
  lastKnownGood: { snapshotId: number; checkedAt: string } | null;
  transition: 'broke' | 'restored' | null;
}
export interface DriftItem {
  field: string;
  expected: unknown;
  actual: unknown;
}
interface DomainTemplate {
  template: { id: string; version: number } | null;
  appliedAt: string | null;
  drift: DriftItem[];
}
interface Template {
  id: string;
  tenantId: string | null;
  name: string;
  latestVersion: number;
}

/** Next to a record that cannot be published as is: why, and which setting fixes it. */
function unpublishableNote(r: ExpectedRecord): HTMLElement {
  return h(
    'div',
    { class: `unpublishable ${r.broken ? 'broken' : 'reserved'}`, role: 'note', 'data-testid': 'dns-unpublishable' },
    badge(r.broken ? 'do not publish' : 'private DNS only', r.broken ? 'bad' : 'warn'),
    ' ',
    h('span', null, r.unpublishable!),
  );
}

const statusKind = (s: string) => (s === 'ok' ? 'ok' : s === 'missing' || s === 'wrong' || s === 'conflict' || s === 'error' || s === 'broken' || s === 'fail' ? 'bad' : 'warn');
const show = (v: unknown) => (v === null || v === undefined ? 'not set' : typeof v === 'string' ? v : JSON.stringify(v));

export async function dnsSection(d: Domain): Promise<HTMLElement> {
  const [expected, zone, history] = await Promise.all([
    get<{ records: ExpectedRecord[] }>(`/api/v1/domains/${seg(d.id)}/dns/expected`),
    api<string>('GET', `/api/v1/domains/${seg(d.id)}/dns/zone`),
    get<History>(`/api/v1/domains/${seg(d.id)}/dns/history`, { limit: '10' }).catch(() => ({ lastKnownGood: null, snapshots: [] }) as History),
  ]);
  const statusLine = h('div', { 'aria-live': 'polite', 'data-testid': 'dns-status' });
  const tableBox = h('div');
  const historyBox = h('div');
  const render = (checked: CheckedRecord[] | null, overall: string | null, at: string | null, lkg: { checkedAt: string } | null) => {
    const byKey = new Map((checked ?? []).map((r) => [`${r.type} ${r.name} ${r.expected}`, r]));
    if (at) statusLine.setAttribute('data-checked', at);
    replace(
      statusLine,
      h(
        'p',
        null,
        'Live DNS: ',
        overall ? badge(overall, statusKind(overall)) : badge('not checked yet', 'info'),
        at ? ` checked ${fmtDate(at)}` : '',
        lkg ? ` · last known good ${fmtDate(lkg.checkedAt)}` : ' · no last-known-good yet',
      ),
    );
    const bad = expected.records.filter((r) => r.unpublishable);
    replace(
      tableBox,
      bad.length
        ? notice(
            h(
              'div',
              { 'data-testid': 'dns-unpublishable-summary' },
              h('strong', null, `${bad.length} record${bad.length === 1 ? '' : 's'} cannot be published as shown`),
              ': ',
              bad.some((r) => r.broken) ? '“do not publish”: no DNS server accepts the record (the zone snippet comments it out); ' : '',
              bad.some((r) => !r.broken) ? '“private DNS only”: public resolvers will not find its target. ' : '',
              'Each note says which setting fixes it.',
            ),
            'warn',
          )
        : null,
      table(
        [
          { label: 'Type', cell: (r) => r.type },
          { label: 'Name', cell: (r) => h('span', { class: 'copyable' }, h('code', null, r.name), ' ', copyButton(r.name, 'Copy name')) },
          {
            label: 'Expected value',
            cell: (r) => [
              r.broken
                ? h('del', { class: 'wrap', title: 'Do not publish this record' }, h('code', { class: 'wrap' }, r.value))
                : h('span', { class: 'copyable' }, h('code', { class: 'wrap' }, r.value), ' ', copyButton(r.value, 'Copy value')),
              r.unpublishable ? unpublishableNote(r) : null,
            ],
          },
          { label: 'Purpose', cell: (r) => [r.purpose, r.required ? '' : ' (optional)'] },
          {
            label: 'Status',
            cell: (r) => {
              const c = byKey.get(`${r.type} ${r.name} ${r.value}`);
              if (r.broken) return badge('not published', 'bad');
              if (!c) return checked ? badge('not checked', 'info') : '—';
              return [
                badge(c.status, statusKind(c.status)),
                c.found.length && c.status !== 'ok' ? h('div', { class: 'muted wrap' }, `found: ${c.found.join(' | ')}`) : null,
                c.detail ? h('div', { class: 'muted' }, c.detail) : null,
              ];
            },
          },
        ],
        expected.records,
        'Expected DNS records',
      ),
    );
  };
  const renderHistory = (h2: History) => {
    replace(
      historyBox,
      h('h3', null, 'Check history'),
      table(
        [
          { label: 'Checked', cell: (s) => fmtDate(s.checkedAt) },
          { label: 'Status', cell: (s) => [badge(s.status, statusKind(s.status)), h2.lastKnownGood?.id === s.id ? [' ', badge('last known good', 'ok')] : null] },
          {
            label: 'Problems',
            cell: (s) =>
              s.records
                .filter((r) => r.status !== 'ok')
                .map((r) => `${r.type} ${r.name}: ${r.status}`)
                .join('; ') || '—',
          },
          { label: 'Template', cell: (s) => (s.template ? `${s.template.id} v${s.template.version}` : '—') },
        ],
        h2.snapshots,
        'DNS check history',
        'No checks yet.',
      ),
      can('domains.manage') && h2.lastKnownGood && h2.snapshots[0]?.status !== 'ok'
        ? h('button', { type: 'button', class: 'btn', onclick: guard(() => backToGood(h2.lastKnownGood!)) }, 'Back to last known good…')
        : null,
    );
  };
  const backToGood = async (lkg: Snapshot) => {
    const ok = await confirmDialog({
      title: 'Return to last known good?',
      objectName: d.name,
      body: h('p', null, `Re-applies the template of the check of ${fmtDate(lkg.checkedAt)}, where every record matched, and shows the records to put back at the DNS host.`),
      confirmLabel: 'Return to last known good',
      danger: true,
      reason: true,
    });
    if (!ok) return;
    const r = await post<{ zone: string }>(`/api/v1/domains/${seg(d.id)}/dns/last-known-good`, { reason: ok.reason || undefined });
    historyBox.append(notice(h('div', null, h('p', null, 'Put these records back at the DNS host:'), h('pre', { class: 'zone', tabindex: 0 }, r.zone), copyButton(r.zone, 'Copy records')), 'warn'));
    toast('Template re-applied from last known good');
  };
  const latest = history.snapshots[0] ?? null;
  render(latest?.records ?? null, latest?.status ?? null, latest?.checkedAt ?? null, history.lastKnownGood);
  renderHistory(history);
  const checkBtn = can('domains.manage')
    ? h(
        'button',
        {
          type: 'button',
          class: 'btn btn-primary',
          onclick: guard(async () => {
            checkBtn!.disabled = true;
            checkBtn!.textContent = 'Checking…';
            try {
              const r = await post<CheckResult>(`/api/v1/domains/${seg(d.id)}/dns/check`);
              render(r.records, r.status, r.checkedAt, r.lastKnownGood);
              if (r.transition === 'broke') toast('DNS broke since the last check');
              renderHistory(await get<History>(`/api/v1/domains/${seg(d.id)}/dns/history`, { limit: '10' }));
            } finally {
              checkBtn!.disabled = false;
              checkBtn!.textContent = 'Check DNS now';
            }
          }),
        },
        'Check DNS now',
      )
    : null;
  return section(
    'DNS records',
    h('p', null, 'Publish these records at the domain’s DNS host. Verification: ', badge(d.verification)),
    statusLine,
    checkBtn,
    tableBox,
    h('h3', null, 'Zone file snippet'),
    h('pre', { class: 'zone', tabindex: 0, 'aria-label': 'BIND zone snippet' }, zone),
    h('p', null, copyButton(zone, 'Copy zone snippet')),
    historyBox,
  );
}

export function driftTable(drift: DriftItem[], empty = 'No drift: the domain matches its template.'): HTMLElement {
  return table(
    [
      { label: 'Setting', cell: (x) => h('code', null, x.field) },
      { label: 'Template says', cell: (x) => h('code', { class: 'wrap' }, show(x.expected)) },
      { label: 'Domain has', cell: (x) => h('code', { class: 'wrap' }, show(x.actual)) },
    ],
    drift,
    'Drift from the template',
    empty,
  );
}

export async function templateSection(d: Domain, reload: () => void): Promise<HTMLElement> {
  let t: DomainTemplate;
  try {
    t = await get<DomainTemplate>(`/api/v1/domains/${seg(d.id)}/template`);
  } catch (err) {
    return section('Template', alertBox(err));
  }
  let applyForm: HTMLElement | null = null;
  if (can('domains.manage')) {
    const templates = await get<Template[]>(`/api/v1/tenants/${seg(d.tenantId)}/templates`).catch(() => [] as Template[]);
    const f = form({
      submitLabel: t.template ? 'Re-apply template' : 'Apply template',
      fields: [
        {
          name: 'templateId',
          label: 'Template',
          type: 'select',
          value: t.template?.id ?? templates[0]?.id ?? '',
          options: templates.map((x): [string, string] => [x.id, `${x.name} (latest v${x.latestVersion}${x.tenantId ? '' : ', platform'})`]),
        },
        { name: 'reason', label: 'Reason (recorded in the audit log)' },
      ],
      async onSubmit(v) {
        const r = await post<{ created: string[]; fixed: DriftItem[] }>(`/api/v1/domains/${seg(d.id)}/template`, { templateId: v.templateId, reason: String(v.reason).trim() || undefined });
        toast(`Template applied: ${r.created.length} created, ${r.fixed.length} fixed`);
        reload();
      },
    });
    applyForm = f.el;
  }
  return section(
    'Template',
    h(
      'p',
      null,
      t.template ? ['Follows ', h('code', null, `${t.template.id} v${t.template.version}`), `, applied ${fmtDate(t.appliedAt)}. `] : 'No template applied yet. ',
      t.drift.length ? badge(`${t.drift.length} drifted`, 'warn') : badge('no drift', 'ok'),
    ),
    driftTable(t.drift),
    applyForm,
  );
}

export async function timelineSection(d: Domain): Promise<HTMLElement> {
  try {
    const t = await get<{ entries: Array<{ at: string; kind: string; summary: string; actor?: string | null; names?: Record<string, string> }> }>(`/api/v1/domains/${seg(d.id)}/timeline`, {
      limit: '30',
    });
    return section(
      'Timeline',
      table(
        [
          { label: 'When', cell: (e) => fmtDate(e.at) },
          { label: 'Kind', cell: (e) => badge(e.kind, 'info') },
          { label: 'What', cell: (e) => e.summary },
          { label: 'Who', cell: (e) => named(e.actor, e.names, e.kind === 'dns' ? 'DNS check' : '—') },
        ],
        t.entries,
        'Domain timeline',
        'Nothing recorded yet.',
      ),
    );
  } catch (err) {
    return section('Timeline', alertBox(err));
  }
}
