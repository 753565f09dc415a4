/**
 * Control-plane use cases of the sending side: forwards (creator, reason, expiry), send-as
 * grants, outbound routes (smarthosts per domain, per tenant, global), DKIM key rotation, and the
 * send limits and automatic send block of a mailbox. Every change is audited in its transaction.
 */
import { withCreatorNames } from '../audit/audit.service.js';
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { DkimKey, Mailbox } from '../../db/tables/control.table.js';
import type { Forward, OutboundRoute } from '../../db/tables/sending.table.js';
import { parseAddress } from '../kernel/addresses.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, isPlatformActor } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { generateEd25519DkimKey, generateRsaDkimKey } from '../templates/dkim.js';
import { AppError, invalid, notFound } from '../kernel/errors.js';
import { assertDomainAllowsExternalForwarding } from '../templates/domain-policy.js';
import { assertExternalForwardingAllowed } from '../access/policies.js';
import { Directory, scopedRepo } from '../../db/repo.js';
import { resolveTarget } from '../mailboxes/targets.js';
import { iso } from '../kernel/util.js';

const MAX_FORWARDS = 20;

function sendingId(prefix: 'fwd' | 'sag' | 'rte' | 'dkm'): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

// ---- forwards ---------------------------------------------------------------------------

export interface ForwardView {
  id: string;
  mailboxId: string;
  target: string;
  external: boolean;
  keepCopy: boolean;
  reason: string | null;
  status: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export function forwardView(f: Forward, now: number): ForwardView {
  const expired = f.status === 'active' && f.expires_at !== null && Number(f.expires_at) <= now;
  return {
    id: f.id,
    mailboxId: f.mailbox_id,
    target: f.target,
    external: f.external === 1,
    keepCopy: f.keep_copy === 1,
    reason: f.reason,
    status: expired ? 'expired' : f.status,
    createdBy: f.created_by,
    createdAt: iso(f.created_at)!,
    expiresAt: iso(f.expires_at),
    lastUsedAt: iso(f.last_used_at),
  };
}

export async function listForwards(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<ForwardView[]> {
  authorize(actor, 'forwarding.read');
  const mailbox = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const rows = await deps.db.selectFrom('forwards').selectAll().where('mailbox_id', '=', mailbox.id).where('status', '!=', 'removed').orderBy('created_at').execute();
  const now = deps.now();
  return withCreatorNames(deps, rows.map((r) => forwardView(r, now)));
}

export async function createForward(
  actor: Actor,
  deps: CoreDeps,
  mailboxId: string,
  input: { target: string; keepCopy?: boolean; reason?: string; expiresAt?: string },
): Promise<ForwardView> {
  authorize(actor, 'forwarding.manage');
  return insertForward(actor, deps, await scopedRepo(deps.db, actor).mailbox(mailboxId), input);
}

/** Creates a forward of a mailbox the caller has already authorized (admins above, owners in owner-forwards.service). */
export async function insertForward(actor: Actor, deps: CoreDeps, mailbox: Mailbox, input: { target: string; keepCopy?: boolean; reason?: string; expiresAt?: string }): Promise<ForwardView> {
  const now = deps.now();
  let expiresAt: number | null = null;
  if (input.expiresAt !== undefined) {
    expiresAt = Date.parse(input.expiresAt);
    if (!Number.isFinite(expiresAt) || expiresAt <= now) throw invalid('expiresAt must be a date-time in the future', { field: 'expiresAt' });
  }
  const reason = input.reason?.trim() || null;
  return deps.db.transaction().execute(async (trx) => {
    const target = await resolveTarget(trx, mailbox.tenant_id, input.target, 'target');
    if (target.address === mailbox.address) throw invalid('a mailbox cannot forward to itself', { field: 'target' });
    const external = target.kind === 'external';
    if (external && !reason) throw invalid('forwarding to an external address needs a reason (it is reported and audited)', { field: 'reason' });
    if (external) await assertExternalForwardingAllowed(trx, mailbox.tenant_id);
    if (external) await assertDomainAllowsExternalForwarding({ ...deps, db: trx }, mailbox.domain_id);
    const count = await trx.selectFrom('forwards').select((eb) => eb.fn.countAll<number>().as('n')).where('mailbox_id', '=', mailbox.id).where('status', '=', 'active').executeTakeFirstOrThrow();
    if (Number(count.n) >= MAX_FORWARDS) throw invalid(`a mailbox has at most ${MAX_FORWARDS} forwards`, { field: 'target' });
    const dup = await trx.selectFrom('forwards').select('id').where('mailbox_id', '=', mailbox.id).where('target', '=', target.address).where('status', '=', 'active').executeTakeFirst();
    if (dup) throw new AppError('AlreadyExists', `${mailbox.address} already forwards to ${target.address}`);
    const row: Forward = {
      id: sendingId('fwd'),
      tenant_id: mailbox.tenant_id,
      mailbox_id: mailbox.id,
      target: target.address,
      external: external ? 1 : 0,
      keep_copy: input.keepCopy === false ? 0 : 1,
      reason,
      status: 'active',
      created_by: actor.principalId,
      created_at: now,
      expires_at: expiresAt,
      last_used_at: null,
    };
    await trx.insertInto('forwards').values(row).execute();
    await appendAudit(trx, actor, {
      action: 'forward.create',
      targetType: 'mailbox',
      targetId: mailbox.id,
      tenantId: mailbox.tenant_id,
      after: { forwardId: row.id, target: row.target, external, keepCopy: row.keep_copy === 1, expiresAt: iso(expiresAt) },
      reason,
    }, now);
    return forwardView(row, now);
  });
}

export async function deleteForward(actor: Actor, deps: CoreDeps, forwardId: string): Promise<void> {
  authorize(actor, 'forwarding.manage');
  const f = await deps.db.selectFrom('forwards').selectAll().where('id', '=', forwardId).where('status', '!=', 'removed').executeTakeFirst();
  if (!f) throw notFound('forward');
  await scopedRepo(deps.db, actor).mailbox(f.mailbox_id); // scope check: another tenant's forward is not found
  await removeForward(actor, deps, f);
}

/** Removes a forward the caller has already authorized. */
export async function removeForward(actor: Actor, deps: CoreDeps, f: Forward): Promise<void> {
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('forwards').set({ status: 'removed' }).where('id', '=', f.id).execute();
    await appendAudit(trx, actor, { action: 'forward.delete', targetType: 'mailbox', targetId: f.mailbox_id, tenantId: f.tenant_id, before: { forwardId: f.id, target: f.target } }, now);
  });
}

// ---- send-as grants ----------------------------------------------------------------------

export interface SendAsView {
  id: string;
  mailboxId: string;
  address: string;
  createdBy: string;
  createdAt: string;
}

export async function listSendAs(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<SendAsView[]> {
  authorize(actor, 'mailboxes.read');
  const mailbox = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const rows = await deps.db.selectFrom('send_as_grants').selectAll().where('mailbox_id', '=', mailbox.id).orderBy('created_at').execute();
  return withCreatorNames(deps, rows.map((r) => ({ id: r.id, mailboxId: r.mailbox_id, address: r.address, createdBy: r.created_by, createdAt: iso(r.created_at)! })));
}

export async function grantSendAs(actor: Actor, deps: CoreDeps, mailboxId: string, input: { address: string }): Promise<SendAsView> {
  authorize(actor, 'mailboxes.manage');
  const mailbox = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const { address, domain } = parseAddress(input.address, 'address');
  const owner = await new Directory(deps.db).domainTenant(domain);
  if (owner !== mailbox.tenant_id) throw invalid(`${address} is not in a domain of this tenant`, { field: 'address' });
  if (address === mailbox.address) throw invalid('a mailbox may always send as itself', { field: 'address' });
  const now = deps.now();
  const id = sendingId('sag');
  return deps.db.transaction().execute(async (trx) => {
    const dup = await trx.selectFrom('send_as_grants').select('id').where('mailbox_id', '=', mailbox.id).where('address', '=', address).executeTakeFirst();
    if (dup) throw new AppError('AlreadyExists', `${mailbox.address} may already send as ${address}`);
    await trx.insertInto('send_as_grants').values({ id, tenant_id: mailbox.tenant_id, mailbox_id: mailbox.id, address, created_by: actor.principalId, created_at: now }).execute();
    await appendAudit(trx, actor, { action: 'mailbox.send_as.grant', targetType: 'mailbox', targetId: mailbox.id, tenantId: mailbox.tenant_id, after: { grantId: id, address } }, now);
    return { id, mailboxId: mailbox.id, address, createdBy: actor.principalId, createdAt: iso(now)! };
  });
}

export async function revokeSendAs(actor: Actor, deps: CoreDeps, grantId: string): Promise<void> {
  authorize(actor, 'mailboxes.manage');
  const g = await deps.db.selectFrom('send_as_grants').selectAll().where('id', '=', grantId).executeTakeFirst();
  if (!g) throw notFound('send-as grant');
  await scopedRepo(deps.db, actor).mailbox(g.mailbox_id);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('send_as_grants').where('id', '=', g.id).execute();
    await appendAudit(trx, actor, { action: 'mailbox.send_as.revoke', targetType: 'mailbox', targetId: g.mailbox_id, tenantId: g.tenant_id, before: { grantId: g.id, address: g.address } }, now);
  });
}

// ---- outbound routes ---------------------------------------------------------------------

export interface RouteInput {
  host: string;
  port: number;
  tls?: 'opportunistic';
  authUser?: string;
  authPassword?: string;
}

export interface RouteView {
  id: string;
  scope: 'domain' | 'tenant' | 'global';
  tenantId: string | null;
  domainId: string | null;
  host: string;
  port: number;
  tls: string;
  authUser: string | null;
  hasPassword: boolean;
  updatedAt: string;
}

function routeView(r: OutboundRoute): RouteView {
  return {
    id: r.id,
    scope: r.domain_id ? 'domain' : r.tenant_id ? 'tenant' : 'global',
    tenantId: r.tenant_id,
    domainId: r.domain_id,
    host: r.host,
    port: r.port,
    tls: r.tls,
    authUser: r.auth_user,
    hasPassword: !!r.auth_pass,
    updatedAt: iso(r.updated_at)!,
  };
}

type RouteScope = { kind: 'domain'; id: string } | { kind: 'tenant'; id: string } | { kind: 'global' };

async function resolveRouteScope(actor: Actor, deps: CoreDeps, scope: RouteScope, write: boolean): Promise<{ tenantId: string | null; domainId: string | null }> {
  if (scope.kind === 'global') {
    if (!isPlatformActor(actor)) throw notFound('route');
    authorize(actor, write ? 'tenants.manage' : 'tenants.read');
    return { tenantId: null, domainId: null };
  }
  authorize(actor, write ? 'domains.manage' : 'domains.read');
  const repo = scopedRepo(deps.db, actor);
  if (scope.kind === 'domain') {
    const d = await repo.domain(scope.id);
    return { tenantId: d.tenant_id, domainId: d.id };
  }
  const t = await repo.tenant(scope.id);
  return { tenantId: t.id, domainId: null };
}

function routeQuery(trx: Transaction<DB> | CoreDeps['db'], where: { tenantId: string | null; domainId: string | null }) {
  let q = trx.selectFrom('outbound_routes').selectAll();
  q = where.domainId ? q.where('domain_id', '=', where.domainId) : q.where('domain_id', 'is', null);
  q = where.tenantId ? q.where('tenant_id', '=', where.tenantId) : q.where('tenant_id', 'is', null);
  return q;
}

export async function getRoute(actor: Actor, deps: CoreDeps, scope: RouteScope): Promise<RouteView> {
  const where = await resolveRouteScope(actor, deps, scope, false);
  const row = await routeQuery(deps.db, where).executeTakeFirst();
  if (!row) throw notFound('route');
  return routeView(row);
}

export async function putRoute(actor: Actor, deps: CoreDeps, scope: RouteScope, input: RouteInput): Promise<RouteView> {
  const where = await resolveRouteScope(actor, deps, scope, true);
  if (input.port === 465) throw invalid('implicit-TLS smarthosts (port 465) are not supported; use the submission port 587 with STARTTLS', { field: 'port' });
  const host = input.host.trim().toLowerCase();
  if (!/^[a-z0-9.-]+$|^[0-9a-f:.]+$/.test(host)) throw invalid('host must be a host name or IP address', { field: 'host' });
  if ((input.authUser === undefined) !== (input.authPassword === undefined)) throw invalid('authUser and authPassword go together', { field: 'authUser' });
  const now = deps.now();
  return deps.db.transaction().execute(async (trx) => {
    const existing = await routeQuery(trx, where).executeTakeFirst();
    const row: OutboundRoute = {
      id: existing?.id ?? sendingId('rte'),
      tenant_id: where.tenantId,
      domain_id: where.domainId,
      host,
      port: input.port,
      tls: 'opportunistic',
      auth_user: input.authUser ?? null,
      auth_pass: input.authPassword ?? null,
      created_at: existing?.created_at ?? now,
      updated_at: now,
    };
    if (existing) await trx.updateTable('outbound_routes').set(row).where('id', '=', existing.id).execute();
    else await trx.insertInto('outbound_routes').values(row).execute();
    await appendAudit(trx, actor, {
      action: existing ? 'route.update' : 'route.create',
      targetType: 'route',
      targetId: row.id,
      tenantId: where.tenantId,
      before: existing ? { ...routeView(existing) } : null,
      after: { ...routeView(row) },
    }, now);
    return routeView(row);
  });
}

export async function deleteRoute(actor: Actor, deps: CoreDeps, scope: RouteScope): Promise<void> {
  const where = await resolveRouteScope(actor, deps, scope, true);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const existing = await routeQuery(trx, where).executeTakeFirst();
    if (!existing) throw notFound('route');
    await trx.deleteFrom('outbound_routes').where('id', '=', existing.id).execute();
    await appendAudit(trx, actor, { action: 'route.delete', targetType: 'route', targetId: existing.id, tenantId: where.tenantId, before: { ...routeView(existing) } }, now);
  });
}

// ---- DKIM rotation -----------------------------------------------------------------------

export interface DkimKeyView {
  id: string;
  domainId: string;
  selector: string;
  algorithm: string;
  status: string;
  dnsName: string;
  createdAt: string;
  retiredAt: string | null;
}

function dkimView(k: DkimKey, domainName: string): DkimKeyView {
  return {
    id: k.id,
    domainId: k.domain_id,
    selector: k.selector,
    algorithm: k.algorithm,
    status: k.status,
    dnsName: `${k.selector}._domainkey.${domainName}`,
    createdAt: iso(k.created_at)!,
    retiredAt: iso(k.retired_at),
  };
}

export async function listDkimKeys(actor: Actor, deps: CoreDeps, domainId: string): Promise<DkimKeyView[]> {
  authorize(actor, 'domains.read');
  const domain = await scopedRepo(deps.db, actor).domain(domainId);
  const rows = await deps.db.selectFrom('dkim_keys').selectAll().where('domain_id', '=', domain.id).orderBy('created_at').execute();
  return rows.map((k) => dkimView(k, domain.name));
}

/** Publishes new keys (status "published": in DNS, not yet signing). Activate them once DNS has them. */
export async function rotateDkim(actor: Actor, deps: CoreDeps, domainId: string, input: { algorithms?: Array<'rsa-sha256' | 'ed25519-sha256'> }): Promise<DkimKeyView[]> {
  authorize(actor, 'domains.manage');
  const domain = await scopedRepo(deps.db, actor).domain(domainId);
  const algorithms = input.algorithms?.length ? [...new Set(input.algorithms)] : (['rsa-sha256', 'ed25519-sha256'] as const);
  const now = deps.now();
  const existing = new Set((await deps.db.selectFrom('dkim_keys').select('selector').where('domain_id', '=', domain.id).execute()).map((r) => r.selector));
  const stamp = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 12); // yyyymmddhhmm
  const pick = (suffix: string) => {
    let sel = `ps${stamp}${suffix}`;
    for (let i = 2; existing.has(sel); i++) sel = `ps${stamp}${i}${suffix}`;
    existing.add(sel);
    return sel;
  };
  // Keys are generated before the transaction: no CPU-heavy work while holding the writer.
  const material = await Promise.all(algorithms.map((a) => (a === 'rsa-sha256' ? generateRsaDkimKey(pick('r')) : generateEd25519DkimKey(pick('e')))));
  return deps.db.transaction().execute(async (trx) => {
    const views: DkimKeyView[] = [];
    for (const m of material) {
      const row: DkimKey = { id: sendingId('dkm'), domain_id: domain.id, selector: m.selector, algorithm: m.algorithm, private_key: m.privateKeyPem, public_key: m.publicKey, status: 'published', created_at: now, retired_at: null };
      await trx.insertInto('dkim_keys').values(row).execute();
      views.push(dkimView(row, domain.name));
    }
    await appendAudit(trx, actor, { action: 'dkim.rotate', targetType: 'domain', targetId: domain.id, tenantId: domain.tenant_id, after: { published: views.map((v) => ({ selector: v.selector, algorithm: v.algorithm })) } }, now);
    return views;
  });
}

async function dkimKeyInScope(actor: Actor, deps: CoreDeps, domainId: string, keyId: string) {
  const domain = await scopedRepo(deps.db, actor).domain(domainId);
  const key = await deps.db.selectFrom('dkim_keys').selectAll().where('id', '=', keyId).where('domain_id', '=', domain.id).executeTakeFirst();
  if (!key) throw notFound('DKIM key');
  return { domain, key };
}

/** Makes a published key the signing key of its algorithm; the previous one stays published (valid) until retired. */
export async function activateDkimKey(actor: Actor, deps: CoreDeps, domainId: string, keyId: string): Promise<DkimKeyView[]> {
  authorize(actor, 'domains.manage');
  const { domain, key } = await dkimKeyInScope(actor, deps, domainId, keyId);
  if (key.status !== 'published') throw new AppError('Conflict', `only a published key can be activated (this one is ${key.status})`);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const previous = await trx.selectFrom('dkim_keys').select(['id', 'selector']).where('domain_id', '=', domain.id).where('algorithm', '=', key.algorithm).where('status', '=', 'active').execute();
    await trx.updateTable('dkim_keys').set({ status: 'published' }).where('id', 'in', previous.length ? previous.map((p) => p.id) : ['']).execute();
    await trx.updateTable('dkim_keys').set({ status: 'active' }).where('id', '=', key.id).execute();
    await appendAudit(trx, actor, {
      action: 'dkim.activate',
      targetType: 'domain',
      targetId: domain.id,
      tenantId: domain.tenant_id,
      before: { active: previous.map((p) => p.selector) },
      after: { active: [key.selector], algorithm: key.algorithm },
    }, now);
  });
  return listDkimKeys(actor, deps, domain.id);
}

export async function retireDkimKey(actor: Actor, deps: CoreDeps, domainId: string, keyId: string): Promise<DkimKeyView[]> {
  authorize(actor, 'domains.manage');
  const { domain, key } = await dkimKeyInScope(actor, deps, domainId, keyId);
  if (key.status === 'active') throw new AppError('Conflict', 'the signing key cannot be retired; activate its successor first');
  if (key.status === 'retired') throw new AppError('Conflict', 'the key is already retired');
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('dkim_keys').set({ status: 'retired', retired_at: now }).where('id', '=', key.id).execute();
    await appendAudit(trx, actor, { action: 'dkim.retire', targetType: 'domain', targetId: domain.id, tenantId: domain.tenant_id, before: { selector: key.selector, status: key.status }, after: { selector: key.selector, status: 'retired' } }, now);
  });
  return listDkimKeys(actor, deps, domain.id);
}

// ---- send limits and the automatic block -------------------------------------------------

export interface SendingStateView {
  mailboxId: string;
  blocked: boolean;
  blockedAt: string | null;
  blockedReason: string | null;
  messagesPerHour: number | null;
  recipientsPerHour: number | null;
}

async function sendingState(deps: CoreDeps, mailboxId: string): Promise<SendingStateView> {
  const m = await deps.db
    .selectFrom('mailboxes')
    .select(['id', 'send_blocked_at', 'send_blocked_reason', 'send_limit_per_hour', 'rcpt_limit_per_hour'])
    .where('id', '=', mailboxId)
    .executeTakeFirstOrThrow();
  return {
    mailboxId: m.id,
    blocked: m.send_blocked_at !== null,
    blockedAt: iso(m.send_blocked_at),
    blockedReason: m.send_blocked_reason,
    messagesPerHour: m.send_limit_per_hour,
    recipientsPerHour: m.rcpt_limit_per_hour,
  };
}

export async function getSendingState(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<SendingStateView> {
  authorize(actor, 'mailboxes.read');
  const mailbox = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  return sendingState(deps, mailbox.id);
}

export async function setSendLimits(actor: Actor, deps: CoreDeps, mailboxId: string, input: { messagesPerHour: number | null; recipientsPerHour: number | null }): Promise<SendingStateView> {
  authorize(actor, 'mailboxes.manage');
  const mailbox = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const before = await sendingState(deps, mailbox.id);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('mailboxes').set({ send_limit_per_hour: input.messagesPerHour, rcpt_limit_per_hour: input.recipientsPerHour, updated_at: now }).where('id', '=', mailbox.id).execute();
    await appendAudit(trx, actor, {
      action: 'mailbox.send_limits.set',
      targetType: 'mailbox',
      targetId: mailbox.id,
      tenantId: mailbox.tenant_id,
      before: { messagesPerHour: before.messagesPerHour, recipientsPerHour: before.recipientsPerHour },
      after: { ...input },
    }, now);
  });
  return sendingState(deps, mailbox.id);
}

export async function liftSendBlock(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason?: string }): Promise<SendingStateView> {
  authorize(actor, 'mailboxes.suspend');
  const mailbox = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const before = await sendingState(deps, mailbox.id);
  if (!before.blocked) throw new AppError('Conflict', 'the mailbox is not blocked from sending');
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('mailboxes').set({ send_blocked_at: null, send_blocked_reason: null, updated_at: now }).where('id', '=', mailbox.id).execute();
    await appendAudit(trx, actor, {
      action: 'mailbox.send.unblocked',
      targetType: 'mailbox',
      targetId: mailbox.id,
      tenantId: mailbox.tenant_id,
      before: { sendBlocked: true, reason: before.blockedReason },
      after: { sendBlocked: false },
      reason: input.reason ?? null,
    }, now);
  });
  return sendingState(deps, mailbox.id);
}
