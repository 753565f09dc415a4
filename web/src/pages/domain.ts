/** A domain: DNS records to publish (copyable, zone snippet), DKIM keys, catch-all, mailboxes, aliases, deletion. */
import { del, get, patch, post, put, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { navigate, type RouteContext } from '../lib/router.js';
import { can } from '../lib/session.js';
import type { Alias, DeleteIntent, DkimKey, Domain, Mailbox, Tenant } from '../lib/types.js';
import { dnsSection, templateSection, timelineSection } from './domain-dns.js';
import { alertBox, badge, confirmDialog, dl, fmtDate, form, guard, notice, pagedList, section, table, toast } from '../lib/ui.js';
import { createMailboxForm } from './mailbox-create.js';
import { domainRequiredSection } from './required-addresses.js';
import { MAILBOX_FILTERS, mailboxColumns } from './tenants.js';

function dkimSection(d: Domain, keys: DkimKey[], reload: () => void): HTMLElement {
  const manage = can('domains.manage');
  const act = (k: DkimKey, what: 'activate' | 'retire') =>
    h(
      'button',
      {
        type: 'button',
        class: what === 'retire' ? 'btn btn-small btn-danger' : 'btn btn-small',
        onclick: guard(async () => {
          const ok = await confirmDialog({
            title: what === 'activate' ? 'Sign with this key?' : 'Retire this key?',
            objectName: `${k.selector}._domainkey.${d.name}`,
            body: h(
              'p',
              null,
              what === 'activate'
                ? 'Activate only once DNS publishes the new selector, or receivers will fail DKIM.'
                : 'It is removed from the expected DNS records; mail it signed may fail verification afterwards.',
            ),
            confirmLabel: what === 'activate' ? 'Activate' : 'Retire',
            danger: what === 'retire',
          });
          if (!ok) return;
          await post(`/api/v1/domains/${seg(d.id)}/dkim/${seg(k.id)}/${what}`);
          toast(`Key ${k.selector} ${what === 'activate' ? 'activated' : 'retired'}`);
          reload();
        }),
      },
      what === 'activate' ? 'Activate' : 'Retire',
    );
  const rotate = manage
    ? h(
        'button',
        {
          type: 'button',
          class: 'btn',
          onclick: guard(async () => {
            const ok = await confirmDialog({
              title: 'Publish new DKIM keys?',
              objectName: d.name,
              body: h('p', null, 'New selectors are generated; publish them in DNS, then activate them here.'),
              confirmLabel: 'Generate keys',
            });
            if (!ok) return;
            await post(`/api/v1/domains/${seg(d.id)}/dkim/rotate`, {});
            toast('New DKIM keys generated');
            reload();
          }),
        },
        'Rotate keys',
      )
    : null;
  return section(
    'DKIM keys',
    table(
      [
        { label: 'Selector', cell: (k) => h('code', null, k.selector) },
        { label: 'Algorithm', cell: (k) => k.algorithm },
        { label: 'Status', cell: (k) => badge(k.status) },
        { label: 'Created', cell: (k) => fmtDate(k.createdAt) },
        { label: 'Actions', cell: (k) => (manage && !k.retiredAt ? [k.status !== 'active' ? act(k, 'activate') : null, ' ', k.status !== 'active' ? act(k, 'retire') : null] : null) },
      ],
      keys,
      'DKIM keys',
    ),
    rotate,
  );
}

function catchAllSection(d: Domain, reload: () => void): HTMLElement {
  if (!can('forwarding.manage')) return section('Catch-all', h('p', null, d.catchAll ? `Delivers unknown addresses to ${d.catchAll}` : 'Off: mail to unknown addresses is refused.'));
  const f = form({
    submitLabel: 'Save catch-all',
    fields: [
      { name: 'target', label: 'Deliver unknown addresses to', type: 'email', value: d.catchAll ?? '', help: 'Off by default. Leave empty to turn it off: catch-alls attract spam and hide typos.' },
    ],
    async onSubmit(v) {
      const target = String(v.target).trim();
      if (!target && d.catchAll) {
        const ok = await confirmDialog({ title: 'Turn the catch-all off?', objectName: d.name, confirmLabel: 'Turn off', danger: true });
        if (!ok) return;
      }
      await put(`/api/v1/domains/${seg(d.id)}/catch-all`, { target: target || null });
      toast(target ? `Catch-all set to ${target}` : 'Catch-all turned off');
      reload();
    },
  });
  return section('Catch-all', f.el);
}

function aliasEditor(a: Alias, reload: () => void): HTMLElement {
  if (!can('forwarding.manage')) return h('span');
  const f = form({
    class: 'form form-inline',
    submitLabel: 'Save',
    fields: [
      { name: 'targets', label: `Targets of ${a.address}`, value: a.targets.join(', '), required: true, help: 'Comma-separated addresses.' },
      {
        name: 'status',
        label: 'Status',
        type: 'select',
        value: a.status,
        options: [
          ['active', 'Active'],
          ['disabled', 'Disabled'],
        ],
      },
    ],
    async onSubmit(v) {
      await patch(`/api/v1/aliases/${seg(a.id)}`, { targets: splitList(String(v.targets)), status: v.status });
      toast(`Alias ${a.address} saved`);
      reload();
    },
    extraButtons: [
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-danger',
          onclick: guard(async () => {
            const ok = await confirmDialog({ title: 'Delete this alias?', objectName: a.address, confirmLabel: 'Delete alias', danger: true, requireTyping: true, reason: true });
            if (!ok) return;
            await del(`/api/v1/aliases/${seg(a.id)}`, { reason: ok.reason || undefined });
            toast(`Alias ${a.address} deleted`);
            reload();
          }),
        },
        'Delete',
      ),
    ],
  });
  return h('details', { class: 'inline-edit' }, h('summary', null, 'Edit'), f.el);
}

export const splitList = (s: string) =>
  s
    .split(/[\s,;]+/)
    .map((x) => x.trim())
    .filter(Boolean);

function aliasesSection(d: Domain): HTMLElement {
  const list: ReturnType<typeof pagedList<Alias>> = pagedList<Alias>({
    caption: 'Aliases',
    filters: [{ name: 'q', label: 'Search aliases', type: 'search' }],
    columns: [
      { label: 'Alias', cell: (a) => a.address },
      { label: 'Delivers to', cell: (a) => a.targets.join(', ') },
      { label: 'Status', cell: (a) => badge(a.status) },
      { label: 'Edit', cell: (a) => aliasEditor(a, () => void list.reload()) },
    ],
    load: (q, page) => get<Alias[]>(`/api/v1/domains/${seg(d.id)}/aliases`, { ...q, limit: page.limit, after: page.after }),
    cursor: (a) => a.id,
    empty: 'No aliases.',
  });
  const create = can('forwarding.manage')
    ? form({
        submitLabel: 'Create alias',
        fields: [
          { name: 'localPart', label: `Alias (before @${d.name})`, required: true },
          { name: 'targets', label: 'Deliver to', required: true, help: 'Comma-separated: mailboxes or aliases of this tenant, or external addresses.' },
        ],
        async onSubmit(v, handle) {
          const a = await post<Alias>(`/api/v1/domains/${seg(d.id)}/aliases`, { localPart: String(v.localPart).trim(), targets: splitList(String(v.targets)) });
          toast(`Alias ${a.address} created`);
          handle.el.reset();
          void list.reload();
        },
      })
    : null;
  const s = section('Aliases', list, create ? h('h3', null, 'New alias') : null, create?.el);
  s.id = 'aliases';
  return s;
}

async function aliasOfSection(d: Domain, reload: () => void): Promise<HTMLElement | null> {
  if (!can('domains.manage')) return null;
  const primaries = (await get<Domain[]>(`/api/v1/tenants/${seg(d.tenantId)}/domains`, { isAlias: 'false', limit: '500' }).catch(() => [] as Domain[])).filter((x) => x.id !== d.id);
  const f = form({
    submitLabel: 'Save',
    fields: [
      {
        name: 'aliasOf',
        label: 'This domain is',
        type: 'select',
        value: d.aliasOf ?? '',
        options: [['', 'a primary domain (its own mailboxes)'], ...primaries.map((x): [string, string] => [x.id, `an alias of ${x.name}`])],
      },
      { name: 'reason', label: 'Reason (recorded in the audit log)' },
    ],
    async onSubmit(v) {
      const target = String(v.aliasOf);
      if (target !== (d.aliasOf ?? '')) {
        const ok = await confirmDialog({
          title: target ? 'Make this domain an alias?' : 'Make this a primary domain again?',
          objectName: d.name,
          body: h(
            'p',
            null,
            target ? 'Mail to any address of this domain is delivered to the same local part of the primary domain.' : 'Addresses of this domain stop resolving to the primary domain.',
          ),
          confirmLabel: 'Change',
          danger: true,
        });
        if (!ok) return;
      }
      await patch(`/api/v1/domains/${seg(d.id)}`, { aliasOf: target || null, reason: String(v.reason).trim() || undefined });
      toast('Domain saved');
      reload();
    },
  });
  return h('details', { class: 'card' }, h('summary', null, h('h2', { class: 'inline' }, 'Domain alias')), f.el);
}

async function deleteDomain(d: Domain): Promise<void> {
  const intent = await del<DeleteIntent>(`/api/v1/domains/${seg(d.id)}`);
  const impact = Object.entries(intent.impact ?? {}).map(([k, v]) => h('li', null, `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`));
  const ok = await confirmDialog({
    title: 'Delete this domain?',
    objectName: d.name,
    body: h(
      'div',
      null,
      h('p', null, 'The domain, its mailboxes (with their mail) and aliases go to the recycle bin, from which they can be restored until purged.'),
      impact.length ? h('ul', null, impact) : null,
    ),
    confirmLabel: 'Delete domain',
    danger: true,
    requireTyping: true,
    reason: true,
  });
  if (!ok) return;
  await del(`/api/v1/domains/${seg(d.id)}`, { confirm: intent.intent.id, reason: ok.reason || undefined });
  toast(`Domain ${d.name} moved to the recycle bin`);
  navigate(`/tenants/${seg(d.tenantId)}?tab=bin`);
}

/** The domain page's parts, one tab each (the page was one 5,000-px scroll). */
const TABS: Array<[key: string, label: string]> = [
  ['dns', 'Overview & DNS'],
  ['mailboxes', 'Mailboxes'],
  ['aliases', 'Aliases & catch-all'],
  ['dkim', 'DKIM keys'],
  ['template', 'Template'],
  ['timeline', 'Timeline'],
  ['settings', 'Settings & deletion'],
];

export async function domainPage(ctx: RouteContext): Promise<Node> {
  const id = ctx.params.domainId!;
  const root = h('div');
  const shown = TABS.filter(([k]) => (k !== 'timeline' || can('audit.read')) && (k !== 'settings' || can('domains.manage')));
  const tab = shown.some(([k]) => k === ctx.query.get('tab')) ? ctx.query.get('tab')! : 'dns';
  const load = async () => {
    const d = await get<Domain>(`/api/v1/domains/${seg(id)}`);
    const reload = () => void load().catch((err: unknown) => root.prepend(alertBox(err)));
    const [tenant, primary] = await Promise.all([
      get<Tenant>(`/api/v1/tenants/${seg(d.tenantId)}`).catch(() => null),
      d.aliasOf ? get<Domain>(`/api/v1/domains/${seg(d.aliasOf)}`).catch(() => null) : Promise.resolve(null),
    ]);
    let body: Array<Node | null>;
    switch (tab) {
      case 'mailboxes': {
        const mailboxes = pagedList<Mailbox>({
          caption: 'Mailboxes',
          filters: MAILBOX_FILTERS,
          columns: mailboxColumns(),
          load: (q, page) => get<Mailbox[]>(`/api/v1/domains/${seg(d.id)}/mailboxes`, { ...q, limit: page.limit, after: page.after }),
          cursor: (m) => m.id,
          empty: 'No mailboxes match.',
        });
        body = [
          section('Mailboxes', mailboxes),
          can('mailboxes.create') && !d.aliasOf
            ? section(
                'New mailbox',
                createMailboxForm([d], () => void mailboxes.reload()),
              )
            : null,
        ];
        break;
      }
      case 'aliases':
        body = [aliasesSection(d), catchAllSection(d, reload)];
        break;
      case 'dkim':
        body = [dkimSection(d, await get<DkimKey[]>(`/api/v1/domains/${seg(id)}/dkim`).catch(() => [] as DkimKey[]), reload)];
        break;
      case 'template':
        body = [await templateSection(d, reload)];
        break;
      case 'timeline':
        body = [await timelineSection(d)];
        break;
      case 'settings':
        body = [
          await aliasOfSection(d, reload),
          section(
            'Danger zone',
            h('p', null, 'The domain, its mailboxes (with their mail) and aliases go to the recycle bin, from which they can be restored until purged.'),
            h('button', { type: 'button', class: 'btn btn-danger', onclick: guard(() => deleteDomain(d)) }, `Delete ${d.name}…`),
          ),
        ];
        break;
      default:
        body = [
          section(
            'Summary',
            dl([
              ['Tenant', tenant ? h('a', { href: `/tenants/${seg(d.tenantId)}` }, tenant.name) : d.tenantId],
              ['Status', badge(d.status)],
              ['Verification', badge(d.verification)],
              ['Domain alias', d.aliasOf ? ['an alias of ', primary ? h('a', { href: `/domains/${seg(primary.id)}` }, primary.name) : d.aliasOf] : 'no (a primary domain with its own mailboxes)'],
              ['Catch-all', d.catchAll ?? 'off (mail to unknown addresses is refused)'],
              ['Added', fmtDate(d.createdAt)],
            ]),
          ),
          d.aliasOf ? notice('This domain is an alias: mail to user@this-domain goes to the same local part of the primary domain.') : null,
          await domainRequiredSection(d, reload),
          await dnsSection(d),
        ];
    }
    replace(
      root,
      h(
        'nav',
        { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        h('a', { href: '/tenants' }, 'Tenants'),
        ' / ',
        h('a', { href: `/tenants/${seg(d.tenantId)}` }, tenant?.name ?? 'Tenant'),
        ' / ',
        h('span', { 'aria-current': 'page' }, d.name),
      ),
      h('h1', null, d.name),
      h(
        'nav',
        { class: 'tabs', 'aria-label': 'Domain sections' },
        shown.map(([k, label]) => h('a', { href: `/domains/${seg(d.id)}?tab=${k}`, 'aria-current': k === tab ? 'page' : null }, label)),
      ),
      body,
    );
  };
  await load();
  return root;
}
