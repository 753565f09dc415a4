/** People: operators (platform) and invitations; tenant admins are on their tenant's page. */
import { get, patch, post, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { can, isOperator, ownTenant, session } from '../lib/session.js';
import type { Principal, SetupLink } from '../lib/types.js';
import { tokensSection } from './tokens.js';
import { badge, confirmDialog, copyButton, fmtDate, form, guard, notice, pagedList, section, toast } from '../lib/ui.js';

const ROLES: Array<[string, string]> = [
  ['tenant-admin', 'Tenant admin'],
  ['tenant-auditor', 'Auditor (read only)'],
  ['helpdesk', 'Helpdesk'],
];

export const PEOPLE_FILTERS = [
  { name: 'q', label: 'Search people', type: 'search' as const },
  {
    name: 'status',
    label: 'Status',
    type: 'select' as const,
    options: [
      ['', 'Any'],
      ['active', 'Active'],
      ['disabled', 'Disabled'],
    ] as Array<[string, string]>,
  },
];

export function invitePersonForm(tenantId: string | null, done?: () => void): HTMLElement {
  const result = h('div', { 'aria-live': 'polite' });
  const f = form({
    submitLabel: tenantId ? 'Invite admin' : 'Invite operator',
    fields: [
      { name: 'name', label: 'Name', required: true },
      { name: 'email', label: 'Email', type: 'email', required: true },
      ...(tenantId ? [{ name: 'role', label: 'Role', type: 'select' as const, options: ROLES }] : []),
    ],
    async onSubmit(v, handle) {
      const body: Record<string, unknown> = { name: String(v.name).trim(), email: String(v.email).trim() };
      if (tenantId) body.role = v.role;
      const r = await post<{ id: string; email: string; setup: SetupLink }>(tenantId ? `/api/v1/tenants/${seg(tenantId)}/principals` : '/api/v1/principals', body);
      handle.el.reset();
      replace(
        result,
        notice(
          h(
            'div',
            null,
            h('p', null, `Invitation for ${r.email} created. Give them this single-use link (expires ${fmtDate(r.setup.expiresAt)}):`),
            h('p', null, h('code', { class: 'wrap' }, r.setup.url), ' ', copyButton(r.setup.url, 'Copy link')),
          ),
          'ok',
        ),
      );
      done?.();
    },
  });
  return h('div', null, result, f.el);
}

function actions(p: Principal, reload: () => void): HTMLElement | null {
  if (!can('principals.manage') || p.id === session.info?.principal?.id) return null;
  const toggle = h(
    'button',
    {
      type: 'button',
      class: p.status === 'active' ? 'btn btn-small btn-danger' : 'btn btn-small',
      onclick: guard(async () => {
        const disabling = p.status === 'active';
        const ok = await confirmDialog({
          title: disabling ? 'Disable this person?' : 'Enable this person?',
          objectName: p.email,
          body: disabling ? h('p', null, 'Their sessions end and their API tokens are revoked at once.') : null,
          confirmLabel: disabling ? 'Disable' : 'Enable',
          danger: disabling,
          reason: true,
        });
        if (!ok) return;
        await patch(`/api/v1/principals/${seg(p.id)}`, { status: disabling ? 'disabled' : 'active', reason: ok.reason || undefined });
        toast(`${p.email} ${disabling ? 'disabled' : 'enabled'}`);
        reload();
      }),
    },
    p.status === 'active' ? 'Disable' : 'Enable',
  );
  const reset = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-small',
      onclick: guard(async () => {
        const ok = await confirmDialog({
          title: 'Reset password and authenticator?',
          objectName: p.email,
          body: h('p', null, 'Both are cleared, sessions end, and a new setup link is issued for them.'),
          confirmLabel: 'Reset',
          danger: true,
          reason: true,
        });
        if (!ok) return;
        const r = await post<{ setup: SetupLink }>(`/api/v1/principals/${seg(p.id)}/reset`, { reason: ok.reason || undefined });
        await confirmDialog({
          title: 'New setup link',
          objectName: p.email,
          body: h('p', null, h('code', { class: 'wrap' }, r.setup.url), ' ', copyButton(r.setup.url, 'Copy link')),
          confirmLabel: 'Done',
        });
        reload();
      }),
    },
    'Reset login',
  );
  return h('span', { class: 'actions' }, toggle, ' ', reset);
}

export function peoplePage(): Node {
  if (!isOperator()) {
    const t = ownTenant();
    return h(
      'div',
      null,
      h('h1', null, 'People'),
      notice(h('span', null, 'Your tenant’s admins are listed on ', h('a', { href: `/tenants/${seg(t ?? '')}?tab=admins` }, 'your tenant’s Admins tab'), '.')),
    );
  }
  const list: ReturnType<typeof pagedList<Principal>> = pagedList<Principal>({
    caption: 'Operators',
    filters: PEOPLE_FILTERS,
    columns: [
      { label: 'Name', cell: (p) => p.name },
      { label: 'Email', cell: (p) => p.email },
      { label: 'Status', cell: (p) => [badge(p.status), ' ', p.totpEnabled ? badge('2FA on', 'ok') : badge('2FA not set up', 'warn')] },
      { label: 'Last sign-in', cell: (p) => fmtDate(p.lastLoginAt) },
      { label: 'Actions', cell: (p) => actions(p, () => void list.reload()) },
    ],
    load: (q, page) => get<Principal[]>('/api/v1/principals', { ...q, limit: page.limit, after: page.after }),
    cursor: (p) => p.id,
  });
  return h(
    'div',
    null,
    h('h1', null, 'People'),
    section('Operators', list),
    can('principals.manage')
      ? section(
          'Invite an operator',
          invitePersonForm(null, () => void list.reload()),
        )
      : null,
    can('tokens.read') ? h('div', null, h('h2', null, 'Operator API tokens'), tokensSection(null)) : null,
  );
}
