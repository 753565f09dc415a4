/** API tokens of a tenant (or of the platform, for operators): named, scoped, optionally read-only and expiring; the secret is shown once. */
import { del, get, post, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { can } from '../lib/session.js';
import { badge, confirmDialog, copyButton, fmtDate, form, guard, notice, opt, pagedList, section, toast } from '../lib/ui.js';

interface Token {
  id: string;
  tenantId: string | null;
  name: string;
  role: string | null;
  permissions: string[];
  readOnly: boolean;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

const ROLES: Array<[string, string]> = [
  ['tenant-admin', 'Tenant admin'],
  ['tenant-auditor', 'Auditor (read only)'],
  ['helpdesk', 'Helpdesk'],
];

export function tokensSection(tenantId: string | null): HTMLElement {
  const base = tenantId ? `/api/v1/tenants/${seg(tenantId)}/tokens` : '/api/v1/tokens';
  const list: ReturnType<typeof pagedList<Token>> = pagedList<Token>({
    caption: 'API tokens',
    filters: [
      { name: 'q', label: 'Search tokens', type: 'search' },
      {
        name: 'active',
        label: 'State',
        type: 'select',
        options: [
          ['', 'Any'],
          ['true', 'Live'],
          ['false', 'Revoked or expired'],
        ],
      },
    ],
    columns: [
      { label: 'Name', cell: (t) => t.name },
      { label: 'Role', cell: (t) => [t.role ?? 'custom', t.readOnly ? [' ', badge('read-only', 'info')] : null] },
      { label: 'State', cell: (t) => (t.revokedAt ? badge('revoked', 'bad') : t.expiresAt && Date.parse(t.expiresAt) < Date.now() ? badge('expired', 'bad') : badge('live', 'ok')) },
      { label: 'Expires', cell: (t) => fmtDate(t.expiresAt) },
      { label: 'Last used', cell: (t) => fmtDate(t.lastUsedAt) },
      {
        label: '',
        cell: (t) =>
          can('tokens.manage') && !t.revokedAt
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'btn btn-small btn-danger',
                  onclick: guard(async () => {
                    const ok = await confirmDialog({
                      title: 'Revoke this token?',
                      objectName: t.name,
                      body: h('p', null, 'Scripts using it stop working at once.'),
                      confirmLabel: 'Revoke token',
                      danger: true,
                    });
                    if (!ok) return;
                    await del(`/api/v1/tokens/${seg(t.id)}`);
                    toast(`Token ${t.name} revoked`);
                    void list.reload();
                  }),
                },
                'Revoke',
              )
            : null,
      },
    ],
    load: (q, page) => get<Token[]>(base, { ...q, limit: page.limit, after: page.after }),
    cursor: (t) => t.id,
    empty: 'No API tokens.',
  });
  const created = h('div', { 'aria-live': 'polite' });
  const f = can('tokens.manage')
    ? form({
        submitLabel: 'Create token',
        fields: [
          { name: 'name', label: 'Token name', required: true, help: 'What uses it, e.g. “billing sync”.' },
          ...(tenantId ? [{ name: 'role', label: 'Role', type: 'select' as const, options: ROLES }] : []),
          { name: 'readOnly', label: 'Read-only', type: 'checkbox' },
          { name: 'expiresAt', label: 'Expires', type: 'datetime-local', help: 'Optional.' },
        ],
        async onSubmit(v, handle) {
          const exp = opt(v.expiresAt);
          const r = await post<{ name: string; token: string }>(base, {
            name: String(v.name).trim(),
            role: tenantId ? v.role : undefined,
            readOnly: v.readOnly === true || undefined,
            expiresAt: exp ? new Date(exp).toISOString() : undefined,
          });
          handle.el.reset();
          replace(
            created,
            notice(h('div', null, h('p', null, `Token “${r.name}” — shown only now:`), h('p', null, h('code', { class: 'secret' }, r.token), ' ', copyButton(r.token, 'Copy token'))), 'ok'),
          );
          void list.reload();
        },
      })
    : null;
  return h('div', null, section('API tokens', list), f ? section('New API token', created, f.el) : null);
}
