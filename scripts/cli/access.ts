/**
 * `postern access grant|list|revoke|change|report` (issue 19): shared mailboxes and delegated
 * access from the command line. Mailboxes are named by address, tenants by name; every change
 * needs a reason (recorded in the audit log) and reaches open IMAP sessions at once.
 */
import type { Static } from 'typebox';
import type { Grant as GrantSchema, SharingReport as ReportSchema } from '../../control/schemas/access.schemas.js';
import { GRANT_RIGHTS } from '../../appliance/core/access/grants.types.js';
import type { Group } from './command.js';
import { call, type Ctx, RefusedError, UsageError } from './context.js';
import { emit, fields, table, when } from './output.js';
import { findMailbox, findTenant } from './resolve.js';

type Grant = Static<typeof GrantSchema>;
type Report = Static<typeof ReportSchema>;

const q = encodeURIComponent;

function rightsOf(raw: string | boolean | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new UsageError(`--rights takes a comma-separated list of ${GRANT_RIGHTS.join(', ')}`);
  const rights =
    raw === 'all'
      ? [...GRANT_RIGHTS]
      : raw
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean);
  const unknown = rights.filter((r) => !(GRANT_RIGHTS as readonly string[]).includes(r));
  if (unknown.length || !rights.length) throw new UsageError(`unknown rights ${unknown.join(', ')}: use ${GRANT_RIGHTS.join(', ')} or all`);
  return rights;
}

function expiryOf(raw: string | boolean | undefined): string | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'never') return null;
  if (typeof raw !== 'string') throw new UsageError('--expires takes an ISO date-time, a number of days (30d) or never');
  const days = /^(\d{1,4})d$/.exec(raw);
  if (days) return new Date(Date.now() + Number(days[1]) * 86_400_000).toISOString();
  const at = Date.parse(raw);
  if (!Number.isFinite(at)) throw new UsageError(`--expires ${raw}: not a date-time`);
  return new Date(at).toISOString();
}

function grantRows(list: Grant[], who: 'member' | 'mailbox') {
  return list.map((g) => ({
    id: g.id,
    who: who === 'member' ? g.member : g.mailbox,
    rights: g.rights.join(','),
    seen: g.seenPerMember ? 'per member' : 'shared',
    expires: g.expiresAt ? when(g.expiresAt) : 'never',
    used: g.lastUsedAt ? when(g.lastUsedAt) : 'never',
    by: g.grantedBy,
    live: g.live ? 'yes' : 'no',
  }));
}

function showGrants(ctx: Ctx, list: Grant[], who: 'member' | 'mailbox'): void {
  emit(ctx, list, () => {
    if (!list.length) return ctx.out(who === 'member' ? 'Nobody else has access.' : 'Reaches no shared mailbox.');
    table(ctx, grantRows(list, who), [
      ['id', 'grant'],
      ['who', who === 'member' ? 'member' : 'shared mailbox'],
      ['rights', 'rights'],
      ['seen', '\\Seen'],
      ['expires', 'expires'],
      ['used', 'last used'],
      ['by', 'granted by'],
      ['live', 'live'],
    ]);
  });
}

function showGrant(ctx: Ctx, g: Grant): void {
  emit(ctx, g, () =>
    fields(ctx, [
      ['grant', g.id],
      ['shared mailbox', g.mailbox],
      ['member', g.member],
      ['rights', g.rights.join(', ')],
      ['\\Seen', g.seenPerMember ? 'per member' : 'shared'],
      ['reason', g.reason],
      ['granted by', g.grantedBy],
      ['expires', g.expiresAt ? when(g.expiresAt) : 'never'],
    ]),
  );
}

/** A grant named by `<shared-address> <member-address>`. */
async function findGrant(ctx: Ctx, args: string[]): Promise<Grant> {
  const [first, second] = args;
  if (!first || !second) throw new UsageError('name the grant: <shared-address> <member-address>');
  const shared = await findMailbox(ctx, first);
  const hit = (await call<Grant[]>(ctx, 'GET', `/mailboxes/${q(shared.id)}/access`)).find((g) => g.member === second.toLowerCase());
  if (!hit) throw new RefusedError(`${second} has no access to ${shared.address}`, 404, null);
  return hit;
}

function reasonOf(opts: Record<string, string | boolean | undefined>, required: boolean): string | undefined {
  const r = opts.reason;
  if (typeof r === 'string' && r.trim()) return r;
  if (required) throw new UsageError('--reason is required (it is recorded in the audit log)');
  return undefined;
}

function showReport(ctx: Ctx, r: Report): void {
  emit(ctx, r, () => {
    const s = r.summary;
    ctx.out(
      `${s.sharedMailboxes} shared mailbox(es), ${s.grants} grant(s): ${s.stale} stale (unused ${r.staleDays} days), ${s.expiring} expiring within ${r.expiringDays} days, ${s.sendAs} may send as`,
    );
    for (const m of r.sharedMailboxes) {
      ctx.out('');
      ctx.out(`${m.address} (${m.status})`);
      table(ctx, grantRows(m.members, 'member'), [
        ['who', 'member'],
        ['rights', 'rights'],
        ['expires', 'expires'],
        ['used', 'last used'],
        ['by', 'granted by'],
      ]);
    }
    for (const [title, list] of [
      ['Stale grants', r.stale],
      ['Expiring grants', r.expiring],
    ] as const) {
      if (!list.length) continue;
      ctx.out('');
      ctx.out(`${title}:`);
      for (const g of list)
        ctx.out(`  ${g.member} → ${g.mailbox} (${g.rights.join(',')}; last used ${g.lastUsedAt ? when(g.lastUsedAt) : 'never'}; expires ${g.expiresAt ? when(g.expiresAt) : 'never'})`);
    }
  });
}

export const accessGroup: Group = {
  name: 'access',
  summary: 'Shared mailboxes: who may reach which mailbox, with which rights, until when',
  commands: {
    grant: {
      summary: 'Give a member mailbox access to a shared mailbox of the same tenant',
      usage: '<shared-address> <member-address>',
      options: {
        rights: { type: 'string', description: `comma-separated: ${GRANT_RIGHTS.join(', ')} (or all)`, required: true },
        reason: { type: 'string', description: 'why (recorded in the audit log)', required: true },
        expires: { type: 'string', description: 'when the access ends by itself: ISO date-time or a number of days (30d)' },
        'seen-per-member': { type: 'boolean', description: '\\Seen kept per member (a delegate) instead of shared (a team inbox)' },
      },
      async run(ctx, [sharedRef, memberRef], opts) {
        if (!sharedRef || !memberRef) throw new UsageError('postern access grant <shared-address> <member-address> --rights read,seen --reason R');
        const shared = await findMailbox(ctx, sharedRef);
        const member = await findMailbox(ctx, memberRef);
        const expiresAt = expiryOf(opts.expires);
        const body = { memberMailboxId: member.id, rights: rightsOf(opts.rights), reason: reasonOf(opts, true), seenPerMember: opts['seen-per-member'] === true, ...(expiresAt ? { expiresAt } : {}) };
        const g = await call<Grant>(ctx, 'POST', `/mailboxes/${q(shared.id)}/access`, body);
        if (!ctx.json) ctx.out(`${g.member} may now reach ${g.mailbox}.`);
        showGrant(ctx, g);
      },
    },
    list: {
      summary: 'Who has access to a mailbox (or, with --reachable, the shared mailboxes it can reach)',
      usage: '<address>',
      options: { reachable: { type: 'boolean', description: 'list the shared mailboxes this mailbox (a person) can reach' } },
      async run(ctx, [ref], opts) {
        if (!ref) throw new UsageError('postern access list <address> [--reachable]');
        const m = await findMailbox(ctx, ref);
        if (opts.reachable) return showGrants(ctx, await call<Grant[]>(ctx, 'GET', `/mailboxes/${q(m.id)}/shared-access`), 'mailbox');
        showGrants(ctx, await call<Grant[]>(ctx, 'GET', `/mailboxes/${q(m.id)}/access`), 'member');
      },
    },
    change: {
      summary: "Change a grant's rights, expiry or \\Seen mode",
      usage: '<shared-address> <member-address>',
      options: {
        rights: { type: 'string', description: `comma-separated: ${GRANT_RIGHTS.join(', ')} (or all)` },
        expires: { type: 'string', description: 'ISO date-time, a number of days (30d) or never' },
        'seen-per-member': { type: 'boolean', description: '\\Seen per member' },
        'shared-seen': { type: 'boolean', description: '\\Seen shared with everyone' },
        reason: { type: 'string', description: 'why (recorded in the audit log)' },
      },
      async run(ctx, args, opts) {
        const g = await findGrant(ctx, args);
        const expiresAt = expiryOf(opts.expires);
        const body = {
          ...(opts.rights !== undefined ? { rights: rightsOf(opts.rights) } : {}),
          ...(expiresAt !== undefined ? { expiresAt } : {}),
          ...(opts['seen-per-member'] ? { seenPerMember: true } : opts['shared-seen'] ? { seenPerMember: false } : {}),
          ...(reasonOf(opts, false) ? { reason: reasonOf(opts, false) } : {}),
        };
        if (!Object.keys(body).length) throw new UsageError('nothing to change: give --rights, --expires, --seen-per-member/--shared-seen or --reason');
        showGrant(ctx, await call<Grant>(ctx, 'PATCH', `/access/${q(g.id)}`, body));
      },
    },
    revoke: {
      summary: "Remove a grant: the member's open sessions lose the shared mailbox at once",
      usage: '<shared-address> <member-address>',
      options: { reason: { type: 'string', description: 'why (recorded in the audit log)' } },
      async run(ctx, args, opts) {
        const g = await findGrant(ctx, args);
        const reason = reasonOf(opts, false);
        await call(ctx, 'DELETE', `/access/${q(g.id)}${reason ? `?reason=${q(reason)}` : ''}`);
        emit(ctx, { revoked: g.id }, () => ctx.out(`${g.member} no longer reaches ${g.mailbox}.`));
      },
    },
    report: {
      summary: "A tenant's sharing report: shared mailboxes and members, stale and expiring grants",
      usage: '<tenant>',
      options: {
        'stale-days': { type: 'string', description: 'a grant unused this many days is stale (default 30)' },
        'expiring-days': { type: 'string', description: 'list grants expiring within this many days (default 14)' },
      },
      async run(ctx, [ref], opts) {
        if (!ref) throw new UsageError('postern access report <tenant>');
        const tenant = await findTenant(ctx, ref);
        const params = new URLSearchParams();
        if (typeof opts['stale-days'] === 'string') params.set('staleDays', opts['stale-days']);
        if (typeof opts['expiring-days'] === 'string') params.set('expiringDays', opts['expiring-days']);
        const qs = params.toString();
        showReport(ctx, await call<Report>(ctx, 'GET', `/tenants/${q(tenant.id)}/reports/sharing${qs ? `?${qs}` : ''}`));
      },
    },
  },
};
