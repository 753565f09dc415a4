/**
 * Shared mailboxes and delegated access (issue 19): the use cases of grants. A mailbox grants
 * another mailbox of the same tenant access with rights; every grant, change and removal needs
 * `mailboxes.share`, is audited on the shared mailbox with the grant's state before and after
 * (in the same transaction), and can be rolled back to the state an audit event recorded
 * (POST …/access/rollback {eventId}). After each commit the serving layer (IMAP, SMTP) is told,
 * so open sessions follow at once. Another tenant's mailbox or grant is NotFound, in either
 * position.
 */
import type { MailboxGrantJoined } from '../../db/repos/grants.js';
import { type Repos, repos } from '../../db/repos/index.js';
import type { CoreDeps } from '../deps.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError, invalid } from '../kernel/errors.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { optionalText } from '../kernel/text.js';
import { audit } from '../mailboxes/unit.js';
import { GRANT_ACTIONS, type GrantAuditState, type GrantView, auditState, grantView, grantViews, insertGrant, validExpiry, validReason, validRights } from './grants-common.js';
import type { GrantChange, GrantRight } from './grants.types.js';

export type { GrantView } from './grants-common.js';

export interface CreateGrantInput {
  memberMailboxId: string;
  rights: string[];
  seenPerMember?: boolean;
  reason: string;
  expiresAt?: string | null;
}

export interface UpdateGrantInput {
  rights?: string[];
  seenPerMember?: boolean;
  reason?: string;
  expiresAt?: string | null;
}

/** Grants on one shared mailbox (its members), oldest first. */
export async function listGrants(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<GrantView[]> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  return grantViews(deps, await r.grants.ofMailbox(m.id));
}

/** The shared mailboxes a person's mailbox can reach (its memberships), by address. */
export async function sharedAccessOf(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<GrantView[]> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  return grantViews(deps, await r.grants.ofMember(m.id));
}

export async function getGrant(actor: Actor, deps: CoreDeps, grantId: string): Promise<GrantView> {
  authorize(actor, 'mailboxes.read');
  return grantView(deps, await repos(deps.db, scopeOf(actor)).grants.get(grantId));
}

/** Tells the serving layer of every member of a shared mailbox (after a commit that changed its reach). */
export async function notifyMembers(deps: CoreDeps, mailboxId: string, kind: GrantChange['kind']): Promise<number> {
  const rows = await repos(deps.db, PLATFORM_SCOPE).grants.ofMailbox(mailboxId);
  for (const g of rows) deps.grants.notify({ mailboxId, memberMailboxId: g.member_mailbox_id, kind });
  return rows.length;
}

/**
 * After a lifecycle change of a mailbox committed (suspended, offboarded, deleted: 'revoked';
 * resumed or restored: 'granted'): its members' access follows at once. Never fails the caller.
 */
export async function notifyMembersAfter(deps: CoreDeps, mailboxId: string, kind: GrantChange['kind']): Promise<void> {
  // Awaited by the caller: when the use case answers, the members' sessions have been told.
  await notifyMembers(deps, mailboxId, kind).catch(() => undefined);
}

export async function createGrant(actor: Actor, deps: CoreDeps, mailboxId: string, input: CreateGrantInput): Promise<GrantView> {
  authorize(actor, 'mailboxes.share');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const member = await r.mailboxes.get(String(input.memberMailboxId ?? ''));
  // Never across tenants (a platform actor sees both): the other tenant's mailbox is not found.
  if (member.tenant_id !== m.tenant_id) throw new AppError('NotFound', 'mailbox not found');
  if (member.id === m.id) throw invalid('a mailbox cannot be granted access to itself', { field: 'memberMailboxId' });
  const now = deps.now();
  const w = { rights: validRights(input.rights), seenPerMember: input.seenPerMember === true, reason: validReason(input.reason), expiresAt: validExpiry(input.expiresAt, now) };
  const id = await r.transaction(async (t) => {
    const id = await insertGrant(t, actor.principalId, m.tenant_id, m.id, member.id, w, now);
    const after = auditState(member.id, member.address, await t.grants.get(id));
    await audit(
      t,
      actor,
      { action: GRANT_ACTIONS.grant, targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: auditState(member.id, member.address, null), after: after, reason: w.reason },
      now,
    );
    return id;
  });
  deps.grants.notify({ mailboxId: m.id, memberMailboxId: member.id, kind: 'granted' });
  return grantView(deps, await r.grants.get(id));
}

export async function updateGrant(actor: Actor, deps: CoreDeps, grantId: string, input: UpdateGrantInput): Promise<GrantView> {
  authorize(actor, 'mailboxes.share');
  const r = repos(deps.db, scopeOf(actor));
  const g = await r.grants.get(grantId);
  await r.mailboxes.get(g.mailbox_id);
  const now = deps.now();
  const set: { rights?: string; seen_per_member?: number; reason?: string; expires_at?: number | null } = {};
  if (input.rights !== undefined) set.rights = validRights(input.rights).join(',');
  if (input.seenPerMember !== undefined) set.seen_per_member = input.seenPerMember ? 1 : 0;
  if (input.reason !== undefined) set.reason = validReason(input.reason);
  if (input.expiresAt !== undefined) set.expires_at = validExpiry(input.expiresAt, now);
  if (!Object.keys(set).length) throw invalid('nothing to change: give rights, seenPerMember, reason or expiresAt');
  await r.transaction(async (t) => {
    const before = await t.grants.get(g.id);
    await t.grants.update(g.id, g.tenant_id, { ...set, granted_by: actor.principalId, updated_at: now });
    const after = await t.grants.get(g.id);
    await audit(
      t,
      actor,
      {
        action: GRANT_ACTIONS.change,
        targetType: 'mailbox',
        targetId: g.mailbox_id,
        tenantId: g.tenant_id,
        before: auditState(g.member_mailbox_id, g.member_address, before),
        after: auditState(g.member_mailbox_id, g.member_address, after),
        reason: set.reason ?? null,
      },
      now,
    );
  });
  deps.grants.notify({ mailboxId: g.mailbox_id, memberMailboxId: g.member_mailbox_id, kind: 'changed' });
  return grantView(deps, await r.grants.get(g.id));
}

/** Removes a grant inside `t`, audited with the grant as `before` (also offboarding's sweep and the expiry sweeper). */
export async function removeGrantIn(t: Repos, actor: Actor, g: MailboxGrantJoined, now: number, action: string, reason: string | null): Promise<number> {
  await t.grants.delete(g.id, g.tenant_id);
  return audit(
    t,
    actor,
    {
      action,
      targetType: 'mailbox',
      targetId: g.mailbox_id,
      tenantId: g.tenant_id,
      before: auditState(g.member_mailbox_id, g.member_address, g),
      after: auditState(g.member_mailbox_id, g.member_address, null),
      reason,
    },
    now,
  );
}

export async function deleteGrant(actor: Actor, deps: CoreDeps, grantId: string, input: { reason?: string } = {}): Promise<void> {
  authorize(actor, 'mailboxes.share');
  const reason = optionalText(input.reason, 'reason');
  const r = repos(deps.db, scopeOf(actor));
  const g = await r.grants.get(grantId);
  await r.transaction((t) => removeGrantIn(t, actor, g, deps.now(), GRANT_ACTIONS.revoke, reason));
  deps.grants.notify({ mailboxId: g.mailbox_id, memberMailboxId: g.member_mailbox_id, kind: 'revoked' });
}

function parseAuditState(raw: string | null): GrantAuditState | null {
  try {
    const v = raw ? (JSON.parse(raw) as Partial<GrantAuditState>) : null;
    return v && typeof v.memberMailboxId === 'string' && 'access' in v ? (v as GrantAuditState) : null;
  } catch {
    return null;
  }
}

/** Writes `target` (a recorded grant state, or no grant) for the member inside `t`; returns the change kind, or null when nothing changes. */
async function restoreState(t: Repos, actor: Actor, tenantId: string, mailboxId: string, target: GrantAuditState, now: number): Promise<GrantChange['kind'] | null> {
  const current = await t.grants.find(mailboxId, target.memberMailboxId);
  const a = target.access;
  if (!a) {
    if (!current) return null;
    await t.grants.delete(current.id, tenantId);
    return 'revoked';
  }
  const expiresAt = a.expiresAt === null ? null : Date.parse(a.expiresAt);
  if (expiresAt !== null && expiresAt <= now) throw invalid('the recorded grant has expired since; grant access anew', { field: 'eventId' });
  const w = { rights: a.rights as GrantRight[], seenPerMember: a.seenPerMember, reason: a.reason, expiresAt };
  if (current) {
    await t.grants.update(current.id, tenantId, {
      rights: w.rights.join(','),
      seen_per_member: w.seenPerMember ? 1 : 0,
      reason: w.reason,
      expires_at: expiresAt,
      granted_by: actor.principalId,
      updated_at: now,
    });
    return 'changed';
  }
  await t.mailboxes.get(target.memberMailboxId); // a member since deleted cannot get access back
  await insertGrant(t, actor.principalId, tenantId, mailboxId, target.memberMailboxId, w, now, (await t.grants.exists(a.grantId)) ? undefined : a.grantId);
  return 'granted';
}

/**
 * Puts one member's access to a shared mailbox back to the state recorded before audit event
 * `eventId` (a grant, change, removal, expiry or earlier rollback): re-creates a removed grant,
 * restores changed rights, or removes a grant that the event created. Audited as
 * `mailbox.access.rollback` pointing at the event.
 */
export async function rollbackGrant(actor: Actor, deps: CoreDeps, mailboxId: string, input: { eventId: number; reason?: string }): Promise<GrantView[]> {
  authorize(actor, 'mailboxes.share');
  const reason = optionalText(input.reason, 'reason');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const event = await r.mailboxes.auditEventOf(m, Number(input.eventId));
  if (!event) throw new AppError('NotFound', `audit event ${input.eventId} of this mailbox not found`);
  const target = (Object.values(GRANT_ACTIONS) as string[]).includes(event.action) ? parseAuditState(event.before) : null;
  if (!target) throw invalid(`event ${event.id} (${event.action}) recorded no access state to roll back to`, { field: 'eventId' });
  const now = deps.now();
  const kind = await r.transaction(async (t) => {
    const before = await t.grants.find(m.id, target.memberMailboxId);
    const kind = await restoreState(t, actor, m.tenant_id, m.id, target, now);
    if (!kind) return null;
    const after = await t.grants.find(m.id, target.memberMailboxId);
    await audit(
      t,
      actor,
      {
        action: GRANT_ACTIONS.rollback,
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        before: auditState(target.memberMailboxId, target.member, before),
        after: { ...auditState(target.memberMailboxId, target.member, after), rolledBackEventId: Number(event.id) },
        reason,
      },
      now,
    );
    return kind;
  });
  if (kind) deps.grants.notify({ mailboxId: m.id, memberMailboxId: target.memberMailboxId, kind });
  return grantViews(deps, await r.grants.ofMailbox(m.id));
}

/** Scheduled: removes expired grants (audited as the system), then tells the serving layer. Returns how many ended. */
export async function sweepExpiredGrants(actor: Actor, deps: CoreDeps): Promise<number> {
  authorize(actor, 'mailboxes.share');
  const r = repos(deps.db, scopeOf(actor));
  const now = deps.now();
  let ended = 0;
  const seen = new Set<string>();
  for (;;) {
    const due = (await r.grants.expired(now, 100)).filter((g) => !seen.has(g.id));
    if (!due.length) break;
    for (const g of due) {
      seen.add(g.id);
      await r.transaction(async (t) => {
        if (!(await t.grants.exists(g.id))) return;
        await removeGrantIn(t, actor, g, now, GRANT_ACTIONS.expire, `expired at ${new Date(Number(g.expires_at)).toISOString()}`);
      });
      deps.grants.notify({ mailboxId: g.mailbox_id, memberMailboxId: g.member_mailbox_id, kind: 'revoked' });
      ended++;
    }
  }
  return ended;
}
