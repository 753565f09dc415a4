/** Tenants (operators) and one tenant's page: domains, mailboxes, aliases, admins, recycle bin, settings. */
import { get, patch, post, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { navigate, type RouteContext } from '../lib/router.js';
import { can, isOperator } from '../lib/session.js';
import type { Alias, Domain, Mailbox, Principal, Tenant } from '../lib/types.js';
import { alertBox, badge, fmtBytes, fmtDate, form, notice, opt, pagedList, section, table, toast } from '../lib/ui.js';
import { bulkTab } from './bulk.js';
import { migrationsTab } from './migrations.js';
import { createMailboxForm } from './mailbox-create.js';
import { accessPolicySection, forwardingTab } from './policy.js';
import { sharingTab } from './access.js';
import { templatesTab } from './templates.js';
import { requiredDestinationSection } from './required-addresses.js';
import { tokensSection } from './tokens.js';
import { invitePersonForm, PEOPLE_FILTERS } from './people.js';

export function tenantsPage(): Node {
  const list = pagedList<Tenant>({
    caption: 'Tenants',
    filters: [{ name: 'q', label: 'Search tenants', type: 'search' }],
    columns: [
      { label: 'Name', cell: (t) => h('a', { href: `/tenants/${seg(t.id)}` }, t.name) },
      { label: 'Status', cell: (t) => badge(t.status) },
      { label: 'Quota used', cell: (t) => `${fmtBytes(t.quota.usedBytes)} / ${t.quota.poolBytes === null ? 'no pool' : fmtBytes(t.quota.poolBytes)}` },
      { label: 'Created', cell: (t) => fmtDate(t.createdAt) },
    ],
    load: (q, page) => get<Tenant[]>('/api/v1/tenants', { ...q, limit: page.limit, after: page.after }),
    cursor: (t) => t.id,
    empty: 'No tenants yet. Create the first one below.',
  });
  const create = can('tenants.manage')
    ? form({
        submitLabel: 'Create tenant',
        fields: [{ name: 'name', label: 'Tenant name', required: true, help: 'The client organisation, e.g. “Acme Ltd”.' }],
        async onSubmit(v) {
          const t = await post<{ id: string; name: string }>('/api/v1/tenants', { name: String(v.name).trim() });
          toast(`Tenant ${t.name} created`);
          navigate(`/tenants/${seg(t.id)}`);
        },
      })
    : null;
  return h('div', null, h('h1', null, 'Tenants'), section('All tenants', list), create ? section('New tenant', create.el) : null);
}

const TABS: Array<[string, string]> = [
  ['domains', 'Domains'],
  ['mailboxes', 'Mailboxes'],
  ['aliases', 'Aliases'],
  ['forwarding', 'Forwarding'],
  ['sharing', 'Sharing'],
  ['admins', 'Admins'],
  ['tokens', 'API tokens'],
  ['bulk', 'Bulk import'],
  ['migrations', 'Migrations'],
  ['templates', 'Templates'],
  ['bin', 'Recycle bin'],
  ['settings', 'Settings'],
];

export async function tenantPage(ctx: RouteContext): Promise<Node> {
  const id = ctx.params.tenantId!;
  const tenant = await get<Tenant>(`/api/v1/tenants/${seg(id)}`);
  const tab = TABS.some(([k]) => k === ctx.query.get('tab')) ? ctx.query.get('tab')! : 'domains';
  const tabs = h(
    'nav',
    { class: 'tabs', 'aria-label': 'Tenant sections' },
    TABS.filter(([k]) => (k !== 'admins' || can('principals.read')) && (k !== 'tokens' || can('tokens.read'))).map(([k, label]) =>
      h('a', { href: `/tenants/${seg(id)}?tab=${k}`, 'aria-current': k === tab ? 'page' : null }, label),
    ),
  );
  let body: Node;
  switch (tab) {
    case 'mailboxes':
      body = await mailboxesTab(tenant);
      break;
    case 'aliases':
      body = await aliasesTab(tenant);
      break;
    case 'admins':
      body = adminsTab(tenant);
      break;
    case 'forwarding':
      body = await forwardingTab(tenant);
      break;
    case 'sharing':
      body = await sharingTab(tenant);
      break;
    case 'tokens':
      body = tokensSection(tenant.id);
      break;
    case 'bulk':
      body = bulkTab(tenant);
      break;
    case 'migrations':
      body = migrationsTab(tenant);
      break;
    case 'templates':
      body = await templatesTab(tenant);
      break;
    case 'bin':
      body = await binTab(tenant);
      break;
    case 'settings':
      body = h(
        'div',
        null,
        settingsTab(tenant),
        await requiredDestinationSection(tenant.id, () => navigate(`/tenants/${seg(tenant.id)}?tab=settings`, { replace: true })),
        await accessPolicySection(tenant),
      );
      break;
    default:
      body = domainsTab(tenant);
  }
  return h(
    'div',
    null,
    isOperator() ? h('p', { class: 'crumbs' }, h('a', { href: '/tenants' }, 'Tenants'), ' / ') : null,
    h('h1', { title: tenant.id }, tenant.name),
    h(
      'p',
      { class: 'muted' },
      h('span', { title: tenant.id, 'data-id': tenant.id }, 'Tenant'),
      ' · ',
      badge(tenant.status),
      ` · ${fmtBytes(tenant.quota.usedBytes)} used of ${tenant.quota.poolBytes === null ? 'no pooled quota' : fmtBytes(tenant.quota.poolBytes)}`,
    ),
    tabs,
    body,
  );
}

function domainsTab(t: Tenant): Node {
  const list = pagedList<Domain>({
    caption: 'Domains',
    filters: [
      { name: 'q', label: 'Search', type: 'search', placeholder: 'example.com' },
      {
        name: 'verification',
        label: 'Verification',
        type: 'select',
        options: [
          ['', 'Any'],
          ['pending', 'Pending'],
          ['verified', 'Verified'],
        ],
      },
      {
        name: 'isAlias',
        label: 'Kind',
        type: 'select',
        options: [
          ['', 'Any'],
          ['false', 'Primary domains'],
          ['true', 'Domain aliases'],
        ],
      },
    ],
    columns: [
      { label: 'Domain', cell: (d) => h('a', { href: `/domains/${seg(d.id)}` }, d.name) },
      { label: 'Verification', cell: (d) => badge(d.verification) },
      { label: 'Status', cell: (d) => badge(d.status) },
      { label: 'Catch-all', cell: (d) => d.catchAll ?? 'off' },
      { label: 'Alias of', cell: (d) => d.aliasOf ?? '—' },
    ],
    load: (q, page) => get<Domain[]>(`/api/v1/tenants/${seg(t.id)}/domains`, { ...q, limit: page.limit, after: page.after }),
    cursor: (d) => d.id,
    empty: 'No domains yet.',
  });
  const create = can('domains.manage')
    ? form({
        submitLabel: 'Add domain',
        fields: [{ name: 'name', label: 'Domain name', required: true, placeholder: 'example.com', help: 'DKIM keys are generated; the domain page lists the DNS records to publish.' }],
        async onSubmit(v) {
          const d = await post<{ id: string; name: string }>(`/api/v1/tenants/${seg(t.id)}/domains`, { name: String(v.name).trim().toLowerCase() });
          toast(`Domain ${d.name} added`);
          navigate(`/domains/${seg(d.id)}`);
        },
      })
    : null;
  return h('div', null, section('Domains', list), create ? section('Add a domain', create.el) : null);
}

export function mailboxColumns() {
  return [
    { label: 'Address', cell: (m: Mailbox) => h('a', { href: `/mailboxes/${seg(m.id)}` }, m.address) },
    { label: 'Owner', cell: (m: Mailbox) => `${m.owner.name} <${m.owner.email}>` },
    { label: 'Status', cell: (m: Mailbox) => [badge(m.status), m.isRole ? [' ', badge('role', 'info')] : null] },
    { label: 'Used', cell: (m: Mailbox) => `${fmtBytes(m.usedBytes)} / ${fmtBytes(m.quotaBytes)}`, class: 'num' },
  ];
}

export const MAILBOX_FILTERS = [
  { name: 'q', label: 'Search', type: 'search' as const, placeholder: 'address or owner' },
  {
    name: 'sort',
    label: 'Order',
    type: 'select' as const,
    options: [
      ['', 'Default'],
      ['address', 'Address A–Z'],
      ['-address', 'Address Z–A'],
      ['-createdAt', 'Newest first'],
      ['createdAt', 'Oldest first'],
    ] as Array<[string, string]>,
  },
  {
    name: 'status',
    label: 'Status',
    type: 'select' as const,
    options: [
      ['', 'Any'],
      ['active', 'Active'],
      ['pending', 'Pending setup'],
      ['suspended', 'Suspended'],
      ['offboarded', 'Offboarded'],
    ] as Array<[string, string]>,
  },
  {
    name: 'isRole',
    label: 'Kind',
    type: 'select' as const,
    options: [
      ['', 'Any'],
      ['false', 'Personal'],
      ['true', 'Role / shared'],
    ] as Array<[string, string]>,
  },
];

async function tenantDomains(t: Tenant): Promise<Domain[]> {
  return get<Domain[]>(`/api/v1/tenants/${seg(t.id)}/domains`, { limit: '500' });
}

async function mailboxesTab(t: Tenant): Promise<Node> {
  const domains = await tenantDomains(t);
  const domainOptions: Array<[string, string]> = [['', 'All domains'], ...domains.map((d): [string, string] => [d.id, d.name])];
  const list = pagedList<Mailbox>({
    caption: 'Mailboxes',
    filters: [...MAILBOX_FILTERS, { name: 'domainId', label: 'Domain', type: 'select', options: domainOptions }],
    columns: mailboxColumns(),
    load: (q, page) => get<Mailbox[]>(`/api/v1/tenants/${seg(t.id)}/mailboxes`, { ...q, limit: page.limit, after: page.after }),
    cursor: (m) => m.id,
    empty: 'No mailboxes match.',
  });
  const primary = domains.filter((d) => !d.aliasOf);
  const create = can('mailboxes.create') && primary.length ? createMailboxForm(primary, () => void list.reload()) : null;
  return h('div', null, section('Mailboxes', list), create ? section('New mailbox', create) : null);
}

async function aliasesTab(t: Tenant): Promise<Node> {
  const domains = await tenantDomains(t);
  const list = pagedList<Alias>({
    caption: 'Aliases',
    filters: [
      { name: 'q', label: 'Search', type: 'search' },
      { name: 'domainId', label: 'Domain', type: 'select', options: [['', 'All domains'], ...domains.map((d): [string, string] => [d.id, d.name])] },
    ],
    columns: [
      { label: 'Alias', cell: (a) => h('a', { href: `/domains/${seg(a.domainId)}?tab=aliases&alias=${seg(a.id)}` }, a.address) },
      { label: 'Delivers to', cell: (a) => a.targets.join(', ') },
      { label: 'Status', cell: (a) => badge(a.status) },
      { label: 'Created', cell: (a) => fmtDate(a.createdAt) },
    ],
    load: (q, page) => get<Alias[]>(`/api/v1/tenants/${seg(t.id)}/aliases`, { ...q, limit: page.limit, after: page.after }),
    cursor: (a) => a.id,
    empty: 'No aliases match. Create aliases on a domain’s page.',
  });
  return section('Aliases', list);
}

function adminsTab(t: Tenant): Node {
  const list = pagedList<Principal>({
    caption: 'Tenant admins',
    filters: PEOPLE_FILTERS,
    columns: [
      { label: 'Name', cell: (p) => p.name },
      { label: 'Email', cell: (p) => p.email },
      { label: 'Role', cell: (p) => p.role ?? 'custom' },
      { label: 'Status', cell: (p) => [badge(p.status), ' ', p.totpEnabled ? badge('2FA on', 'ok') : badge('2FA not set up', 'warn')] },
      { label: 'Last sign-in', cell: (p) => fmtDate(p.lastLoginAt) },
    ],
    load: (q, page) => get<Principal[]>(`/api/v1/tenants/${seg(t.id)}/principals`, { ...q, limit: page.limit, after: page.after }),
    cursor: (p) => p.id,
  });
  return h(
    'div',
    null,
    section('Admins', list),
    can('principals.manage')
      ? section(
          'Invite an admin',
          invitePersonForm(t.id, () => void list.reload()),
        )
      : null,
  );
}

async function binTab(t: Tenant): Promise<Node> {
  const box = h('div');
  const load = async () => {
    try {
      const bin = await get<{
        mailboxes: Array<{ id: string; address: string; deletedAt: string; purgeAfter: string; messageCount: number; usedBytes: number }>;
        domains: Array<{ id: string; name: string; deletedAt: string; purgeAfter: string; mailboxes: number }>;
      }>(`/api/v1/tenants/${seg(t.id)}/recycle-bin`);
      const restore = (kind: 'mailboxes' | 'domains', id: string, name: string) =>
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small',
            onclick: async () => {
              try {
                await post(`/api/v1/${kind}/${seg(id)}/restore`, {});
                toast(`${name} restored`);
                await load();
              } catch (err) {
                box.prepend(alertBox(err));
              }
            },
          },
          `Restore ${name}`,
        );
      replace(
        box,
        section(
          'Deleted domains',
          table(
            [
              { label: 'Domain', cell: (d) => d.name },
              { label: 'Mailboxes', cell: (d) => d.mailboxes },
              { label: 'Deleted', cell: (d) => fmtDate(d.deletedAt) },
              { label: 'Purged after', cell: (d) => fmtDate(d.purgeAfter) },
              { label: '', cell: (d) => (can('domains.manage') ? restore('domains', d.id, d.name) : null) },
            ],
            bin.domains,
            'Deleted domains',
            'No deleted domains.',
          ),
        ),
        section(
          'Deleted mailboxes',
          table(
            [
              { label: 'Mailbox', cell: (m) => m.address },
              { label: 'Messages', cell: (m) => m.messageCount },
              { label: 'Deleted', cell: (m) => fmtDate(m.deletedAt) },
              { label: 'Purged after', cell: (m) => fmtDate(m.purgeAfter) },
              { label: '', cell: (m) => (can('mailboxes.delete') ? restore('mailboxes', m.id, m.address) : null) },
            ],
            bin.mailboxes,
            'Deleted mailboxes',
            'No deleted mailboxes.',
          ),
        ),
      );
    } catch (err) {
      replace(box, alertBox(err));
    }
  };
  await load();
  return box;
}

function settingsTab(t: Tenant): Node {
  if (!can('tenants.manage')) return notice('You may view this tenant but not change its settings.');
  const f = form({
    submitLabel: 'Save settings',
    fields: [
      { name: 'name', label: 'Tenant name', required: true, value: t.name },
      {
        name: 'quotaMiB',
        label: 'Pooled quota (MiB)',
        type: 'number',
        value: t.quota.poolBytes === null ? '' : Math.round(t.quota.poolBytes / 1048576),
        help: 'Shared by all the tenant’s mailboxes. Empty: no pool.',
      },
    ],
    fieldAlias: { quotaBytes: 'quotaMiB' },
    async onSubmit(v) {
      const q = opt(v.quotaMiB);
      await patch(`/api/v1/tenants/${seg(t.id)}`, { name: String(v.name).trim(), quotaBytes: q === undefined ? null : Math.round(Number(q) * 1048576) });
      toast('Settings saved');
      navigate(`/tenants/${seg(t.id)}?tab=settings`, { replace: true });
    },
  });
  return h(
    'div',
    null,
    section('Settings', f.el),
    can('mailboxes.export')
      ? section(
          'Export',
          h('p', null, 'Download every mailbox of this tenant (all folders) with the control data (mailboxes, aliases, forwards, ownership records, audit extract) as one archive. Audited.'),
          h(
            'div',
            { class: 'action-bar' },
            h('a', { class: 'btn', href: `/api/v1/tenants/${seg(t.id)}/export?format=mbox`, download: '', 'data-testid': 'tenant-export-mbox' }, 'Export as mbox'),
            h('a', { class: 'btn', href: `/api/v1/tenants/${seg(t.id)}/export?format=maildir`, download: '', 'data-testid': 'tenant-export-maildir' }, 'Export as Maildir'),
          ),
        )
      : null,
  );
}
