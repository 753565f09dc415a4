/**
 * A mailbox: the ownership card first (owner, business owner, reset destination, every reset
 * path, last change, rollback), then actions, settings, forwards and send-as.
 */
import { mailboxSpamSection } from './spam.js';
import { del, get, patch, post, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { navigate, type RouteContext } from '../lib/router.js';
import { can } from '../lib/session.js';
import type { ActorRef, DeleteIntent, Forward, Mailbox, Ownership, Person, SendAsGrant, Tenant } from '../lib/types.js';
import { appPasswordsSection, highValueControl, resetsSection } from './resets.js';
import { alertBox, badge, confirmDialog, fmtBytes, fmtDate, form, guard, opt, section, table, toast } from '../lib/ui.js';
import { mailboxMigrationSection } from './migrations.js';
import { accessSection, ownershipAccess, sharedMailboxesSection } from './access.js';

const person = (p: Person | null) => (p ? h('span', null, p.name, ' ', h('span', { class: 'muted' }, `<${p.email}>`)) : h('span', { class: 'muted' }, 'not recorded'));
const ACTOR_KIND: Record<string, string> = { operator: 'operator', 'tenant-admin': 'admin', token: 'API token', system: 'system', public: 'a setup link', 'mailbox-owner': 'the owner' };
/** Who made a change, by name (the id on hover). */
const actor = (a: ActorRef, names: Record<string, string> | undefined) =>
  a.type === 'public' || a.type === 'mailbox-owner' || !a.id
    ? (ACTOR_KIND[a.type] ?? a.type)
    : a.type === 'system'
      ? `system (${a.id})`
      : h('span', { title: a.id }, `${ACTOR_KIND[a.type] ?? a.type} ${names?.[a.id] ?? a.id}`);

const FIELD_LABELS: Record<string, string> = {
  resetDestination: 'reset destination',
  displayName: 'display name',
  quotaBytes: 'quota',
  isRole: 'role account',
  businessOwner: 'business owner',
  owner: 'owner of record',
  status: 'status',
};
const showValue = (k: string, v: unknown): string =>
  v === null || v === undefined
    ? 'none'
    : k === 'quotaBytes' && typeof v === 'number'
      ? fmtBytes(v)
      : typeof v === 'object' && v && 'email' in v
        ? `${(v as Person).name} <${(v as Person).email}>`
        : typeof v === 'boolean'
          ? v
            ? 'yes'
            : 'no'
          : String(v);
/** What a rollback puts back, field by field: "reset destination → alice@home.example". */
const restoresList = (r: Ownership['rollback'][number]) =>
  h(
    'ul',
    { class: 'restores' },
    Object.entries(r.restores).map(([k, v]) => h('li', null, `${FIELD_LABELS[k] ?? k} → `, h('strong', null, showValue(k, v)))),
  );

function ownershipCard(o: Ownership, reload: () => void): HTMLElement {
  const rollbackButton = (r: Ownership['rollback'][number]) =>
    can('mailboxes.manage')
      ? h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small',
            onclick: guard(async () => {
              const ok = await confirmDialog({
                title: `Undo “${r.event}”?`,
                objectName: o.address,
                body: h('div', null, h('p', null, `This puts back what was recorded before that change of ${fmtDate(r.at)}:`), restoresList(r)),
                confirmLabel: 'Put these values back',
                danger: true,
                reason: true,
              });
              if (!ok) return;
              await post(`/api/v1/mailboxes/${seg(o.mailboxId)}/rollback`, { eventId: r.eventId, reason: ok.reason || undefined });
              toast('Rolled back');
              reload();
            }),
          },
          `Put back: ${Object.entries(r.restores)
            .map(([k, v]) => `${FIELD_LABELS[k] ?? k} → ${showValue(k, v)}`)
            .join('; ')}…`,
        )
      : null;
  return h(
    'section',
    { class: 'card ownership', 'aria-labelledby': 'own-title', 'data-testid': 'ownership-card' },
    h('h2', { id: 'own-title' }, 'Ownership'),
    h(
      'dl',
      { class: 'kv kv-grid' },
      h('dt', null, 'Owner of record'),
      h('dd', null, person(o.owner)),
      h('dt', null, 'Business owner'),
      h('dd', null, person(o.businessOwner)),
      h('dt', null, 'Reset destination'),
      h('dd', null, h('code', null, o.resetDestination)),
      h('dt', null, 'Last change'),
      h('dd', null, o.lastChange ? [h('code', null, o.lastChange.event), ' by ', actor(o.lastChange.actor, o.names), `, ${fmtDate(o.lastChange.at)}`] : 'none recorded'),
    ),
    h('h3', null, 'Who can reset it'),
    h(
      'ul',
      { class: 'reset-paths' },
      o.resetPaths.map((p) =>
        h(
          'li',
          null,
          h('strong', null, p.path),
          ` — ${p.description}`,
          p.destination ? [' → ', h('code', null, p.destination)] : null,
          p.whoMayTrigger?.length ? h('span', { class: 'muted' }, ` (triggered by: ${p.whoMayTrigger.join(', ')})`) : null,
          p.expiresAt ? h('span', { class: 'muted' }, ` expires ${fmtDate(p.expiresAt)}`) : null,
        ),
      ),
    ),
    ownershipAccess(o),
    h('h3', null, 'Roll back'),
    o.rollback.length
      ? h(
          'ul',
          { class: 'rollback' },
          o.rollback.map((r) =>
            h(
              'li',
              null,
              'Before ',
              h('code', null, r.event),
              ` — ${fmtDate(r.at)} by `,
              actor(r.actor, o.names),
              ' ',
              rollbackButton(r) ??
                h(
                  'div',
                  { class: 'muted small' },
                  'Would put back: ',
                  Object.entries(r.restores).map(([k, v], i) => [i ? '; ' : '', `${FIELD_LABELS[k] ?? k} → ${showValue(k, v)}`]),
                ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Nothing to roll back.'),
  );
}

function actions(m: Mailbox, reload: () => void): HTMLElement {
  const buttons: HTMLElement[] = [];
  if (can('mailboxes.suspend')) {
    const suspended = m.status === 'suspended';
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          class: suspended ? 'btn' : 'btn btn-danger',
          onclick: guard(async () => {
            const ok = await confirmDialog({
              title: suspended ? 'Resume this mailbox?' : 'Suspend this mailbox?',
              objectName: m.address,
              body: h('p', null, suspended ? 'Logins work again.' : 'Logins fail and open IMAP/SMTP/console sessions close at once. Mail is still accepted.'),
              confirmLabel: suspended ? 'Resume' : 'Suspend',
              danger: !suspended,
              reason: true,
            });
            if (!ok) return;
            await post(`/api/v1/mailboxes/${seg(m.id)}/${suspended ? 'resume' : 'suspend'}`, { reason: ok.reason || undefined });
            toast(`${m.address} ${suspended ? 'resumed' : 'suspended'}`);
            reload();
          }),
        },
        suspended ? 'Resume' : 'Suspend',
      ),
    );
  }
  if (can('mailboxes.delete')) {
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-danger',
          onclick: guard(async () => {
            const intent = await del<DeleteIntent>(`/api/v1/mailboxes/${seg(m.id)}`);
            const ok = await confirmDialog({
              title: 'Delete this mailbox?',
              objectName: m.address,
              body: h('p', null, `It goes to the recycle bin with its ${m.messageCount} messages (${fmtBytes(m.usedBytes)}) and can be restored until it is purged.`),
              confirmLabel: 'Delete mailbox',
              danger: true,
              requireTyping: true,
              reason: true,
            });
            if (!ok) return;
            await del(`/api/v1/mailboxes/${seg(m.id)}`, { confirm: intent.intent.id, reason: ok.reason || undefined });
            toast(`${m.address} moved to the recycle bin`);
            navigate(`/tenants/${seg(m.tenantId)}?tab=bin`);
          }),
        },
        'Delete…',
      ),
    );
  }
  buttons.push(h('a', { class: 'btn', href: `/mailboxes/${seg(m.id)}/offboarding` }, m.status === 'offboarded' ? 'Offboarding…' : 'Offboard…'));
  return h('div', { class: 'action-bar' }, buttons);
}

function settingsForm(m: Mailbox, reload: () => void): HTMLElement | null {
  if (!can('mailboxes.manage')) return null;
  const f = form({
    submitLabel: 'Save changes',
    fields: [
      { name: 'displayName', label: 'Display name', value: m.displayName ?? '' },
      { name: 'quotaMiB', label: 'Quota (MiB)', type: 'number', value: Math.round(m.quotaBytes / 1048576) },
      {
        name: 'resetDestination',
        label: 'Reset destination',
        type: 'email',
        value: m.resetDestination,
        required: true,
        help: 'Validated: not the mailbox itself, not a role/shared mailbox, not an offboarded person, not a forward back into this mailbox.',
      },
      { name: 'businessOwnerName', label: 'Business owner: name', value: m.businessOwner?.name ?? '' },
      { name: 'businessOwnerEmail', label: 'Business owner: email', type: 'email', value: m.businessOwner?.email ?? '' },
      { name: 'isRole', label: 'Role or shared mailbox', type: 'checkbox', value: m.isRole },
      { name: 'reason', label: 'Reason (recorded in the audit log)' },
    ],
    fieldAlias: { quotaBytes: 'quotaMiB', 'businessOwner.name': 'businessOwnerName', 'businessOwner.email': 'businessOwnerEmail', businessOwner: 'businessOwnerEmail' },
    async onSubmit(v) {
      const boName = opt(v.businessOwnerName);
      const boEmail = opt(v.businessOwnerEmail);
      await patch(`/api/v1/mailboxes/${seg(m.id)}`, {
        displayName: opt(v.displayName) ?? null,
        quotaBytes: Math.round(Number(v.quotaMiB) * 1048576),
        resetDestination: String(v.resetDestination).trim(),
        businessOwner: boName || boEmail ? { name: boName ?? '', email: boEmail ?? '' } : null,
        isRole: v.isRole === true,
        reason: opt(v.reason),
      });
      toast('Mailbox saved');
      reload();
    },
  });
  return section('Settings', f.el);
}

function transferForm(m: Mailbox, reload: () => void): HTMLElement | null {
  if (!can('mailboxes.manage')) return null;
  const f = form({
    submitLabel: 'Transfer ownership',
    danger: true,
    fields: [
      { name: 'newOwnerName', label: 'New owner: name', required: true },
      { name: 'newOwnerEmail', label: 'New owner: email', type: 'email', required: true },
      { name: 'approverName', label: 'Approved by: name', required: true },
      { name: 'approverEmail', label: 'Approved by: email', type: 'email', required: true },
      { name: 'approvalReference', label: 'Approval reference (ticket)' },
      { name: 'resetDestination', label: 'New reset destination', type: 'email', help: 'Defaults to the new owner’s email.' },
      { name: 'reason', label: 'Reason', required: true },
      { name: 'revokeSessions', label: 'Close open sessions', type: 'checkbox', value: true },
    ],
    fieldAlias: { 'newOwner.name': 'newOwnerName', 'newOwner.email': 'newOwnerEmail', 'approvedBy.name': 'approverName', 'approvedBy.email': 'approverEmail' },
    async onSubmit(v) {
      const ok = await confirmDialog({
        title: 'Transfer ownership?',
        objectName: m.address,
        body: h('p', null, `From ${m.owner.name} to ${String(v.newOwnerName)}.`),
        confirmLabel: 'Transfer',
        danger: true,
      });
      if (!ok) return;
      await post(`/api/v1/mailboxes/${seg(m.id)}/ownership/transfer`, {
        newOwner: { name: String(v.newOwnerName).trim(), email: String(v.newOwnerEmail).trim() },
        approvedBy: { name: String(v.approverName).trim(), email: String(v.approverEmail).trim() },
        approvalReference: opt(v.approvalReference),
        resetDestination: opt(v.resetDestination),
        reason: String(v.reason).trim(),
        revokeSessions: v.revokeSessions === true,
      });
      toast('Ownership transferred');
      reload();
    },
  });
  return h('details', { class: 'card' }, h('summary', null, h('h2', { class: 'inline' }, 'Transfer ownership')), f.el);
}

function forwardsSection(m: Mailbox, forwards: Forward[], reload: () => void): HTMLElement {
  const manage = can('forwarding.manage');
  const f = manage
    ? form({
        submitLabel: 'Add forward',
        fields: [
          { name: 'target', label: 'Forward to', type: 'email', required: true },
          { name: 'reason', label: 'Reason', help: 'Required for external addresses (recorded with the forward).' },
          { name: 'expiresAt', label: 'Stops on', type: 'datetime-local', help: 'Optional: the forward ends by itself.' },
          { name: 'keepCopy', label: 'Keep a copy in this mailbox', type: 'checkbox', value: true },
        ],
        async onSubmit(v, handle) {
          const exp = opt(v.expiresAt);
          await post(`/api/v1/mailboxes/${seg(m.id)}/forwards`, {
            target: String(v.target).trim(),
            reason: opt(v.reason),
            keepCopy: v.keepCopy === true,
            expiresAt: exp ? new Date(exp).toISOString() : undefined,
          });
          toast('Forward added');
          handle.el.reset();
          reload();
        },
      })
    : null;
  return section(
    'Forwards',
    table(
      [
        { label: 'To', cell: (x) => [x.target, x.external ? [' ', badge('external', 'warn')] : null] },
        { label: 'Status', cell: (x) => badge(x.status) },
        { label: 'Reason', cell: (x) => x.reason ?? '—' },
        { label: 'Created', cell: (x) => [`${fmtDate(x.createdAt)} by `, h('span', { title: x.createdBy }, x.createdByName ?? x.createdBy)] },
        { label: 'Expires', cell: (x) => fmtDate(x.expiresAt) },
        { label: 'Last used', cell: (x) => fmtDate(x.lastUsedAt) },
        {
          label: '',
          cell: (x) =>
            manage
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn btn-small btn-danger',
                    onclick: guard(async () => {
                      const ok = await confirmDialog({ title: 'Remove this forward?', objectName: `${m.address} → ${x.target}`, confirmLabel: 'Remove forward', danger: true });
                      if (!ok) return;
                      await del(`/api/v1/forwards/${seg(x.id)}`);
                      toast('Forward removed');
                      reload();
                    }),
                  },
                  'Remove',
                )
              : null,
        },
      ],
      forwards,
      'Forwards',
      'No forwards.',
    ),
    f ? [h('h3', null, 'New forward'), f.el] : null,
  );
}

function sendAsSection(m: Mailbox, grants: SendAsGrant[], reload: () => void): HTMLElement {
  const manage = can('mailboxes.manage');
  const f = manage
    ? form({
        submitLabel: 'Grant send-as',
        fields: [{ name: 'address', label: 'May also send as', type: 'email', required: true, help: 'An address of the same tenant.' }],
        async onSubmit(v, handle) {
          await post(`/api/v1/mailboxes/${seg(m.id)}/send-as`, { address: String(v.address).trim() });
          toast('Send-as granted');
          handle.el.reset();
          reload();
        },
      })
    : null;
  return section(
    'Send as',
    table(
      [
        { label: 'Address', cell: (g) => g.address },
        { label: 'Granted', cell: (g) => [`${fmtDate(g.createdAt)} by `, h('span', { title: g.createdBy }, g.createdByName ?? g.createdBy)] },
        {
          label: '',
          cell: (g) =>
            manage
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn btn-small btn-danger',
                    onclick: guard(async () => {
                      const ok = await confirmDialog({ title: 'Revoke send-as?', objectName: `${m.address} as ${g.address}`, confirmLabel: 'Revoke', danger: true });
                      if (!ok) return;
                      await del(`/api/v1/send-as/${seg(g.id)}`);
                      reload();
                    }),
                  },
                  'Revoke',
                )
              : null,
        },
      ],
      grants,
      'Send-as grants',
      'Only its own address and aliases.',
    ),
    f?.el,
  );
}

export async function mailboxPage(ctx: RouteContext): Promise<Node> {
  const id = ctx.params.mailboxId!;
  const root = h('div');
  const load = async () => {
    const [m, o] = await Promise.all([get<Mailbox>(`/api/v1/mailboxes/${seg(id)}`), get<Ownership>(`/api/v1/mailboxes/${seg(id)}/ownership`)]);
    const [forwards, grants] = await Promise.all([
      can('forwarding.read') ? get<Forward[]>(`/api/v1/mailboxes/${seg(id)}/forwards`).catch(() => [] as Forward[]) : Promise.resolve([] as Forward[]),
      get<SendAsGrant[]>(`/api/v1/mailboxes/${seg(id)}/send-as`).catch(() => [] as SendAsGrant[]),
    ]);
    const reload = () => void load().catch((err: unknown) => root.prepend(alertBox(err)));
    const [resets, hv, apps, tenant] = await Promise.all([
      resetsSection(m),
      highValueControl(m, reload),
      appPasswordsSection(m, reload),
      get<Tenant>(`/api/v1/tenants/${seg(m.tenantId)}`).catch(() => null),
    ]);
    replace(
      root,
      h(
        'nav',
        { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        h('a', { href: `/tenants/${seg(m.tenantId)}?tab=mailboxes` }, tenant ? `${tenant.name}: mailboxes` : 'Mailboxes'),
        ' / ',
        h('a', { href: `/domains/${seg(m.domainId)}?tab=mailboxes` }, m.address.split('@')[1] ?? 'domain'),
      ),
      h('div', { class: 'title-row' }, h('h1', null, m.address), badge(m.status), m.isRole ? badge('role', 'info') : null, hv),
      h('p', { class: 'muted' }, `${m.displayName ?? 'No display name'} · ${m.messageCount} messages · ${fmtBytes(m.usedBytes)} of ${fmtBytes(m.quotaBytes)}`),
      ownershipCard(o, reload),
      actions(m, reload),
      resets,
      settingsForm(m, reload),
      transferForm(m, reload),
      can('forwarding.read') ? forwardsSection(m, forwards, reload) : null,
      sendAsSection(m, grants, reload),
      await accessSection(m, reload),
      await sharedMailboxesSection(m),
      apps,
      await mailboxSpamSection(m.id),
      await mailboxMigrationSection(m),
    );
  };
  await load();
  return root;
}
