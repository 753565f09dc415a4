/** `postern mailboxes list|create|suspend|resume|ownership`, mailboxes named by their address. */
import type { Group } from './command.js';
import { call, type Ctx, UsageError } from './context.js';
import { bytes, emit, fields, table, when } from './output.js';
import { findDomain, findMailbox, findTenant, listAll, tenantNames } from './resolve.js';
import type { Static } from 'typebox';
import type { Mailbox as MailboxSchema, Ownership as OwnershipSchema, Person as PersonSchema } from '../../control/schemas/mailboxes.schemas.js';

// The API's answers, typed from its response schemas (the one contract, as in the console).
type Person = Static<typeof PersonSchema>;
type Mailbox = Static<typeof MailboxSchema>;
type Ownership = Static<typeof OwnershipSchema>;

const person = (p: Person | null) => (p ? `${p.name} <${p.email}>` : '');

async function listMailboxes(ctx: Ctx, opts: Record<string, string | boolean | undefined>): Promise<Array<Mailbox & { tenantName: string }>> {
  const names = await tenantNames(ctx);
  const query = new URLSearchParams();
  if (opts.status) query.set('status', String(opts.status));
  if (opts.sort) query.set('sort', String(opts.sort));
  const status = query.size ? `?${query.toString()}` : '';
  let rows: Mailbox[];
  if (opts.domain) rows = await listAll<Mailbox>(ctx, `/domains/${(await findDomain(ctx, String(opts.domain))).id}/mailboxes${status}`);
  else {
    const tenants = opts.tenant ? [(await findTenant(ctx, String(opts.tenant))).id] : [...names.keys()];
    rows = [];
    for (const t of tenants) rows.push(...(await listAll<Mailbox>(ctx, `/tenants/${t}/mailboxes${status}`)));
  }
  return rows.map((m) => ({ ...m, tenantName: names.get(m.tenantId) ?? m.tenantId }));
}

async function lifecycle(ctx: Ctx, verb: 'suspend' | 'resume', ref: string, reason: string | undefined): Promise<void> {
  const m = await findMailbox(ctx, ref);
  const after = await call<Mailbox>(ctx, 'POST', `/mailboxes/${m.id}/${verb}`, reason ? { reason } : undefined);
  emit(ctx, after, () => ctx.out(`${after.address} is now ${after.status}${verb === 'suspend' ? ' (logins refused, open sessions closed; mail is still accepted)' : ''}.`));
}

export const mailboxesGroup: Group = {
  name: 'mailboxes',
  summary: 'Mailboxes by address: list, create (prints the owner’s setup link), suspend, resume, ownership',
  commands: {
    list: {
      summary: 'Mailboxes of a domain, a tenant, or every tenant the token sees',
      usage: '',
      options: {
        domain: { type: 'string', description: 'domain name (or id)' },
        tenant: { type: 'string', description: 'tenant name (or id)' },
        status: { type: 'string', description: 'pending | active | suspended | offboarded' },
        sort: { type: 'string', description: 'address | -address | createdAt | -createdAt (default: id)' },
      },
      async run(ctx, _args, opts) {
        const rows = await listMailboxes(ctx, opts);
        emit(ctx, rows, () =>
          table(
            ctx,
            rows.map((m) => ({
              address: m.address,
              tenant: m.tenantName,
              status: m.status,
              owner: person(m.owner),
              used: `${bytes(m.usedBytes)} / ${bytes(m.quotaBytes)}`,
              messages: m.messageCount,
              role: m.isRole ? 'role' : '',
            })),
            [
              ['address', 'mailbox'],
              ['tenant', 'tenant'],
              ['status', 'status'],
              ['owner', 'owner'],
              ['used', 'used / quota'],
              ['messages', 'messages'],
              ['role', 'kind'],
            ],
          ),
        );
      },
    },
    create: {
      summary: 'Create a mailbox with its owner of record; prints the single-use setup link to give the owner',
      usage: '<address>',
      options: {
        'owner-name': { type: 'string', description: 'owner of record (a person)', required: true },
        'owner-email': { type: 'string', description: 'the owner’s own address outside this mailbox', required: true },
        'display-name': { type: 'string', description: 'display name of the mailbox' },
        'reset-destination': { type: 'string', description: 'where reset links go (default: the owner’s email)' },
        quota: { type: 'string', description: 'quota in bytes (default: the appliance default)' },
      },
      async run(ctx, [address], opts) {
        const at = address!.lastIndexOf('@');
        if (at < 1) throw new UsageError(`"${address}" is not a mailbox address (local@domain)`);
        const domain = await findDomain(ctx, address!.slice(at + 1));
        if (opts.quota !== undefined && !/^\d+$/.test(String(opts.quota))) throw new UsageError('--quota takes a number of bytes');
        const body = {
          localPart: address!.slice(0, at),
          owner: { name: String(opts['owner-name']), email: String(opts['owner-email']) },
          credentialDelivery: 'link',
          ...(opts['display-name'] ? { displayName: String(opts['display-name']) } : {}),
          ...(opts['reset-destination'] ? { resetDestination: String(opts['reset-destination']) } : {}),
          ...(opts.quota !== undefined ? { quotaBytes: Number(opts.quota) } : {}),
        };
        const m = await call<{ id: string; address: string; setup: { url: string; expiresAt: string } }>(ctx, 'POST', `/domains/${domain.id}/mailboxes`, body);
        emit(ctx, m, () => {
          ctx.out(`Mailbox ${m.address} created (pending until its owner chooses a password).`);
          ctx.out(`Give ${body.owner.name} this single-use setup link (valid until ${when(m.setup.expiresAt)}); it opens a page in the browser:`);
          ctx.out('');
          ctx.out(`  ${m.setup.url}`);
        });
      },
    },
    suspend: {
      summary: 'Suspend: logins fail and open sessions close at once; mail is still accepted',
      usage: '<address>',
      options: { reason: { type: 'string', description: 'recorded in the audit log' } },
      run: (ctx, [ref], opts) => lifecycle(ctx, 'suspend', ref!, opts.reason as string | undefined),
    },
    resume: {
      summary: 'Lift a suspension',
      usage: '<address>',
      options: { reason: { type: 'string', description: 'recorded in the audit log' } },
      run: (ctx, [ref], opts) => lifecycle(ctx, 'resume', ref!, opts.reason as string | undefined),
    },
    ownership: {
      summary: 'Who owns the mailbox, who can reset it and how, what changed last, what can be rolled back',
      usage: '<address>',
      async run(ctx, [ref]) {
        const m = await findMailbox(ctx, ref!);
        const o = await call<Ownership>(ctx, 'GET', `/mailboxes/${m.id}/ownership`);
        emit(ctx, o, () => {
          fields(ctx, [
            ['mailbox', o.address],
            ['status', o.status],
            ['owner of record', person(o.owner)],
            ['business owner', person(o.businessOwner) || 'none'],
            ['reset destination', o.resetDestination],
            ['last change', o.lastChange ? `${o.lastChange.event} by ${o.lastChange.actor.type} on ${when(o.lastChange.at)}` : 'none'],
          ]);
          ctx.out('');
          ctx.out('Ways it can be reset:');
          table(
            ctx,
            o.resetPaths.map((p) => ({ path: p.path, description: p.description, who: p.whoMayTrigger?.join(', '), destination: p.destination, expires: p.expiresAt ? when(p.expiresAt) : '' })),
            [
              ['path', 'path'],
              ['description', 'how'],
              ['who', 'who may trigger'],
              ['destination', 'goes to'],
              ['expires', 'expires'],
            ],
          );
          ctx.out('');
          ctx.out('Can be rolled back to (before):');
          table(
            ctx,
            o.rollback.map((r) => ({ event: r.eventId, at: when(r.at), what: r.description })),
            [
              ['event', 'audit event'],
              ['at', 'at'],
              ['what', 'what it puts back'],
            ],
          );
        });
      },
    },
  },
};
