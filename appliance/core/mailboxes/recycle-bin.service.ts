/**
 * Safe deletion (CONTROL-MODEL principle 12): deleting a mailbox or a domain takes two steps —
 * an intent that shows what would go, then a confirmation by the same principal — and moves it
 * to the recycle bin for `config.recycleBinDays` (7 by default). From there it is restored with
 * its mail, or purged once the time is up by `purgeRecycleBin` (scheduled by the appliance).
 *
 * A deleted mailbox keeps its address reserved, answers 550 5.1.1 over SMTP (the router treats
 * status `deleted` as unknown) and cannot log in (its credential version is bumped and its open
 * sessions are closed). A deleted domain takes its mailboxes and aliases with it.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { DeletionIntent, Domain, Mailbox } from '../../db/tables/control.table.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, isPlatformActor, type Permission } from '../kernel/authz.js';
import { type CoreDeps, recycleBinDays } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { type DomainView, domainView } from '../portfolio/domains.service.js';
import { type MailboxView, mailboxState, mailboxView } from './mailboxes.service.js';
import { scopedRepo } from '../../db/repo.js';
import { iso } from '../kernel/util.js';

const INTENT_TTL_MS = 15 * 60_000;

export interface DeletionIntentView {
  intent: { id: string; expiresAt: string };
  target: { type: 'mailbox' | 'domain'; id: string; name: string };
  impact: Record<string, unknown>;
  /** The call that confirms. */
  confirm: string;
}

export interface DeletedView {
  target: { type: 'mailbox' | 'domain'; id: string; name: string };
  deletedAt: string;
  purgeAfter: string;
}

export interface RecycleBinView {
  mailboxes: Array<{ id: string; address: string; domainId: string; deletedAt: string; purgeAfter: string; statusBeforeDelete: string | null; usedBytes: number; messageCount: number }>;
  domains: Array<{ id: string; name: string; deletedAt: string; purgeAfter: string; mailboxes: number }>;
}

function cleanReason(raw: string | undefined): string | null {
  const s = (raw ?? '').trim();
  // eslint-disable-next-line no-control-regex
  if (s.length > 500 || /[\u0000-\u0008\u000b-\u001f\u007f]/.test(s)) throw invalid('reason must be at most 500 characters of text', { field: 'reason' });
  return s.length ? s : null;
}

async function mailboxImpact(db: Kysely<DB>, m: Mailbox): Promise<Record<string, unknown>> {
  const aliases = await db.selectFrom('aliases').select(['address', 'targets']).where('tenant_id', '=', m.tenant_id).where('status', '!=', 'deleted').execute();
  const dependents = await db.selectFrom('mailboxes').select('address').where('tenant_id', '=', m.tenant_id).where('reset_destination', '=', m.address).where('status', '!=', 'deleted').execute();
  const catchAllOf = await db.selectFrom('domains').select('name').where('tenant_id', '=', m.tenant_id).where('catch_all', '=', m.address).where('status', '!=', 'deleted').execute();
  return {
    address: m.address,
    status: m.status,
    messages: Number(m.message_count),
    bytes: Number(m.used_bytes),
    aliasesTargetingIt: aliases.filter((a) => (JSON.parse(a.targets) as string[]).includes(m.address)).map((a) => a.address),
    resetDestinationOf: dependents.map((d) => d.address),
    catchAllOf: catchAllOf.map((d) => d.name),
  };
}

async function domainImpact(db: Kysely<DB>, d: Domain): Promise<Record<string, unknown>> {
  const mailboxes = await db.selectFrom('mailboxes').select(['address', 'used_bytes', 'message_count']).where('domain_id', '=', d.id).where('status', '!=', 'deleted').execute();
  const aliases = await db.selectFrom('aliases').select('address').where('domain_id', '=', d.id).where('status', '!=', 'deleted').execute();
  return {
    name: d.name,
    mailboxes: mailboxes.map((m) => m.address),
    aliases: aliases.map((a) => a.address),
    messages: mailboxes.reduce((s, m) => s + Number(m.message_count), 0),
    bytes: mailboxes.reduce((s, m) => s + Number(m.used_bytes), 0),
  };
}

async function issueIntent(actor: Actor, deps: CoreDeps, target: { type: 'mailbox' | 'domain'; id: string; name: string; tenantId: string }, impact: Record<string, unknown>, confirmUrl: string): Promise<DeletionIntentView> {
  const now = deps.now();
  const id = newId('del');
  await deps.db
    .insertInto('deletion_intents')
    .values({ id, tenant_id: target.tenantId, target_type: target.type, target_id: target.id, impact: JSON.stringify(impact), created_by: actor.principalId, created_at: now, expires_at: now + INTENT_TTL_MS, confirmed_at: null })
    .execute();
  return { intent: { id, expiresAt: iso(now + INTENT_TTL_MS)! }, target: { type: target.type, id: target.id, name: target.name }, impact, confirm: `${confirmUrl}?confirm=${id}` };
}

/** Checks and consumes a deletion intent inside the deleting transaction. */
async function consumeIntent(trx: Transaction<DB>, actor: Actor, intentId: string, target: { type: string; id: string }, now: number): Promise<DeletionIntent> {
  const intent = await trx.selectFrom('deletion_intents').selectAll().where('id', '=', intentId).where('target_type', '=', target.type).where('target_id', '=', target.id).executeTakeFirst();
  if (!intent) throw invalid('unknown deletion intent for this object; start again without ?confirm', { field: 'confirm' });
  if (intent.created_by !== actor.principalId) throw new AppError('Forbidden', 'a deletion is confirmed by the principal who started it');
  if (intent.confirmed_at !== null) throw new AppError('Gone', 'this deletion intent was already used');
  if (Number(intent.expires_at) <= now) throw new AppError('Gone', 'this deletion intent has expired; start again');
  await trx.updateTable('deletion_intents').set({ confirmed_at: now }).where('id', '=', intent.id).execute();
  return intent;
}

/** Step one without `confirm` (202 with the intent and impact), step two with it (the mailbox goes to the recycle bin). */
export async function deleteMailbox(actor: Actor, deps: CoreDeps, mailboxId: string, input: { confirm?: string; reason?: string } = {}): Promise<DeletionIntentView | DeletedView> {
  authorize(actor, 'mailboxes.delete');
  const reason = cleanReason(input.reason);
  const m = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const target = { type: 'mailbox' as const, id: m.id, name: m.address, tenantId: m.tenant_id };
  if (!input.confirm) return issueIntent(actor, deps, target, await mailboxImpact(deps.db, m), `DELETE /api/v1/mailboxes/${m.id}`);
  const now = deps.now();
  const purgeAfter = now + recycleBinDays(deps) * 86_400_000;
  await deps.db.transaction().execute(async (trx) => {
    const intent = await consumeIntent(trx, actor, input.confirm!, target, now);
    const res = await trx
      .updateTable('mailboxes')
      .set((eb) => ({ status: 'deleted', status_before_delete: m.status, deleted_at: now, purge_after: purgeAfter, deleted_with: null, credential_version: eb('credential_version', '+', 1), updated_at: now }))
      .where('id', '=', m.id)
      .where('tenant_id', '=', m.tenant_id)
      .where('status', '=', m.status)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new AppError('Conflict', 'the mailbox changed meanwhile; try again');
    await appendAudit(
      trx,
      actor,
      { action: 'mailbox.delete', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: { ...mailboxState(m) }, after: { status: 'deleted', purgeAfter: iso(purgeAfter) }, reason, approvalId: intent.id },
      now,
    );
  });
  deps.revoker.notifyRevoked(m.id, 'mailbox deleted');
  return { target: { type: 'mailbox', id: m.id, name: m.address }, deletedAt: iso(now)!, purgeAfter: iso(purgeAfter)! };
}

export async function restoreMailbox(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason?: string } = {}): Promise<MailboxView> {
  authorize(actor, 'mailboxes.delete');
  const reason = cleanReason(input.reason);
  const m = await scopedRepo(deps.db, actor).deletedMailbox(mailboxId);
  if (m.deleted_with) throw new AppError('Conflict', 'this mailbox was deleted with its domain; restore the domain', { domainId: m.deleted_with });
  const domain = await deps.db.selectFrom('domains').select(['status']).where('id', '=', m.domain_id).executeTakeFirst();
  if (!domain || domain.status === 'deleted') throw new AppError('Conflict', 'the domain of this mailbox is deleted; restore it first', { domainId: m.domain_id });
  const status = m.status_before_delete ?? (m.password_hash ? 'active' : 'pending');
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('mailboxes').set({ status, status_before_delete: null, deleted_at: null, purge_after: null, updated_at: now }).where('id', '=', m.id).where('status', '=', 'deleted').execute();
    await appendAudit(trx, actor, { action: 'mailbox.restore', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: { status: 'deleted' }, after: { status }, reason }, now);
  });
  return mailboxView(await scopedRepo(deps.db, actor).mailbox(m.id));
}

export async function deleteDomain(actor: Actor, deps: CoreDeps, domainId: string, input: { confirm?: string; reason?: string } = {}): Promise<DeletionIntentView | DeletedView> {
  authorize(actor, 'domains.manage');
  const reason = cleanReason(input.reason);
  const d = await scopedRepo(deps.db, actor).domain(domainId);
  const aliases = await deps.db.selectFrom('domains').select('name').where('alias_of', '=', d.id).where('status', '!=', 'deleted').execute();
  if (aliases.length) throw new AppError('Conflict', `domain aliases point at ${d.name} (${aliases.map((a) => a.name).join(', ')}); delete or re-point them first`);
  const target = { type: 'domain' as const, id: d.id, name: d.name, tenantId: d.tenant_id };
  if (!input.confirm) return issueIntent(actor, deps, target, await domainImpact(deps.db, d), `DELETE /api/v1/domains/${d.id}`);
  const now = deps.now();
  const purgeAfter = now + recycleBinDays(deps) * 86_400_000;
  const mailboxIds: string[] = [];
  await deps.db.transaction().execute(async (trx) => {
    const intent = await consumeIntent(trx, actor, input.confirm!, target, now);
    const live = await trx.selectFrom('mailboxes').select(['id', 'status']).where('domain_id', '=', d.id).where('tenant_id', '=', d.tenant_id).where('status', '!=', 'deleted').execute();
    for (const m of live) {
      await trx
        .updateTable('mailboxes')
        .set((eb) => ({ status: 'deleted', status_before_delete: m.status, deleted_at: now, purge_after: purgeAfter, deleted_with: d.id, credential_version: eb('credential_version', '+', 1), updated_at: now }))
        .where('id', '=', m.id)
        .execute();
      mailboxIds.push(m.id);
    }
    const aliasRes = await trx.updateTable('aliases').set({ status: 'deleted', deleted_with: d.id, updated_at: now }).where('domain_id', '=', d.id).where('status', '!=', 'deleted').executeTakeFirst();
    await trx.updateTable('domains').set({ status: 'deleted', status_before_delete: d.status, deleted_at: now, purge_after: purgeAfter, updated_at: now }).where('id', '=', d.id).execute();
    await appendAudit(
      trx,
      actor,
      {
        action: 'domain.delete',
        targetType: 'domain',
        targetId: d.id,
        tenantId: d.tenant_id,
        before: { name: d.name, status: d.status, mailboxes: mailboxIds, aliases: Number(aliasRes.numUpdatedRows) },
        after: { status: 'deleted', purgeAfter: iso(purgeAfter) },
        reason,
        approvalId: intent.id,
      },
      now,
    );
  });
  for (const id of mailboxIds) deps.revoker.notifyRevoked(id, 'domain deleted');
  return { target: { type: 'domain', id: d.id, name: d.name }, deletedAt: iso(now)!, purgeAfter: iso(purgeAfter)! };
}

export async function restoreDomain(actor: Actor, deps: CoreDeps, domainId: string, input: { reason?: string } = {}): Promise<DomainView> {
  authorize(actor, 'domains.manage');
  const reason = cleanReason(input.reason);
  const d = await scopedRepo(deps.db, actor).deletedDomain(domainId);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const mbs = await trx.selectFrom('mailboxes').select(['id', 'status_before_delete', 'password_hash']).where('deleted_with', '=', d.id).where('status', '=', 'deleted').execute();
    for (const m of mbs) {
      await trx
        .updateTable('mailboxes')
        .set({ status: m.status_before_delete ?? (m.password_hash ? 'active' : 'pending'), status_before_delete: null, deleted_at: null, purge_after: null, deleted_with: null, updated_at: now })
        .where('id', '=', m.id)
        .execute();
    }
    await trx.updateTable('aliases').set({ status: 'active', deleted_with: null, updated_at: now }).where('deleted_with', '=', d.id).execute();
    await trx.updateTable('domains').set({ status: d.status_before_delete ?? 'active', status_before_delete: null, deleted_at: null, purge_after: null, updated_at: now }).where('id', '=', d.id).execute();
    await appendAudit(trx, actor, { action: 'domain.restore', targetType: 'domain', targetId: d.id, tenantId: d.tenant_id, before: { status: 'deleted' }, after: { status: d.status_before_delete ?? 'active', mailboxes: mbs.map((m) => m.id) }, reason }, now);
  });
  return domainView(await scopedRepo(deps.db, actor).domain(d.id));
}

export async function recycleBin(actor: Actor, deps: CoreDeps, tenantId: string): Promise<RecycleBinView> {
  authorize(actor, 'mailboxes.read');
  const repo = scopedRepo(deps.db, actor);
  await repo.tenant(tenantId);
  const bin = await repo.recycleBin(tenantId);
  const counts = new Map<string, number>();
  for (const d of bin.domains) {
    const r = await deps.db.selectFrom('mailboxes').select((eb) => eb.fn.countAll<number>().as('n')).where('deleted_with', '=', d.id).executeTakeFirstOrThrow();
    counts.set(d.id, Number(r.n));
  }
  return {
    mailboxes: bin.mailboxes.map((m) => ({
      id: m.id,
      address: m.address,
      domainId: m.domain_id,
      deletedAt: iso(m.deleted_at)!,
      purgeAfter: iso(m.purge_after)!,
      statusBeforeDelete: m.status_before_delete,
      usedBytes: Number(m.used_bytes),
      messageCount: Number(m.message_count),
    })),
    domains: bin.domains.map((d) => ({ id: d.id, name: d.name, deletedAt: iso(d.deleted_at)!, purgeAfter: iso(d.purge_after)!, mailboxes: counts.get(d.id) ?? 0 })),
  };
}

/**
 * Removes one deleted mailbox and its mail: folder entries are dropped and each message's
 * reference count decremented (messages nobody refers to any more are deleted; their blobs are
 * left to the store's orphan sweep).
 */
async function purgeMailboxRows(trx: Transaction<DB>, mailboxId: string): Promise<{ messages: number }> {
  const folders = await trx.selectFrom('folders').select('id').where('mailbox_id', '=', mailboxId).execute();
  const folderIds = folders.map((f) => Number(f.id));
  let messages = 0;
  if (folderIds.length) {
    const refs = await trx
      .selectFrom('folder_messages')
      .select(['message_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('folder_id', 'in', folderIds)
      .groupBy('message_id')
      .execute();
    for (const r of refs) {
      messages += Number(r.n);
      await trx.updateTable('messages').set((eb) => ({ refs: eb('refs', '-', Number(r.n)) })).where('id', '=', Number(r.message_id)).execute();
    }
    await trx.deleteFrom('folder_messages').where('folder_id', 'in', folderIds).execute();
    await trx.deleteFrom('folder_expunges').where('folder_id', 'in', folderIds).execute();
    if (refs.length) {
      await trx.deleteFrom('messages').where('id', 'in', refs.map((r) => Number(r.message_id))).where('refs', '<=', 0).execute();
    }
    await trx.deleteFrom('folders').where('mailbox_id', '=', mailboxId).execute();
  }
  await trx.deleteFrom('subscriptions').where('mailbox_id', '=', mailboxId).execute();
  await trx.deleteFrom('setup_tokens').where('mailbox_id', '=', mailboxId).execute();
  await trx.deleteFrom('web_sessions').where('mailbox_id', '=', mailboxId).execute();
  await trx.deleteFrom('forwards').where('mailbox_id', '=', mailboxId).execute();
  await trx.deleteFrom('send_as_grants').where('mailbox_id', '=', mailboxId).execute();
  await trx.deleteFrom('mailboxes').where('id', '=', mailboxId).where('status', '=', 'deleted').execute();
  return { messages };
}

export interface PurgeResult {
  mailboxes: string[];
  domains: string[];
}

/**
 * Purges what has been in the recycle bin longer than its retention (purge_after ≤ now): one
 * transaction per mailbox or domain, each audited. Call with the system actor from a schedule
 * (e.g. hourly); safe to run concurrently with serving.
 */
export async function purgeRecycleBin(actor: Actor, deps: CoreDeps): Promise<PurgeResult> {
  if (!isPlatformActor(actor)) throw new AppError('Forbidden', 'the recycle bin is purged by the appliance');
  for (const p of ['mailboxes.delete', 'domains.manage'] as Permission[]) authorize(actor, p);
  const now = deps.now();
  const out: PurgeResult = { mailboxes: [], domains: [] };
  const due = await deps.db.selectFrom('mailboxes').selectAll().where('status', '=', 'deleted').where('purge_after', '<=', now).orderBy('purge_after').limit(1000).execute();
  for (const m of due) {
    await deps.db.transaction().execute(async (trx) => {
      const { messages } = await purgeMailboxRows(trx, m.id);
      await appendAudit(trx, actor, { action: 'mailbox.purge', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: { address: m.address, deletedAt: iso(m.deleted_at) }, after: { purgedMessages: messages } }, now);
    });
    out.mailboxes.push(m.id);
  }
  const domains = await deps.db.selectFrom('domains').selectAll().where('status', '=', 'deleted').where('purge_after', '<=', now).limit(1000).execute();
  for (const d of domains) {
    await deps.db.transaction().execute(async (trx) => {
      const left = await trx.selectFrom('mailboxes').select('id').where('domain_id', '=', d.id).executeTakeFirst();
      if (left) return; // a mailbox still holds the domain (restored, or purged next run)
      await trx.deleteFrom('aliases').where('domain_id', '=', d.id).execute();
      await trx.deleteFrom('dkim_keys').where('domain_id', '=', d.id).execute();
      await trx.deleteFrom('outbound_routes').where('domain_id', '=', d.id).execute();
      await trx.deleteFrom('domains').where('id', '=', d.id).where('status', '=', 'deleted').execute();
      await appendAudit(trx, actor, { action: 'domain.purge', targetType: 'domain', targetId: d.id, tenantId: d.tenant_id, before: { name: d.name, deletedAt: iso(d.deleted_at) } }, now);
      out.domains.push(d.id);
    });
  }
  return out;
}
