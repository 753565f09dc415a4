/**
 * Shared mailboxes in the console (issue 19): the "Access" section of a mailbox page (who has
 * access, with rights, \Seen mode, expiry and last use; grant form with a member picker by
 * address; revoke), the shared mailboxes a person can reach, the access list of the ownership
 * card, and the tenant's sharing report. Names (addresses, people), never ids.
 */
import type { Static } from 'typebox';
import type { Grant as GrantSchema, SharingReport as ReportSchema } from '../../../control/schemas/access.schemas.js';
import type { Mailbox, Ownership, Tenant } from '../lib/types.js';
import { del, get, post, seg } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { can } from '../lib/session.js';
import { alertBox, badge, confirmDialog, fmtDate, form, guard, opt, section, table, toast } from '../lib/ui.js';

type Grant = Static<typeof GrantSchema>;
type Report = Static<typeof ReportSchema>;

const RIGHTS: Array<[string, string]> = [
  ['read', 'Read'],
  ['seen', 'Mark read (\\Seen)'],
  ['write', 'Flag'],
  ['insert', 'Add and move in'],
  ['delete', 'Delete and expunge'],
  ['create', 'Create folders'],
  ['send', 'Send as this address'],
];
const RIGHT_LABEL = Object.fromEntries(RIGHTS);
const rightsText = (rights: string[]) => rights.map((r) => RIGHT_LABEL[r] ?? r).join(', ');

/** The people with access, as the ownership card shows them. */
export function ownershipAccess(o: Ownership): HTMLElement[] {
  return [
    h('h3', null, 'Who has access'),
    o.access.length
      ? h(
          'ul',
          { class: 'access-list', 'data-testid': 'ownership-access' },
          o.access.map((x) =>
            h(
              'li',
              null,
              h('a', { href: `/mailboxes/${seg(x.memberMailboxId)}` }, x.member),
              ` — ${rightsText(x.rights)}`,
              h('span', { class: 'muted' }, ` (granted by ${x.grantedBy}${x.expiresAt ? `, until ${fmtDate(x.expiresAt)}` : ''}${x.seenPerMember ? ', own read marks' : ''})`),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Only the owner’s own login.'),
  ];
}

/** The tenant mailbox with exactly this address (the member picker types addresses). */
export async function mailboxByAddress(tenantId: string, address: string): Promise<Mailbox | null> {
  const at = address.lastIndexOf('@');
  const local = at > 0 ? address.slice(0, at) : address;
  const hits = await get<Mailbox[]>(`/api/v1/tenants/${seg(tenantId)}/mailboxes?q=${encodeURIComponent(local.slice(0, 100))}&limit=500`);
  return hits.find((m) => m.address === address.toLowerCase()) ?? null;
}

function grantForm(m: Mailbox, reload: () => void, picker: HTMLDataListElement): HTMLElement {
  const f = form({
    submitLabel: 'Grant access',
    fields: [
      { name: 'member', label: 'Member (mailbox address)', type: 'email', required: true, help: 'A mailbox of the same tenant; its own login reaches this mailbox.' },
      ...RIGHTS.map(([r, label]) => ({ name: `right_${r}`, label, type: 'checkbox' as const, value: r === 'read' || r === 'seen' })),
      {
        name: 'seenMode',
        label: 'Read marks (\\Seen)',
        type: 'select',
        value: 'shared',
        options: [
          ['shared', 'Shared with everyone (a team inbox)'],
          ['member', 'Per member (a delegate)'],
        ],
      },
      { name: 'reason', label: 'Reason', required: true, help: 'Recorded with the grant and in the audit log.' },
      { name: 'expiresAt', label: 'Ends on', type: 'datetime-local', help: 'Optional: the access ends by itself.' },
    ],
    fieldAlias: { memberMailboxId: 'member' },
    async onSubmit(v, handle) {
      const address = String(v.member).trim().toLowerCase();
      const member = await mailboxByAddress(m.tenantId, address);
      if (!member) {
        handle.fields.get('member')!.error.append(h('span', null, `${address} is not a mailbox of this tenant`));
        return;
      }
      const exp = opt(v.expiresAt);
      await post(`/api/v1/mailboxes/${seg(m.id)}/access`, {
        memberMailboxId: member.id,
        rights: RIGHTS.map(([r]) => r).filter((r) => v[`right_${r}`] === true),
        seenPerMember: v.seenMode === 'member',
        reason: String(v.reason).trim(),
        expiresAt: exp ? new Date(exp).toISOString() : undefined,
      });
      toast(`${address} may now reach ${m.address}`);
      handle.el.reset();
      reload();
    },
  });
  f.fields.get('member')!.input.setAttribute('list', picker.id);
  return f.el;
}

/** The picker's suggestions: the tenant's other mailboxes by address. */
async function memberPicker(m: Mailbox): Promise<HTMLDataListElement> {
  const list = h('datalist', { id: `members-${m.id}` }) as HTMLDataListElement;
  const all = await get<Mailbox[]>(`/api/v1/tenants/${seg(m.tenantId)}/mailboxes?limit=500`).catch(() => [] as Mailbox[]);
  for (const x of all) if (x.id !== m.id) list.append(h('option', { value: x.address }));
  return list;
}

function revokeButton(g: Grant, reload: () => void): HTMLElement | null {
  if (!can('mailboxes.share')) return null;
  return h(
    'button',
    {
      type: 'button',
      class: 'btn btn-small btn-danger',
      'aria-label': `Revoke access of ${g.member}`,
      onclick: guard(async () => {
        const ok = await confirmDialog({
          title: 'Revoke access?',
          objectName: `${g.member} → ${g.mailbox}`,
          body: h('p', null, 'Open mail-client sessions of the member lose this mailbox at once.'),
          confirmLabel: 'Revoke access',
          danger: true,
          reason: true,
        });
        if (!ok) return;
        await del(`/api/v1/access/${seg(g.id)}${ok.reason ? `?reason=${encodeURIComponent(ok.reason)}` : ''}`);
        toast(`${g.member} no longer reaches ${g.mailbox}`);
        reload();
      }),
    },
    'Revoke',
  );
}

/** The "Access" section of a mailbox page. */
export async function accessSection(m: Mailbox, reload: () => void): Promise<HTMLElement> {
  try {
    const grants = await get<Grant[]>(`/api/v1/mailboxes/${seg(m.id)}/access`);
    const picker = can('mailboxes.share') ? await memberPicker(m) : null;
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'access-title', 'data-testid': 'access-section' },
      h('h2', { id: 'access-title' }, 'Access'),
      h('p', { class: 'muted' }, 'Other mailboxes of this tenant that can open this one with their own login (a shared mailbox).'),
      table(
        [
          { label: 'Member', cell: (g) => h('a', { href: `/mailboxes/${seg(g.memberMailboxId)}` }, g.member) },
          { label: 'Rights', cell: (g) => rightsText(g.rights) },
          { label: 'Read marks', cell: (g) => (g.seenPerMember ? 'per member' : 'shared') },
          { label: 'Granted', cell: (g) => [`${fmtDate(g.createdAt)} by ${g.grantedBy}`, h('div', { class: 'muted small' }, g.reason)] },
          { label: 'Ends', cell: (g) => (g.expiresAt ? fmtDate(g.expiresAt) : 'never') },
          { label: 'Last used', cell: (g) => (g.lastUsedAt ? fmtDate(g.lastUsedAt) : 'never') },
          { label: '', cell: (g) => [g.live ? null : badge('not live', 'warn'), ' ', revokeButton(g, reload)] },
        ],
        grants,
        'Members with access',
        'Nobody else has access.',
      ),
      picker ? [h('h3', null, 'Grant access'), picker, grantForm(m, reload, picker)] : null,
    );
  } catch (err) {
    return section('Access', alertBox(err));
  }
}

/** The shared mailboxes a person's mailbox can reach. */
export async function sharedMailboxesSection(m: Mailbox): Promise<HTMLElement> {
  try {
    const reach = await get<Grant[]>(`/api/v1/mailboxes/${seg(m.id)}/shared-access`);
    return h(
      'section',
      { class: 'card', 'data-testid': 'shared-access' },
      h('h2', null, 'Shared mailboxes this person can open'),
      table(
        [
          { label: 'Shared mailbox', cell: (g) => h('a', { href: `/mailboxes/${seg(g.mailboxId)}` }, g.mailbox) },
          { label: 'Rights', cell: (g) => rightsText(g.rights) },
          { label: 'Ends', cell: (g) => (g.expiresAt ? fmtDate(g.expiresAt) : 'never') },
          { label: 'Last used', cell: (g) => (g.lastUsedAt ? fmtDate(g.lastUsedAt) : 'never') },
          { label: '', cell: (g) => (g.live ? null : badge('not live', 'warn')) },
        ],
        reach,
        'Shared mailboxes',
        'None.',
      ),
    );
  } catch (err) {
    return section('Shared mailboxes this person can open', alertBox(err));
  }
}

/** The tenant's sharing report (a tab of the tenant page). */
export async function sharingTab(t: Tenant): Promise<HTMLElement> {
  try {
    const r = await get<Report>(`/api/v1/tenants/${seg(t.id)}/reports/sharing`);
    const grantRows = (list: Grant[]) =>
      table(
        [
          { label: 'Member', cell: (g) => h('a', { href: `/mailboxes/${seg(g.memberMailboxId)}` }, g.member) },
          { label: 'Shared mailbox', cell: (g) => h('a', { href: `/mailboxes/${seg(g.mailboxId)}` }, g.mailbox) },
          { label: 'Rights', cell: (g) => rightsText(g.rights) },
          { label: 'Granted by', cell: (g) => g.grantedBy },
          { label: 'Ends', cell: (g) => (g.expiresAt ? fmtDate(g.expiresAt) : 'never') },
          { label: 'Last used', cell: (g) => (g.lastUsedAt ? fmtDate(g.lastUsedAt) : 'never') },
        ],
        list,
        undefined,
        'None.',
      );
    return h(
      'div',
      { 'data-testid': 'sharing-report' },
      section(
        'Sharing report',
        h(
          'p',
          null,
          `${r.summary.sharedMailboxes} shared mailboxes · ${r.summary.grants} members · `,
          badge(`${r.summary.stale} stale`, r.summary.stale ? 'warn' : 'ok'),
          ' ',
          badge(`${r.summary.expiring} expiring`, r.summary.expiring ? 'warn' : 'ok'),
          ' ',
          badge(`${r.summary.sendAs} may send as`, 'info'),
          ` · stale after ${r.staleDays} days unused · expiring within ${r.expiringDays} days`,
        ),
        r.sharedMailboxes.length
          ? r.sharedMailboxes.map((s) =>
              h(
                'div',
                null,
                h('h3', null, h('a', { href: `/mailboxes/${seg(s.mailboxId)}` }, s.address), ' ', badge(s.status)),
                h(
                  'ul',
                  null,
                  s.members.map((g) => h('li', null, `${g.member} — ${rightsText(g.rights)}${g.expiresAt ? ` (until ${fmtDate(g.expiresAt)})` : ''}`)),
                ),
              ),
            )
          : h('p', { class: 'muted' }, 'No shared mailboxes in this tenant.'),
      ),
      section('Stale grants', grantRows(r.stale)),
      section('Expiring grants', grantRows(r.expiring)),
    );
  } catch (err) {
    return section('Sharing report', alertBox(err));
  }
}
