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
import { notifyMembersAfter } from '../access/grants.service.js';
import { type Repos, repos } from '../../db/repos/index.js';
import type { DeletionIntent, Domain, Mailbox } from '../../db/tables/control.table.js';
import { DOMAIN_STATUSES, isOneOf } from '../../db/tables/status.js';
import { type Actor, authorize, isPlatformActor, type Permission, scopeOf } from '../kernel/authz.js';
import { type CoreDeps, recycleBinDays } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { optionalText } from '../kernel/text.js';
import { type DomainView, domainView } from '../portfolio/domains.service.js';
import { planTransition, revokeMailboxAccess, statusAfter, statusBefore } from './lifecycle.js';
import { type MailboxView, mailboxState, mailboxView } from './mailboxes.service.js';
import { audit } from './unit.js';
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

async function mailboxImpact(r: Repos, m: Mailbox): Promise<Record<string, unknown>> {
  return {
    address: m.address,
    status: m.status,
    messages: Number(m.message_count),
    bytes: Number(m.used_bytes),
    aliasesTargetingIt: await r.aliases.targeting(m.tenant_id, m.address),
    resetDestinationOf: await r.mailboxes.resetDependents(m.tenant_id, m.address),
    catchAllOf: await r.recycleBin.catchAllOf(m.tenant_id, m.address),
  };
}

async function domainImpact(r: Repos, d: Domain): Promise<Record<string, unknown>> {
  const { mailboxes, aliases } = await r.recycleBin.domainContents(d.id);
  return {
    name: d.name,
    mailboxes: mailboxes.map((m) => m.address),
    aliases,
    messages: mailboxes.reduce((s, m) => s + m.messageCount, 0),
    bytes: mailboxes.reduce((s, m) => s + m.usedBytes, 0),
  };
}

async function issueIntent(
  actor: Actor,
  deps: CoreDeps,
  r: Repos,
  target: { type: 'mailbox' | 'domain'; id: string; name: string; tenantId: string },
  impact: Record<string, unknown>,
  confirmUrl: string,
): Promise<DeletionIntentView> {
  const now = deps.now();
  const id = newId('del');
  await r.recycleBin.insertIntent({
    id,
    tenant_id: target.tenantId,
    target_type: target.type,
    target_id: target.id,
    impact,
    created_by: actor.principalId,
    created_at: now,
    expires_at: now + INTENT_TTL_MS,
  });
  return { intent: { id, expiresAt: iso(now + INTENT_TTL_MS)! }, target: { type: target.type, id: target.id, name: target.name }, impact, confirm: `${confirmUrl}?confirm=${id}` };
}

/** Checks and consumes a deletion intent inside the deleting transaction. */
async function consumeIntent(t: Repos, actor: Actor, intentId: string, target: { type: 'mailbox' | 'domain'; id: string }, now: number): Promise<DeletionIntent> {
  const intent = await t.recycleBin.intent(intentId, target);
  if (!intent) throw invalid('unknown deletion intent for this object; start again without ?confirm', { field: 'confirm' });
  if (intent.created_by !== actor.principalId) throw new AppError('Forbidden', 'a deletion is confirmed by the principal who started it');
  if (intent.confirmed_at !== null) throw new AppError('Gone', 'this deletion intent was already used');
  if (Number(intent.expires_at) <= now) throw new AppError('Gone', 'this deletion intent has expired; start again');
  await t.recycleBin.confirmIntent(intent.id, now);
  return intent;
}

/** Step one without `confirm` (202 with the intent and impact), step two with it (the mailbox goes to the recycle bin). */
export async function deleteMailbox(actor: Actor, deps: CoreDeps, mailboxId: string, input: { confirm?: string; reason?: string } = {}): Promise<DeletionIntentView | DeletedView> {
  authorize(actor, 'mailboxes.delete');
  const reason = optionalText(input.reason, 'reason');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const target = { type: 'mailbox' as const, id: m.id, name: m.address, tenantId: m.tenant_id };
  if (!input.confirm) return issueIntent(actor, deps, r, target, await mailboxImpact(r, m), `DELETE /api/v1/mailboxes/${m.id}`);
  const plan = planTransition('soft-delete', m);
  const now = deps.now();
  const purgeAfter = now + recycleBinDays(deps) * 86_400_000;
  await r.transaction(async (t) => {
    const intent = await consumeIntent(t, actor, input.confirm!, target, now);
    if (!(await t.mailboxes.softDelete(m.id, statusBefore(plan), now, purgeAfter, null))) throw new AppError('Conflict', 'the mailbox changed meanwhile; try again');
    await revokeMailboxAccess(t, m.id, now, { appPasswords: false });
    await audit(
      t,
      actor,
      {
        action: 'mailbox.delete',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        before: { ...mailboxState(m) },
        after: { status: 'deleted', purgeAfter: iso(purgeAfter) },
        reason,
        approvalId: intent.id,
      },
      now,
    );
  });
  deps.revoker.notifyRevoked(m.id, 'mailbox deleted');
  await notifyMembersAfter(deps, m.id, 'revoked');
  return { target: { type: 'mailbox', id: m.id, name: m.address }, deletedAt: iso(now)!, purgeAfter: iso(purgeAfter)! };
}

export async function restoreMailbox(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason?: string } = {}): Promise<MailboxView> {
  authorize(actor, 'mailboxes.delete');
  const reason = optionalText(input.reason, 'reason');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.getDeleted(mailboxId);
  if (m.deleted_with) throw new AppError('Conflict', 'this mailbox was deleted with its domain; restore the domain', { domainId: m.deleted_with });
  const domainStatus = await r.recycleBin.domainStatus(m.domain_id);
  if (!domainStatus || domainStatus === 'deleted') throw new AppError('Conflict', 'the domain of this mailbox is deleted; restore it first', { domainId: m.domain_id });
  const status = statusAfter(planTransition('restore', m));
  const now = deps.now();
  await r.transaction(async (t) => {
    await t.mailboxes.restore(m.id, status, now);
    await audit(t, actor, { action: 'mailbox.restore', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: { status: 'deleted' }, after: { status }, reason }, now);
  });
  await notifyMembersAfter(deps, m.id, 'granted');
  return mailboxView(await r.mailboxes.get(m.id));
}

export async function deleteDomain(actor: Actor, deps: CoreDeps, domainId: string, input: { confirm?: string; reason?: string } = {}): Promise<DeletionIntentView | DeletedView> {
  authorize(actor, 'domains.manage');
  const reason = optionalText(input.reason, 'reason');
  const r = repos(deps.db, scopeOf(actor));
  const d = await r.domains.get(domainId);
  const aliases = await r.recycleBin.domainAliasesOf(d.id);
  if (aliases.length) throw new AppError('Conflict', `domain aliases point at ${d.name} (${aliases.join(', ')}); delete or re-point them first`);
  const target = { type: 'domain' as const, id: d.id, name: d.name, tenantId: d.tenant_id };
  if (!input.confirm) return issueIntent(actor, deps, r, target, await domainImpact(r, d), `DELETE /api/v1/domains/${d.id}`);
  const now = deps.now();
  const purgeAfter = now + recycleBinDays(deps) * 86_400_000;
  const mailboxIds: string[] = [];
  await r.transaction(async (t) => {
    const intent = await consumeIntent(t, actor, input.confirm!, target, now);
    // Every live mailbox of the domain goes with it (soft-delete from its own status) and loses its access.
    for (const m of await t.recycleBin.liveMailboxesOf(d.id)) {
      await t.mailboxes.softDelete(m.id, statusBefore(planTransition('soft-delete', m)), now, purgeAfter, d.id);
      await revokeMailboxAccess(t, m.id, now, { appPasswords: false });
      mailboxIds.push(m.id);
    }
    const aliasCount = await t.recycleBin.deleteDomainAliases(d.id, now);
    await t.recycleBin.deleteDomain(d, now, purgeAfter);
    await audit(
      t,
      actor,
      {
        action: 'domain.delete',
        targetType: 'domain',
        targetId: d.id,
        tenantId: d.tenant_id,
        before: { name: d.name, status: d.status, mailboxes: mailboxIds, aliases: aliasCount },
        after: { status: 'deleted', purgeAfter: iso(purgeAfter) },
        reason,
        approvalId: intent.id,
      },
      now,
    );
  });
  for (const id of mailboxIds) {
    deps.revoker.notifyRevoked(id, 'domain deleted');
    await notifyMembersAfter(deps, id, 'revoked');
  }
  return { target: { type: 'domain', id: d.id, name: d.name }, deletedAt: iso(now)!, purgeAfter: iso(purgeAfter)! };
}

export async function restoreDomain(actor: Actor, deps: CoreDeps, domainId: string, input: { reason?: string } = {}): Promise<DomainView> {
  authorize(actor, 'domains.manage');
  const reason = optionalText(input.reason, 'reason');
  const r = repos(deps.db, scopeOf(actor));
  const d = await r.recycleBin.deletedDomain(domainId);
  const now = deps.now();
  const before = d.status_before_delete;
  const status = isOneOf(DOMAIN_STATUSES, before) && before !== 'deleted' ? before : 'active';
  await r.transaction(async (t) => {
    const mbs = await t.recycleBin.mailboxesDeletedWith(d.id);
    for (const m of mbs) await t.mailboxes.restore(m.id, statusAfter(planTransition('restore', { status: 'deleted', ...m })), now);
    await t.recycleBin.restoreDomainAliases(d.id, now);
    await t.recycleBin.restoreDomain(d.id, status, now);
    await audit(
      t,
      actor,
      { action: 'domain.restore', targetType: 'domain', targetId: d.id, tenantId: d.tenant_id, before: { status: 'deleted' }, after: { status, mailboxes: mbs.map((m) => m.id) }, reason },
      now,
    );
  });
  return domainView(await r.domains.get(d.id));
}

export async function recycleBin(actor: Actor, deps: CoreDeps, tenantId: string): Promise<RecycleBinView> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  await r.tenants.get(tenantId);
  const bin = await r.recycleBin.listing(tenantId);
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
    domains: bin.domains.map((d) => ({ id: d.id, name: d.name, deletedAt: iso(d.deleted_at)!, purgeAfter: iso(d.purge_after)!, mailboxes: d.mailboxCount })),
  };
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
  const r = repos(deps.db, PLATFORM_SCOPE);
  for (const m of await r.recycleBin.mailboxesDue(now)) {
    planTransition('purge', m);
    const purged = await r.transaction(async (t) => {
      const res = await t.recycleBin.purgeMailbox(m.id);
      if (res)
        await audit(
          t,
          actor,
          {
            action: 'mailbox.purge',
            targetType: 'mailbox',
            targetId: m.id,
            tenantId: m.tenant_id,
            before: { address: m.address, deletedAt: iso(m.deleted_at) },
            after: { purgedMessages: res.messages },
          },
          now,
        );
      return !!res;
    });
    if (purged) out.mailboxes.push(m.id);
  }
  for (const d of await r.recycleBin.domainsDue(now)) {
    await r.transaction(async (t) => {
      if (!(await t.recycleBin.purgeDomain(d.id))) return; // a mailbox still holds the domain (restored, or purged next run)
      await audit(t, actor, { action: 'domain.purge', targetType: 'domain', targetId: d.id, tenantId: d.tenant_id, before: { name: d.name, deletedAt: iso(d.deleted_at) } }, now);
      out.domains.push(d.id);
    });
  }
  return out;
}
