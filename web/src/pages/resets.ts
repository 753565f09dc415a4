/**
 * Resets: admin-initiated (a single-use link to the reset destination; the admin never sees
 * or sets the password), emergency (recorded identity verification, a second approver), the
 * approver's queue; high-value flag; app passwords seen by admins.
 */
import { named } from '../lib/names.js';
import { del, get, post, put, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { can, session } from '../lib/session.js';
import type { Mailbox } from '../lib/types.js';
import { alertBox, badge, confirmDialog, copyButton, fmtDate, form, guard, notice, section, table, toast } from '../lib/ui.js';
import type { AppPassword, Reset } from '../lib/types.js';
export type { Reset };

const VERIFICATION: Array<[string, string]> = [
  ['video-call', 'Video call'],
  ['in-person', 'In person'],
  ['callback-known-number', 'Call back on a known number'],
  ['id-document', 'ID document'],
  ['manager-confirmation', 'Manager confirmation'],
  ['other', 'Other'],
];

const statusKind = (s: string) => (s === 'completed' ? 'ok' : s === 'pending-approval' || s === 'pending' ? 'warn' : s === 'cancelled' || s === 'expired' ? 'bad' : 'info');

function linkNotice(r: Reset): HTMLElement | null {
  if (!r.setup) return null;
  return notice(
    h(
      'div',
      null,
      h('p', null, `Single-use reset link (expires ${fmtDate(r.setup.expiresAt)}). Give it only to the verified owner:`),
      h('p', null, h('code', { class: 'wrap' }, r.setup.url), ' ', copyButton(r.setup.url, 'Copy link')),
    ),
    'warn',
  );
}

function resetActions(r: Reset, reload: () => void): HTMLElement {
  const out: HTMLElement[] = [];
  const me = session.info?.principal?.id;
  if (r.status === 'pending-approval' && can('resets.approve') && r.requestedBy !== me) {
    out.push(
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small btn-primary',
          onclick: guard(async () => {
            const ok = await confirmDialog({
              title: 'Approve this emergency reset?',
              objectName: r.newResetDestination ?? r.mailboxId,
              body: h(
                'div',
                null,
                h('p', null, 'Requested by ', named(r.requestedBy, r.names), `: ${r.reason ?? ''}`),
                r.verification ? h('p', null, `Verified by ${r.verification.method}: ${r.verification.evidence}`) : null,
                h('p', null, 'A single-use link goes to the new destination above.'),
              ),
              confirmLabel: 'Approve',
              reason: true,
            });
            if (!ok) return;
            await post(`/api/v1/resets/${seg(r.id)}/approve`, { note: ok.reason || undefined });
            toast('Emergency reset approved');
            reload();
          }),
        },
        'Approve',
      ),
    );
  }
  if ((r.status === 'pending-approval' || r.status === 'pending' || r.status === 'issued') && can('resets.initiate')) {
    out.push(
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small btn-danger',
          onclick: guard(async () => {
            const ok = await confirmDialog({
              title: 'Cancel this reset?',
              objectName: `${r.kind} reset ${r.id}`,
              body: h('p', null, 'Its link stops working.'),
              confirmLabel: 'Cancel reset',
              danger: true,
              reason: true,
            });
            if (!ok) return;
            await post(`/api/v1/resets/${seg(r.id)}/cancel`, { reason: ok.reason || undefined });
            toast('Reset cancelled');
            reload();
          }),
        },
        'Cancel',
      ),
    );
  }
  return h('span', { class: 'actions' }, out);
}

export function resetsTable(resets: Reset[], reload: () => void, showMailbox = false): HTMLElement {
  return table(
    [
      ...(showMailbox ? [{ label: 'Mailbox', cell: (r: Reset) => h('a', { href: `/mailboxes/${seg(r.mailboxId)}` }, r.mailboxAddress ?? 'open') }] : []),
      { label: 'Requested', cell: (r) => [`${fmtDate(r.requestedAt)} by `, named(r.requestedBy, r.names)] },
      { label: 'Kind', cell: (r) => [badge(r.kind, r.kind === 'emergency' ? 'warn' : 'info'), r.requiresOperatorApproval ? [' ', badge('operator approval', 'warn')] : null] },
      { label: 'Status', cell: (r) => h('span', { 'data-testid': 'reset-status' }, badge(r.status, statusKind(r.status))) },
      { label: 'Link goes to', cell: (r) => r.newResetDestination ?? r.destination ?? '—' },
      { label: 'Delivery', cell: (r) => `${r.delivery}${r.deliveryState ? ` (${r.deliveryState})` : ''}` },
      { label: 'Verification', cell: (r) => (r.verification ? `${r.verification.method}: ${r.verification.evidence}` : '—') },
      { label: 'Approved', cell: (r) => (r.approvedBy ? [named(r.approvedBy, r.names), `, ${fmtDate(r.approvedAt)}`] : '—') },
      { label: '', cell: (r) => resetActions(r, reload) },
    ],
    resets,
    'Resets',
    'No resets yet.',
  );
}

export async function resetsSection(m: Mailbox): Promise<HTMLElement | null> {
  if (!can('resets.initiate') && !can('resets.approve')) return null;
  const result = h('div', { 'aria-live': 'polite' });
  const history = h('div');
  // Only the history refreshes: a link shown once must stay on screen.
  const refresh = async () => {
    const resets = await get<Reset[]>(`/api/v1/mailboxes/${seg(m.id)}/resets`).catch(() => [] as Reset[]);
    replace(
      history,
      resetsTable(resets, () => void refresh()),
    );
  };
  await refresh();
  const admin = can('resets.initiate')
    ? form({
        submitLabel: 'Send reset link',
        fields: [
          {
            name: 'delivery',
            label: 'Delivery',
            type: 'select',
            options: [
              ['email', `By email to the reset destination (${m.resetDestination})`],
              ['link', 'Show me the link (only where the tenant policy allows)'],
            ],
          },
          { name: 'reason', label: 'Reason for the reset', required: true, help: 'Recorded in the audit log; the owner and business owner are notified.' },
        ],
        async onSubmit(v, handle) {
          const ok = await confirmDialog({
            title: 'Reset this mailbox?',
            objectName: m.address,
            body: h('p', null, 'Open sessions end at once; a single-use link lets the owner choose a new password. You never see or set the password.'),
            confirmLabel: 'Reset',
            danger: true,
          });
          if (!ok) return;
          const r = await post<Reset>(`/api/v1/mailboxes/${seg(m.id)}/resets`, { kind: 'admin', delivery: v.delivery, reason: String(v.reason).trim() });
          handle.el.reset();
          replace(result, notice(`Reset ${r.status}: ${r.delivery === 'email' ? `link sent to ${r.destination ?? m.resetDestination}` : 'link below'}.`, 'ok'), linkNotice(r));
          toast('Reset started');
          await refresh();
        },
      })
    : null;
  const emergency = can('resets.initiate')
    ? form({
        submitLabel: 'Request emergency reset',
        danger: true,
        fields: [
          {
            name: 'newResetDestination',
            label: 'Send the link to (new reset destination)',
            type: 'email',
            required: true,
            help: 'The old destination is lost or compromised: the link goes here once a second person approves.',
          },
          { name: 'method', label: 'How the owner’s identity was verified', type: 'select', options: VERIFICATION },
          { name: 'evidence', label: 'Evidence', required: true, help: 'What you checked, e.g. “video call, matched ID badge, ticket 4411”.' },
          { name: 'reason', label: 'Reason for the emergency reset', required: true },
        ],
        fieldAlias: { 'verification.evidence': 'evidence', 'verification.method': 'method', verification: 'evidence' },
        async onSubmit(v, handle) {
          const r = await post<Reset>(`/api/v1/mailboxes/${seg(m.id)}/resets`, {
            kind: 'emergency',
            reason: String(v.reason).trim(),
            newResetDestination: String(v.newResetDestination).trim(),
            verification: { method: v.method, evidence: String(v.evidence).trim() },
          });
          handle.el.reset();
          replace(
            result,
            notice(
              `Emergency reset ${r.status}: a second person with the approve permission must approve it${r.requiresOperatorApproval ? ' (an operator, for this high-value mailbox)' : ''}.`,
              'warn',
            ),
          );
          await refresh();
        },
      })
    : null;
  return section(
    'Resets',
    result,
    history,
    admin ? [h('h3', null, 'Admin reset'), admin.el] : null,
    emergency ? h('details', { class: 'inline-edit' }, h('summary', null, 'Emergency reset (reset destination lost)'), emergency.el) : null,
  );
}

export async function highValueControl(m: Mailbox, reload: () => void): Promise<HTMLElement | null> {
  try {
    const hv = await get<{ highValue: boolean; reason: string | null; updatedBy: string | null }>(`/api/v1/mailboxes/${seg(m.id)}/high-value`);
    const toggle = can('policies.manage')
      ? h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small',
            onclick: guard(async () => {
              const ok = await confirmDialog({
                title: hv.highValue ? 'Remove the high-value flag?' : 'Flag as high-value?',
                objectName: m.address,
                body: h('p', null, 'High-value mailboxes may need an operator to approve emergency resets (tenant policy).'),
                confirmLabel: hv.highValue ? 'Unflag' : 'Flag',
                reason: true,
              });
              if (!ok) return;
              await put(`/api/v1/mailboxes/${seg(m.id)}/high-value`, { highValue: !hv.highValue, reason: ok.reason || undefined });
              reload();
            }),
          },
          hv.highValue ? 'Unflag high-value' : 'Flag high-value',
        )
      : null;
    return h('span', { class: 'hv' }, hv.highValue ? badge('high-value', 'warn') : null, ' ', toggle);
  } catch {
    return null;
  }
}

export function appPasswordsTable(list: AppPassword[], revoke: ((a: AppPassword) => Promise<void>) | null): HTMLElement {
  return table(
    [
      { label: 'Name', cell: (a) => a.name },
      { label: 'Scopes', cell: (a) => a.scopes.join(', ') },
      { label: 'Created', cell: (a) => [`${fmtDate(a.createdAt)} by `, h('span', { title: a.createdBy }, a.createdByName ?? a.createdBy)] },
      { label: 'Last used', cell: (a) => fmtDate(a.lastUsedAt) },
      { label: '', cell: (a) => (revoke ? h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: guard(() => revoke(a)) }, `Revoke ${a.name}`) : null) },
    ],
    list,
    'App passwords',
    'No app passwords.',
  );
}

export async function appPasswordsSection(m: Mailbox, reload: () => void): Promise<HTMLElement | null> {
  let list: AppPassword[];
  try {
    list = await get<AppPassword[]>(`/api/v1/mailboxes/${seg(m.id)}/app-passwords`);
  } catch {
    return null;
  }
  const revoke = can('mailboxes.suspend')
    ? async (a: AppPassword) => {
        const ok = await confirmDialog({
          title: 'Revoke this app password?',
          objectName: `${a.name} (${m.address})`,
          body: h('p', null, 'Mail clients that use it stop working at once.'),
          confirmLabel: 'Revoke',
          danger: true,
        });
        if (!ok) return;
        await del(`/api/v1/mailboxes/${seg(m.id)}/app-passwords/${seg(a.id)}`);
        toast('App password revoked');
        reload();
      }
    : null;
  return section('App passwords', h('p', { class: 'muted' }, 'Owners create these for their mail clients in self-service; revoke any that should not exist.'), appPasswordsTable(list, revoke));
}

/** Emergency resets in the caller's scope (a tenant admin: their tenant; an operator: all), newest first. */
export async function emergencyResets(status?: 'pending-approval'): Promise<Reset[]> {
  return get<Reset[]>('/api/v1/resets', { kind: 'emergency', limit: '200', ...(status ? { status } : {}) });
}

/** The second approver's queue: emergency resets waiting for approval. */
export async function approvalsPage(): Promise<Node> {
  const root = h('div', null, h('h1', null, 'Approvals'));
  if (!can('resets.approve')) {
    root.append(notice('You do not hold the permission to approve emergency resets.'));
    return root;
  }
  const box = h('div');
  root.append(h('p', { class: 'muted' }, 'Emergency resets wait here for a second person. You cannot approve your own requests.'), box);
  const load = async () => {
    try {
      const [pending, resets] = await Promise.all([emergencyResets('pending-approval'), emergencyResets()]);
      const done = resets.filter((r) => r.status !== 'pending-approval').slice(0, 20);
      replace(
        box,
        section(
          `Waiting for approval (${pending.length})`,
          resetsTable(pending, () => void load(), true),
          h('p', { class: 'muted' }, pending.length ? '' : 'Nothing waits for approval.'),
        ),
        section(
          'Recently decided',
          resetsTable(done, () => void load(), true),
        ),
      );
    } catch (err) {
      replace(box, alertBox(err));
    }
  };
  await load();
  return root;
}
