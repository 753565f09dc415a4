/**
 * Owners managing their own sharing (IMAP SETACL/DELETEACL, RFC 4314): allowed only when the
 * tenant access policy says `ownersManageSharing`, and audited exactly like an API change, with
 * the mailbox owner as the actor (`mailbox:<id>`). The member is named by address (what an IMAP
 * client sends) and must be a mailbox of the owner's own tenant (otherwise NotFound).
 */
import { repos } from '../../db/repos/index.js';
import type { CoreDeps } from '../deps.js';
import { type Actor, type ActorOrigin, makeActor } from '../kernel/authz.js';
import { AppError, invalid } from '../kernel/errors.js';
import { tenantScope } from '../kernel/scope.js';
import { GRANT_ACTIONS, type GrantView, auditState, grantView, insertGrant, validRights } from './grants-common.js';
import { removeGrantIn } from './grants.service.js';
import type { GrantRight } from './grants.types.js';
import { loadPolicy } from './policies.js';
import { audit } from '../mailboxes/unit.js';

/** The mailbox whose owner acts (the IMAP session's login). */
export interface OwnerMailbox {
  mailboxId: string;
  tenantId: string;
}

function ownerActor(owner: OwnerMailbox, origin?: ActorOrigin): Actor {
  return makeActor({ kind: 'mailbox-owner', tenantId: owner.tenantId, principalId: `mailbox:${owner.mailboxId}`, permissions: [], origin });
}

async function ownerContext(deps: CoreDeps, owner: OwnerMailbox, memberAddress: string) {
  const policy = await loadPolicy(deps.db, owner.tenantId);
  if (!policy.ownersManageSharing) throw new AppError('Forbidden', 'the tenant policy does not let mailbox owners manage their own sharing');
  const r = repos(deps.db, tenantScope(owner.tenantId));
  const m = await r.mailboxes.get(owner.mailboxId);
  const member = await r.mailboxes.byAddress(
    String(memberAddress ?? '')
      .trim()
      .toLowerCase(),
  );
  if (!member || member.status === 'deleted' || member.tenant_id !== m.tenant_id) throw new AppError('NotFound', 'mailbox not found');
  if (member.id === m.id) throw invalid('the owner always has every right on its own mailbox', { field: 'member' });
  return { r, m, member };
}

/**
 * Sets (creates or replaces) the rights of `memberAddress` on the owner's mailbox. An empty list
 * of rights removes the grant (RFC 4314 SETACL with no rights). Returns the grant, or null when removed.
 */
export async function setGrantByOwner(
  deps: CoreDeps,
  owner: OwnerMailbox,
  input: { memberAddress: string; rights: GrantRight[]; seenPerMember?: boolean },
  origin?: ActorOrigin,
): Promise<GrantView | null> {
  if (!input.rights.length) {
    await removeGrantByOwner(deps, owner, { memberAddress: input.memberAddress }, origin);
    return null;
  }
  const { r, m, member } = await ownerContext(deps, owner, input.memberAddress);
  const actor = ownerActor(owner, origin);
  const rights = validRights(input.rights);
  const now = deps.now();
  const result = await r.transaction(async (t) => {
    const before = await t.grants.find(m.id, member.id);
    if (before) {
      if (before.rights === rights.join(',') && (input.seenPerMember === undefined || (Number(before.seen_per_member) === 1) === input.seenPerMember)) return { id: before.id, kind: null };
      await t.grants.update(before.id, m.tenant_id, {
        rights: rights.join(','),
        ...(input.seenPerMember !== undefined ? { seen_per_member: input.seenPerMember ? 1 : 0 } : {}),
        granted_by: actor.principalId,
        updated_at: now,
      });
    } else {
      await insertGrant(
        t,
        actor.principalId,
        m.tenant_id,
        m.id,
        member.id,
        { rights, seenPerMember: input.seenPerMember === true, reason: 'set by the mailbox owner (IMAP SETACL)', expiresAt: null },
        now,
      );
    }
    const after = await t.grants.find(m.id, member.id);
    await audit(
      t,
      actor,
      {
        action: before ? GRANT_ACTIONS.change : GRANT_ACTIONS.grant,
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        before: auditState(member.id, member.address, before),
        after: auditState(member.id, member.address, after),
        reason: 'set by the mailbox owner (IMAP SETACL)',
      },
      now,
    );
    return { id: after!.id, kind: before ? ('changed' as const) : ('granted' as const) };
  });
  if (result.kind) deps.grants.notify({ mailboxId: m.id, memberMailboxId: member.id, kind: result.kind });
  return grantView(deps, await r.grants.get(result.id));
}

/** Removes the grant of `memberAddress` on the owner's mailbox (IMAP DELETEACL); false when there was none. */
export async function removeGrantByOwner(deps: CoreDeps, owner: OwnerMailbox, input: { memberAddress: string }, origin?: ActorOrigin): Promise<boolean> {
  const { r, m, member } = await ownerContext(deps, owner, input.memberAddress);
  const g = await r.grants.find(m.id, member.id);
  if (!g) return false;
  await r.transaction((t) => removeGrantIn(t, ownerActor(owner, origin), g, deps.now(), GRANT_ACTIONS.revoke, 'removed by the mailbox owner (IMAP DELETEACL)'));
  deps.grants.notify({ mailboxId: m.id, memberMailboxId: member.id, kind: 'revoked' });
  return true;
}
