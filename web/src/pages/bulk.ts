/**
 * Bulk import: upload a CSV → the plan (per-row problems, rows that need approval) → approve
 * flagged rows → apply with a progress bar → report and delivery test → roll back.
 */
import { api, ApiError, get, post, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { navigate, type RouteContext } from '../lib/router.js';
import { can, isOperator } from '../lib/session.js';
import type { Tenant } from '../lib/types.js';
import { alertBox, badge, confirmDialog, dl, fmtBytes, fmtDate, form, guard, notice, opt, section, table, toast } from '../lib/ui.js';

interface Reason {
  code: string;
  message: string;
  field?: string;
}
interface Totals {
  rows: number;
  create: number;
  refused: number;
  needsApproval: number;
  quotaBytes: number;
}
interface BatchSummary {
  id: string;
  tenantId: string;
  requestId: string;
  approvalRef: string | null;
  state: string;
  mode: string | null;
  progress: { total: number; done: number; percent: number };
  error: string | null;
  createdAt: string;
  appliedAt: string | null;
  rolledBackAt: string | null;
}
interface Batch extends BatchSummary {
  plan: {
    create: Array<{ row: number; address: string; owner: string; resetDestination: string; quotaBytes: number; isRole: boolean; aliases: string[] }>;
    refused: Array<{ row: number; address: string | null; reasons: Reason[] }>;
    needsApproval: Array<{ row: number; address: string; reasons: Reason[] }>;
    totals: Totals;
  };
  report: { created: number; failed: number; linksDelivered: number; deliveryFailed: number; linksUsed: number; pending: number; rolledBack: number };
}

const stateKind = (s: string) => (s === 'applied' ? 'ok' : s === 'failed' ? 'bad' : s === 'rolled-back' ? 'info' : 'warn');
const reasons = (rs: Reason[]) =>
  h(
    'ul',
    { class: 'reasons' },
    rs.map((r) => h('li', null, r.field ? [h('code', null, r.field), ': '] : null, r.message)),
  );

export function bulkTab(t: Tenant): HTMLElement {
  const list = h('div');
  const loadList = async () => {
    try {
      const batches = await get<Array<BatchSummary & { totals: Totals }>>(`/api/v1/tenants/${seg(t.id)}/batches`);
      replace(
        list,
        table(
          [
            { label: 'Request', cell: (b) => h('a', { href: `/batches/${seg(b.id)}` }, b.requestId) },
            { label: 'State', cell: (b) => badge(b.state, stateKind(b.state)) },
            { label: 'Rows', cell: (b) => `${b.totals.rows} (${b.totals.create} to create, ${b.totals.refused} refused, ${b.totals.needsApproval} need approval)` },
            { label: 'Planned', cell: (b) => fmtDate(b.createdAt) },
          ],
          batches,
          'Batches',
          'No batches yet.',
        ),
      );
    } catch (err) {
      replace(list, alertBox(err));
    }
  };
  void loadList();
  const upload = can('mailboxes.create')
    ? form({
        submitLabel: 'Upload and plan',
        fields: [
          {
            name: 'file',
            label: 'CSV file',
            type: 'file',
            required: true,
            accept: '.csv,text/csv',
            help: 'Header row with: local_part, domain, display_name, owner_name, owner_email, business_owner_name, business_owner_email, reset_destination, quota, role, aliases. Nothing is created until you apply.',
          },
          { name: 'requestId', label: 'Request id', help: 'The change request this import belongs to (uploading the same file with the same id answers the same batch). Empty: a new id.' },
          { name: 'approvalRef', label: 'Approval reference', help: 'Ticket or approval for the import (needed to approve role accounts).' },
          ...(isOperator() ? [{ name: 'allowUnverified', label: 'Allow domains whose DNS is not verified yet (operator override)', type: 'checkbox' as const }] : []),
        ],
        fieldAlias: { body: 'file' },
        async onSubmit(v) {
          const file = v.file as File | null;
          if (!file) throw new ApiError(400, 'Invalid', 'choose a CSV file', { issues: [{ field: 'file', message: 'Choose a CSV file' }] });
          const csv = await file.text();
          const b = await api<Batch>('POST', `/api/v1/tenants/${seg(t.id)}/batches`, {
            raw: csv,
            contentType: 'text/csv',
            query: {
              requestId: opt(v.requestId) ?? `import-${new Date().toISOString().replace(/[:.]/g, '-')}`,
              approvalRef: opt(v.approvalRef),
              allowUnverifiedDomains: v.allowUnverified === true ? 'true' : undefined,
            },
          });
          toast('Plan ready: nothing is created yet');
          navigate(`/batches/${seg(b.id)}`);
        },
      })
    : null;
  return h('div', null, upload ? section('Import mailboxes from CSV', upload.el) : null, section('Batches', list));
}

function planTables(b: Batch, approvable: boolean): { el: HTMLElement; approved: () => number[] } {
  const boxes: HTMLInputElement[] = [];
  const el = h(
    'div',
    null,
    h('h3', null, `Refused (${b.plan.refused.length})`),
    table(
      [
        { label: 'Row', cell: (r) => r.row, class: 'num' },
        { label: 'Address', cell: (r) => r.address ?? '—' },
        { label: 'Problems', cell: (r) => reasons(r.reasons) },
      ],
      b.plan.refused,
      'Refused rows',
      'No refused rows.',
    ),
    h('h3', null, `Need approval (${b.plan.needsApproval.length})`),
    table(
      [
        {
          label: 'Approve',
          cell: (r) => {
            const cb = h('input', { type: 'checkbox', value: String(r.row), 'aria-label': `Approve row ${r.row} (${r.address})`, disabled: !approvable });
            boxes.push(cb);
            return cb;
          },
        },
        { label: 'Row', cell: (r) => r.row, class: 'num' },
        { label: 'Address', cell: (r) => r.address },
        { label: 'Why', cell: (r) => reasons(r.reasons) },
      ],
      b.plan.needsApproval,
      'Rows that need approval',
      'No rows need approval.',
    ),
    h('h3', null, `Will be created (${b.plan.create.length})`),
    table(
      [
        { label: 'Row', cell: (r) => r.row, class: 'num' },
        { label: 'Address', cell: (r) => r.address },
        { label: 'Owner', cell: (r) => r.owner },
        { label: 'Reset destination', cell: (r) => r.resetDestination },
        { label: 'Quota', cell: (r) => fmtBytes(r.quotaBytes) },
        { label: 'Aliases', cell: (r) => r.aliases.join(', ') || '—' },
      ],
      b.plan.create.slice(0, 500),
      'Rows to create',
      'Nothing to create.',
    ),
    b.plan.create.length > 500 ? h('p', { class: 'muted' }, `… and ${b.plan.create.length - 500} more.`) : null,
  );
  return { el, approved: () => boxes.filter((x) => x.checked).map((x) => Number(x.value)) };
}

export async function batchPage(ctx: RouteContext): Promise<Node> {
  const id = ctx.params.batchId!;
  const root = h('div');
  let timer: ReturnType<typeof setTimeout> | null = null;
  const load = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    const b = await get<Batch>(`/api/v1/batches/${seg(id)}`);
    const busy = b.state === 'applying' || b.state === 'rolling-back';
    const progress = h('progress', { max: 100, value: b.progress.percent, 'aria-label': 'Batch progress' });
    const plan = planTables(b, b.state === 'planned' && can('mailboxes.create'));
    const actions: HTMLElement[] = [];
    if (b.state === 'planned' && can('mailboxes.create')) {
      const f = form({
        submitLabel: 'Apply batch',
        fields: [
          {
            name: 'mode',
            label: 'Mode',
            type: 'select',
            value: 'valid-rows',
            options: [
              ['valid-rows', 'Create the valid rows (skip refused ones)'],
              ['all-or-nothing', 'All or nothing'],
            ],
          },
          { name: 'approvalRef', label: 'Approval reference (for approved rows)', value: b.approvalRef ?? '' },
        ],
        async onSubmit(v) {
          const approvedRows = plan.approved();
          const ok = await confirmDialog({
            title: 'Apply this batch?',
            objectName: b.requestId,
            body: h('p', null, `Creates up to ${b.plan.totals.create + approvedRows.length} mailboxes; each owner gets a single-use setup link at their reset destination.`),
            confirmLabel: 'Apply',
          });
          if (!ok) return;
          await post(`/api/v1/batches/${seg(b.id)}/apply`, { mode: v.mode, approvedRows: approvedRows.length ? approvedRows : undefined, approvalRef: opt(v.approvalRef) });
          toast('Applying…');
          await load();
        },
      });
      actions.push(section('Apply', f.el));
    }
    if ((b.state === 'applied' || b.state === 'failed') && (can('mailboxes.create') || can('mailboxes.delete'))) {
      const verifyBox = h('div', { 'aria-live': 'polite' });
      actions.push(
        section(
          'Verify and roll back',
          can('mailboxes.delete') && can('mailboxes.suspend')
            ? h(
                'p',
                { 'data-testid': 'rollback-explained' },
                `Rolling back disables the ${b.report.created} mailbox${b.report.created === 1 ? '' : 'es'} this batch created at once (no login, no delivery, setup links expire), then moves them and the batch’s aliases to the tenant’s recycle bin, where they can be restored for a while. You confirm by typing the request id.`,
              )
            : null,
          h(
            'div',
            { class: 'action-bar' },
            !can('mailboxes.create')
              ? null
              : h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn',
                    onclick: guard(async () => {
                      const r = await post<{ deliveryTest: { sampled: number; results: Array<{ address: string; routable: boolean; delivered: boolean | null; error?: string }> } }>(
                        `/api/v1/batches/${seg(b.id)}/verify`,
                        {},
                      );
                      replace(
                        verifyBox,
                        h('h3', null, `Delivery test (${r.deliveryTest.sampled} sampled)`),
                        table(
                          [
                            { label: 'Address', cell: (x) => x.address },
                            { label: 'Routable', cell: (x) => badge(x.routable ? 'yes' : 'no', x.routable ? 'ok' : 'bad') },
                            { label: 'Delivered', cell: (x) => (x.delivered === null ? '—' : badge(x.delivered ? 'yes' : 'no', x.delivered ? 'ok' : 'bad')) },
                            { label: 'Error', cell: (x) => x.error ?? '' },
                          ],
                          r.deliveryTest.results,
                          'Delivery test',
                        ),
                      );
                    }),
                  },
                  'Run delivery test',
                ),
            !(can('mailboxes.delete') && can('mailboxes.suspend'))
              ? null
              : h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn btn-danger',
                    onclick: guard(async () => {
                      const ok = await confirmDialog({
                        title: 'Roll this batch back?',
                        objectName: b.requestId,
                        body: h(
                          'p',
                          null,
                          `Its ${b.report.created} mailboxes are disabled at once (no login, no delivery, setup links expire), then moved with the batch’s aliases to the recycle bin.`,
                        ),
                        confirmLabel: 'Roll back',
                        danger: true,
                        requireTyping: true,
                        reason: true,
                      });
                      if (!ok) return;
                      await post(`/api/v1/batches/${seg(b.id)}/rollback`, { reason: ok.reason || undefined });
                      toast('Batch rolled back');
                      await load();
                    }),
                  },
                  `Roll back: disable and bin ${b.report.created} mailbox${b.report.created === 1 ? '' : 'es'}…`,
                ),
          ),
          verifyBox,
        ),
      );
    }
    replace(
      root,
      h('p', { class: 'crumbs' }, h('a', { href: `/tenants/${seg(b.tenantId)}?tab=bulk` }, 'Bulk import'), ' / batch'),
      h('div', { class: 'title-row' }, h('h1', null, `Batch ${b.requestId}`), h('span', { 'data-testid': 'batch-state' }, badge(b.state, stateKind(b.state)))),
      b.error ? alertBox(new Error(b.error)) : null,
      section(
        'Progress',
        h('label', { class: 'progress-label' }, `${b.progress.done} of ${b.progress.total} (${b.progress.percent}%)`, progress),
        dl([
          ['Rows in file', String(b.plan.totals.rows)],
          ['Mode', b.mode ?? 'not applied'],
          ['Approval', b.approvalRef ?? '—'],
          ['Planned', fmtDate(b.createdAt)],
          ['Applied', fmtDate(b.appliedAt)],
          ['Rolled back at', fmtDate(b.rolledBackAt)],
        ]),
        b.state !== 'planned'
          ? h(
              'div',
              { 'data-testid': 'batch-report' },
              h('h3', null, 'Report'),
              dl([
                ['Created', String(b.report.created)],
                ['Failed', String(b.report.failed)],
                ['Setup links delivered', String(b.report.linksDelivered)],
                ['Link delivery failed', String(b.report.deliveryFailed)],
                ['Links used', String(b.report.linksUsed)],
                ['Pending', String(b.report.pending)],
                ['Rolled back', String(b.report.rolledBack)],
              ]),
            )
          : notice('This is a plan: nothing has been created yet.'),
      ),
      actions,
      section('Plan', plan.el),
    );
    if (busy) timer = setTimeout(() => (root.isConnected ? void load().catch((err: unknown) => root.prepend(alertBox(err))) : undefined), 500);
  };
  await load();
  return root;
}
