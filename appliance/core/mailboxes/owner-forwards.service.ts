/**
 * Mailbox owners' own forwards (CONTROL-MODEL principle 6: forwarding is governed).
 *
 * - An owner sees every live forward of their mailbox, whoever created it.
 * - An owner creates forwards of their own mailbox: to an address of their tenant always; to an
 *   external address only where the tenant's access policy allows external forwarding, with a
 *   reason and an expiry within OWNER_EXTERNAL_MAX_DAYS (the same rules and limits as an
 *   admin's otherwise). The forward records the owner (`mailbox:<id>`) as its creator; the
 *   audit event is the same `forward.create` as an admin's, with the owner as actor.
 * - An owner removes the forwards they created; forwards an administrator set up stay (they
 *   are the tenant's decision) and are shown as managed by the administrator.
 */
import { ownerMailbox } from '../access/app-passwords.service.js';
import { repos } from '../../db/repos/index.js';
import { type Actor, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid, notFound } from '../kernel/errors.js';
import { loadPolicy } from '../access/policies.js';
import { type ForwardView, forwardView, insertForward, removeForward } from '../sending/sending.service.js';
import { resolveTarget } from './targets.js';

export const OWNER_EXTERNAL_MAX_DAYS = 90;

export interface OwnForwardView extends ForwardView {
  /** true: the owner created it and may remove it. */
  removable: boolean;
}

export interface OwnForwardingPolicy {
  externalAllowed: boolean;
  externalMaxDays: number;
}

export async function listOwnForwards(actor: Actor, deps: CoreDeps): Promise<{ forwards: OwnForwardView[]; policy: OwnForwardingPolicy }> {
  const m = await ownerMailbox(actor, deps);
  const rows = await repos(deps.db, scopeOf(actor)).mailboxes.forwardsOf(m);
  const now = deps.now();
  const policy = await loadPolicy(deps.db, m.tenant_id);
  return {
    forwards: rows.map((r) => ({ ...forwardView(r, now), removable: r.created_by === actor.principalId })),
    policy: { externalAllowed: policy.externalForwarding, externalMaxDays: OWNER_EXTERNAL_MAX_DAYS },
  };
}

export async function createOwnForward(actor: Actor, deps: CoreDeps, input: { target: string; keepCopy?: boolean; reason?: string; expiresAt?: string }): Promise<OwnForwardView> {
  const m = await ownerMailbox(actor, deps);
  if (m.status !== 'active') throw new AppError('Conflict', `a ${m.status} mailbox cannot get forwards`, { status: m.status });
  const target = await resolveTarget(deps.db, m.tenant_id, input.target, 'target');
  if (target.kind === 'external') {
    // Checked here too (insertForward checks the policy again) so the owner gets the owner's rules.
    if (!(await loadPolicy(deps.db, m.tenant_id)).externalForwarding)
      throw new AppError('Forbidden', 'your organisation does not allow forwarding to outside addresses', { policy: 'externalForwarding' });
    if (!input.reason?.trim()) throw invalid('say why mail should leave the organisation (it is reported to your administrator)', { field: 'reason' });
    const expires = input.expiresAt === undefined ? NaN : Date.parse(input.expiresAt);
    if (!Number.isFinite(expires)) throw invalid(`a forward to an outside address needs an end date (at most ${OWNER_EXTERNAL_MAX_DAYS} days)`, { field: 'expiresAt' });
    if (expires > deps.now() + OWNER_EXTERNAL_MAX_DAYS * 86_400_000) throw invalid(`the end date may be at most ${OWNER_EXTERNAL_MAX_DAYS} days away`, { field: 'expiresAt' });
  }
  const view = await insertForward(actor, deps, m, input);
  return { ...view, removable: true };
}

export async function deleteOwnForward(actor: Actor, deps: CoreDeps, forwardId: string): Promise<void> {
  const m = await ownerMailbox(actor, deps);
  const f = await repos(deps.db, scopeOf(actor)).mailboxes.forwardOf(m, forwardId);
  if (!f) throw notFound('forward');
  if (f.created_by !== actor.principalId) throw new AppError('Forbidden', 'this forward was set up by your administrator; ask them to remove it');
  await removeForward(actor, deps, f);
}
