/**
 * Spam defence in the console (issue 15): a tenant's spam policy (junk and reject scores,
 * greylisting, fail mode, owners' lists), its tenant-wide allow/block lists, a mailbox's own
 * lists (shown on the mailbox page), and the dashboard's spam counts per hour.
 */
import { del, get, post, put, seg } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import type { RouteContext } from '../lib/router.js';
import { can, isOperator, ownTenant } from '../lib/session.js';
import type { Domain, MailStats, SpamListEntry, SpamPolicy, Tenant } from '../lib/types.js';
import { alertBox, badge, fmtDate, form, notice, section, table, toast } from '../lib/ui.js';

const SPAM_LABELS: Record<string, string> = {
  scanned: 'Scanned',
  junked: 'To Junk',
  rejected: 'Rejected',
  greylisted: 'Greylisted',
  unscanned: 'Unscanned',
};

function policyForm(p: SpamPolicy, save: (body: Record<string, unknown>) => Promise<void>): HTMLElement {
  const f = form({
    submitLabel: 'Save spam policy',
    fields: [
      { name: 'junkScore', label: 'Junk score: at or above, the message goes to the Junk folder with X-Spam headers', type: 'number', value: p.junkScore },
      { name: 'rejectScore', label: 'Reject score: at or above, the message is refused (550 5.7.1) and nothing is stored', type: 'number', value: p.rejectScore },
      { name: 'greylisting', label: 'Greylisting: defer the first message of an unknown sender once', type: 'checkbox', value: p.greylisting },
      {
        name: 'failMode',
        label: 'When the scanner is down or too slow',
        type: 'select',
        value: p.failMode,
        options: [
          ['tempfail', 'defer (451 4.7.1): senders retry later'],
          ['accept', 'accept the message unscanned'],
        ],
      },
      { name: 'ownerLists', label: 'Mailbox owners manage their own allow and block lists', type: 'checkbox', value: p.ownerLists },
      { name: 'reason', label: 'Reason (recorded in the audit log)' },
    ],
    async onSubmit(v) {
      await save({
        junkScore: Number(v.junkScore),
        rejectScore: Number(v.rejectScore),
        greylisting: v.greylisting === true,
        failMode: v.failMode,
        ownerLists: v.ownerLists === true,
        reason: String(v.reason).trim() || undefined,
      });
      toast('Spam policy saved');
    },
  });
  for (const name of ['junkScore', 'rejectScore']) f.el.querySelector<HTMLInputElement>(`[name="${name}"]`)?.setAttribute('step', '0.1');
  return f.el;
}

function origin(p: SpamPolicy): HTMLElement {
  const where = p.scope === 'default' ? 'the appliance defaults (no policy set yet)' : p.scope === 'domain' ? 'this domain’s own override' : 'the organisation’s policy';
  return h('p', { class: 'muted' }, `In force: ${where}.`, p.updatedAt ? ` Last changed ${fmtDate(p.updatedAt)} by ${p.updatedBy ?? '—'}.` : '');
}

/** The list of entries with add and remove, for a tenant (`tenants/{id}`), a mailbox (`mailboxes/{id}`) or the owner (`self`). */
export function listsSection(title: string, owner: string, entries: SpamListEntry[], editable: boolean, reload: () => void): HTMLElement {
  const removePath = (e: SpamListEntry) => (owner === 'self' ? `/api/v1/self/spam-lists/${seg(e.id)}` : `/api/v1/spam-lists/${seg(e.id)}`);
  const rows = table(
    [
      { label: 'List', cell: (e: SpamListEntry) => badge(e.kind, e.kind === 'block' ? 'bad' : 'ok') },
      { label: 'Sender or network', cell: (e: SpamListEntry) => e.value },
      { label: 'Type', cell: (e: SpamListEntry) => e.valueType },
      { label: 'Reason', cell: (e: SpamListEntry) => e.reason ?? '—' },
      { label: 'Added', cell: (e: SpamListEntry) => fmtDate(e.createdAt) },
      {
        label: '',
        cell: (e: SpamListEntry) =>
          editable
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'btn btn-small',
                  'aria-label': `Remove ${e.value} from the ${e.kind} list`,
                  onclick: async () => {
                    try {
                      await del(removePath(e));
                      toast(`${e.value} removed`);
                      reload();
                    } catch (err) {
                      toast(String((err as Error).message));
                    }
                  },
                },
                'Remove',
              )
            : null,
      },
    ],
    entries,
    title,
    'No entries: every sender is judged by the scanner alone.',
  );
  const add = editable
    ? form({
        submitLabel: 'Add to list',
        fields: [
          {
            name: 'kind',
            label: 'List',
            type: 'select',
            value: 'block',
            options: [
              ['block', 'block (refuse)'],
              ['allow', 'allow (deliver past greylisting and spam scores)'],
            ],
          },
          { name: 'value', label: 'Sender address, domain or IP network', required: true, placeholder: 'news@example.com, example.com or 192.0.2.0/24' },
          { name: 'reason', label: 'Reason' },
        ],
        async onSubmit(v) {
          await post(`/api/v1/${owner}/spam-lists`, { kind: v.kind, value: String(v.value).trim(), reason: String(v.reason).trim() || undefined });
          toast('Entry added');
          reload();
        },
      }).el
    : null;
  return section(title, rows, add);
}

export async function spamPage(ctx: RouteContext): Promise<Node> {
  const tenantId = ctx.query.get('tenant') ?? ownTenant();
  const root = h('div', null, h('h1', null, 'Spam defence'));
  if (!tenantId) {
    if (isOperator()) {
      const tenants = await get<Tenant[]>('/api/v1/tenants');
      root.append(
        h('p', null, 'Choose an organisation: '),
        h(
          'ul',
          null,
          tenants.map((t) => h('li', null, h('a', { href: `/spam?tenant=${seg(t.id)}` }, t.name))),
        ),
      );
    } else root.append(notice('Your account belongs to no organisation.'));
    return root;
  }
  const body = h('div');
  root.append(body);
  const load = async () => {
    const [tenant, policy, lists, domains] = await Promise.all([
      get<Tenant>(`/api/v1/tenants/${seg(tenantId)}`),
      get<SpamPolicy>(`/api/v1/tenants/${seg(tenantId)}/spam-policy`),
      get<SpamListEntry[]>(`/api/v1/tenants/${seg(tenantId)}/spam-lists`),
      can('domains.read') ? get<Domain[]>(`/api/v1/tenants/${seg(tenantId)}/domains`).catch(() => [] as Domain[]) : Promise.resolve([] as Domain[]),
    ]);
    const reload = () => void load().catch((err: unknown) => body.prepend(alertBox(err)));
    const editable = can('policies.manage');
    replace(
      body,
      h('p', { class: 'muted' }, `${tenant.name}: how inbound mail is judged. A domain can override this policy (Domain overrides, below); mailbox owners keep their own lists.`),
      section(
        'Spam policy',
        origin(policy),
        editable
          ? policyForm(policy, async (b) => {
              await put(`/api/v1/tenants/${seg(tenantId)}/spam-policy`, b);
              reload();
            })
          : h(
              'p',
              null,
              `Junk at ${policy.junkScore}, reject at ${policy.rejectScore}, greylisting ${policy.greylisting ? 'on' : 'off'}, scanner down: ${policy.failMode === 'accept' ? 'accept unscanned' : 'defer'}.`,
            ),
      ),
      listsSection('Organisation-wide allow and block lists', `tenants/${seg(tenantId)}`, lists, editable, reload),
      domains.length
        ? section(
            'Domain overrides',
            h('p', { class: 'muted' }, 'A domain may judge its mail differently from the organisation; removing its override returns it to the policy above.'),
            await Promise.all(domains.map(async (d) => h('details', null, h('summary', null, d.name), await domainSpamSection(d.id)))),
          )
        : null,
      await spamStatsCard(tenantId),
    );
  };
  await load();
  return root;
}

/** The domain page's override: shown, set, or removed (back to the organisation's policy). */
export async function domainSpamSection(domainId: string): Promise<HTMLElement> {
  const box = h('div');
  const load = async () => {
    const p = await get<SpamPolicy>(`/api/v1/domains/${seg(domainId)}/spam-policy`);
    const reload = () => void load().catch((err: unknown) => box.prepend(alertBox(err)));
    replace(
      box,
      section(
        'Spam policy of this domain',
        origin(p),
        can('policies.manage')
          ? [
              policyForm(p, async (b) => {
                await put(`/api/v1/domains/${seg(domainId)}/spam-policy`, b);
                reload();
              }),
              p.overridden
                ? h(
                    'button',
                    {
                      type: 'button',
                      class: 'btn',
                      onclick: async () => {
                        await del(`/api/v1/domains/${seg(domainId)}/spam-policy`);
                        toast('The domain follows the organisation’s policy again');
                        reload();
                      },
                    },
                    'Use the organisation’s policy',
                  )
                : null,
            ]
          : null,
      ),
    );
  };
  await load().catch((err: unknown) => replace(box, section('Spam policy of this domain', alertBox(err))));
  return box;
}

/** The mailbox page's section: the owner's lists. */
export async function mailboxSpamSection(mailboxId: string): Promise<HTMLElement> {
  const box = h('div');
  const load = async () => {
    const entries = await get<SpamListEntry[]>(`/api/v1/mailboxes/${seg(mailboxId)}/spam-lists`);
    replace(
      box,
      listsSection(
        'Spam allow and block lists of this mailbox',
        `mailboxes/${seg(mailboxId)}`,
        entries,
        can('mailboxes.manage'),
        () => void load().catch((err: unknown) => box.prepend(alertBox(err))),
      ),
    );
  };
  await load().catch((err: unknown) => replace(box, section('Spam allow and block lists of this mailbox', alertBox(err))));
  return box;
}

/** Self-service: the owner's own lists (changeable where the organisation's policy allows it). */
export async function ownSpamSection(): Promise<HTMLElement> {
  const box = h('div');
  const load = async () => {
    const r = await get<{ entries: SpamListEntry[]; ownerManaged: boolean }>('/api/v1/self/spam-lists');
    replace(
      box,
      listsSection('Senders I allow or block', 'self', r.entries, r.ownerManaged, () => void load().catch((err: unknown) => box.prepend(alertBox(err)))),
      r.ownerManaged ? null : notice('Your organisation manages these lists for you.'),
    );
  };
  await load().catch((err: unknown) => replace(box, section('Senders I allow or block', alertBox(err))));
  return box;
}

/** Scanned / junked / rejected / greylisted per hour (the tenant's own for a tenant admin). */
export async function spamStatsCard(tenantId?: string | null): Promise<HTMLElement | null> {
  if (!can('mailflow.read')) return null;
  try {
    const s = await get<MailStats>('/api/v1/stats/mail', tenantId && isOperator() ? { tenantId } : undefined);
    if (!s.spam) return null;
    const spam = s.spam;
    return section(
      'Spam, last hour and day',
      h(
        'table',
        { class: 'table', 'data-testid': 'spam-stats' },
        h('caption', null, 'Spam decisions per hour'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', null, 'Hour'),
            Object.keys(SPAM_LABELS).map((k) => h('th', { class: 'num' }, SPAM_LABELS[k]!)),
          ),
        ),
        h(
          'tbody',
          null,
          spam.hours
            .filter((b, i) => i === spam.hours.length - 1 || Object.values(b.counts).some((n) => n > 0))
            .reverse()
            .map((b) =>
              h(
                'tr',
                null,
                h('td', null, fmtDate(b.start)),
                Object.keys(SPAM_LABELS).map((k) => h('td', { class: 'num', 'data-series': k }, String(b.counts[k] ?? 0))),
              ),
            ),
        ),
      ),
      h(
        'p',
        { class: 'muted small' },
        `Last 24 h: ${Object.keys(SPAM_LABELS)
          .map((k) => `${SPAM_LABELS[k]} ${spam.lastDay[k] ?? 0}`)
          .join(' · ')}. Counted since the appliance last started.`,
      ),
    );
  } catch (err) {
    return section('Spam, last hour and day', alertBox(err));
  }
}
