/**
 * Offboarding and shared mailboxes (issue 19): the person's memberships (grants whose member is
 * the person's mailbox) are residual access paths that apply removes and undo restores, and
 * "convert to shared" hands the mailbox to named members (grants that undo removes). Each step
 * writes its offboarding audit event (with `before` for undo) and, per grant, the same
 * `mailbox.access.*` event on the shared mailbox that an API change writes.
 */
import type { Mailbox } from '../../db/tables/control.table.js';
import type { Repos } from '../../db/repos/index.js';
import type { CoreDeps } from '../deps.js';
import type { Actor } from '../kernel/authz.js';
import { AppError, invalid } from '../kernel/errors.js';
import { GRANT_ACTIONS, type GrantAccessState, accessState, auditState, insertGrant, validRights } from '../access/grants-common.js';
import { removeGrantIn } from '../access/grants.service.js';
import type { GrantChange, GrantRight } from '../access/grants.types.js';
import { audit } from '../mailboxes/unit.js';
import type { ApplyRun } from './apply-steps.js';

export interface SharedMemberInput {
  mailboxId: string;
  rights: string[];
  seenPerMember?: boolean;
}

export interface SharedMember {
  mailbox: Mailbox;
  rights: GrantRight[];
  seenPerMember: boolean;
}

/** Validates the named members of a mailbox converted to shared: mailboxes of its tenant (404 otherwise), not itself, known rights. */
export async function sharedMembersOf(r: Repos, m: Mailbox, raw: SharedMemberInput[] | undefined, convertTo: string): Promise<SharedMember[]> {
  if (raw === undefined || !raw.length) return [];
  if (convertTo !== 'shared') throw invalid('members are only named when converting to shared', { field: 'members' });
  const out: SharedMember[] = [];
  for (const [i, x] of raw.entries()) {
    const member = await r.mailboxes.get(String(x.mailboxId ?? ''));
    if (member.tenant_id !== m.tenant_id) throw new AppError('NotFound', 'mailbox not found');
    if (member.id === m.id) throw invalid('the shared mailbox cannot be its own member', { field: `members[${i}].mailboxId` });
    if (out.some((o) => o.mailbox.id === member.id)) throw invalid(`${member.address} is named twice`, { field: `members[${i}].mailboxId` });
    out.push({ mailbox: member, rights: validRights(x.rights), seenPerMember: x.seenPerMember === true });
  }
  return out;
}

/** Removes the person's memberships (planned residual paths of kind 'membership'). Returns the changes to announce after the commit. */
export async function removeMemberships(run: ApplyRun, reason: string): Promise<GrantChange[]> {
  const ids = run.ids('membership');
  const removed: Array<GrantAccessState & { mailboxId: string; mailbox: string; memberMailboxId: string; member: string; createdAt: number; grantedBy: string }> = [];
  for (const id of ids) {
    const g = await run.t.grants.get(id).catch(() => null);
    if (!g) continue;
    await removeGrantIn(run.t, run.actor, g, run.now, GRANT_ACTIONS.revoke, `offboarding of ${run.m.address}: ${reason}`);
    removed.push({
      ...accessState(g),
      mailboxId: g.mailbox_id,
      mailbox: g.mailbox_address,
      memberMailboxId: g.member_mailbox_id,
      member: g.member_address,
      createdAt: g.created_at,
      grantedBy: g.granted_by,
    });
  }
  if (!removed.length) return [];
  await run.step({ action: 'offboarding.memberships', before: { memberships: removed }, after: { membershipsRemoved: removed.length } });
  return removed.map((g) => ({ mailboxId: g.mailboxId, memberMailboxId: g.memberMailboxId, kind: 'revoked' as const }));
}

/** "Convert to shared": grants for the named members on the converted mailbox. */
export async function addSharedMembers(run: ApplyRun, members: SharedMember[], reason: string): Promise<GrantChange[]> {
  if (!members.length) return [];
  const { t, m, now, actor } = run;
  const grants: Array<{ grantId: string; memberMailboxId: string; member: string; rights: GrantRight[] }> = [];
  for (const x of members) {
    const w = { rights: x.rights, seenPerMember: x.seenPerMember, reason: `converted to shared: ${reason}`, expiresAt: null };
    const existing = await t.grants.find(m.id, x.mailbox.id);
    if (existing) await removeGrantIn(t, actor, existing, now, GRANT_ACTIONS.revoke, 'replaced by the members named when converting to shared');
    const id = await insertGrant(t, actor.principalId, m.tenant_id, m.id, x.mailbox.id, w, now);
    const after = auditState(x.mailbox.id, x.mailbox.address, await t.grants.get(id));
    await audit(
      t,
      actor,
      { action: GRANT_ACTIONS.grant, targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: auditState(x.mailbox.id, x.mailbox.address, null), after, reason: w.reason },
      now,
    );
    grants.push({ grantId: id, memberMailboxId: x.mailbox.id, member: x.mailbox.address, rights: x.rights });
  }
  await run.step({ action: 'offboarding.share_members', after: { members: grants } });
  return grants.map((g) => ({ mailboxId: m.id, memberMailboxId: g.memberMailboxId, kind: 'granted' as const }));
}

/** Undo of the two steps above (inside undo's transaction); returns the changes to announce after the commit. */
export async function restoreMembershipStep(t: Repos, actor: Actor, m: Mailbox, action: string, before: Record<string, unknown>, after: Record<string, unknown>, now: number): Promise<GrantChange[]> {
  const changes: GrantChange[] = [];
  if (action === 'offboarding.share_members') {
    for (const g of (after.members ?? []) as Array<{ grantId: string; memberMailboxId: string }>) {
      if (!(await t.grants.exists(g.grantId))) continue;
      const row = await t.grants.get(g.grantId);
      await removeGrantIn(t, actor, row, now, GRANT_ACTIONS.revoke, `offboarding of ${m.address} undone`);
      changes.push({ mailboxId: m.id, memberMailboxId: g.memberMailboxId, kind: 'revoked' });
    }
  }
  if (action === 'offboarding.memberships') {
    type Recorded = GrantAccessState & { mailboxId: string; memberMailboxId: string; createdAt: number; grantedBy: string };
    for (const g of (before.memberships ?? []) as Recorded[]) {
      if (await t.grants.find(g.mailboxId, g.memberMailboxId)) continue;
      const shared = await t.mailboxes.find(g.mailboxId);
      if (!shared || shared.status === 'deleted') continue;
      const expiresAt = g.expiresAt === null ? null : Date.parse(g.expiresAt);
      if (expiresAt !== null && expiresAt <= now) continue;
      const id = (await t.grants.exists(g.grantId)) ? undefined : g.grantId;
      const newId = await insertGrant(t, g.grantedBy, m.tenant_id, g.mailboxId, g.memberMailboxId, { rights: g.rights, seenPerMember: g.seenPerMember, reason: g.reason, expiresAt }, now, id);
      const member = await t.grants.get(newId);
      const after = auditState(g.memberMailboxId, member.member_address, member);
      await audit(
        t,
        actor,
        {
          action: GRANT_ACTIONS.grant,
          targetType: 'mailbox',
          targetId: g.mailboxId,
          tenantId: m.tenant_id,
          before: auditState(g.memberMailboxId, member.member_address, null),
          after,
          reason: `offboarding of ${m.address} undone`,
        },
        now,
      );
      changes.push({ mailboxId: g.mailboxId, memberMailboxId: g.memberMailboxId, kind: 'granted' });
    }
  }
  return changes;
}

/** After a commit: the serving layer hears every change (never fails the caller). */
export function announce(deps: CoreDeps, changes: GrantChange[]): void {
  for (const c of changes) deps.grants.notify(c);
}
