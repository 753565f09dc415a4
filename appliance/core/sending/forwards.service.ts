/**
 * Forwards of a mailbox (creator, reason, expiry), managed by admins here and by the mailbox
 * owner in mailboxes/owner-forwards.service. An external target needs a reason and the tenant's
 * and the domain's permission; every change is audited in its transaction.
 */
import type { Forward } from '../../db/repos/sending.js';
import { repos } from '../../db/repos/index.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import { withCreatorNames } from '../audit/audit.service.js';
import { assertExternalForwardingAllowed } from '../access/policies.js';
import type { CoreDeps } from '../deps.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError, invalid } from '../kernel/errors.js';
import { optionalText } from '../kernel/text.js';
import { iso } from '../kernel/util.js';
import { resolveTarget } from '../mailboxes/targets.js';
import { assertDomainAllowsExternalForwarding } from '../templates/domain-policy.js';
import { audit, sendingId } from './common.js';

const MAX_FORWARDS = 20;

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

export interface ForwardInput {
  target: string;
  keepCopy?: boolean;
  reason?: string;
  expiresAt?: string;
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
  const rAll = repos(deps.db, scopeOf(actor));
  const r = rAll.sending;
  const mailbox = await rAll.mailboxes.get(mailboxId);
  const rows = await r.forwardsOf(mailbox.id);
  const now = deps.now();
  return withCreatorNames(
    deps,
    rows.map((f) => forwardView(f, now)),
  );
}

export async function createForward(actor: Actor, deps: CoreDeps, mailboxId: string, input: ForwardInput): Promise<ForwardView> {
  authorize(actor, 'forwarding.manage');
  return insertForward(actor, deps, await repos(deps.db, scopeOf(actor)).mailboxes.get(mailboxId), input);
}

/** Creates a forward of a mailbox the caller has already authorized (admins above, owners in owner-forwards.service). */
export async function insertForward(actor: Actor, deps: CoreDeps, mailbox: Mailbox, input: ForwardInput): Promise<ForwardView> {
  const now = deps.now();
  let expiresAt: number | null = null;
  if (input.expiresAt !== undefined) {
    expiresAt = Date.parse(input.expiresAt);
    if (!Number.isFinite(expiresAt) || expiresAt <= now) throw invalid('expiresAt must be a date-time in the future', { field: 'expiresAt' });
  }
  const reason = optionalText(input.reason, 'reason');
  return repos(deps.db, scopeOf(actor)).transaction(async (t) => {
    const target = await resolveTarget(t.db, mailbox.tenant_id, input.target, 'target');
    if (target.address === mailbox.address) throw invalid('a mailbox cannot forward to itself', { field: 'target' });
    const external = target.kind === 'external';
    if (external && !reason) throw invalid('forwarding to an external address needs a reason (it is reported and audited)', { field: 'reason' });
    if (external) await assertExternalForwardingAllowed(t.db, mailbox.tenant_id);
    if (external) await assertDomainAllowsExternalForwarding({ ...deps, db: t.db }, mailbox.domain_id);
    if ((await t.sending.activeForwardCount(mailbox.id)) >= MAX_FORWARDS) throw invalid(`a mailbox has at most ${MAX_FORWARDS} forwards`, { field: 'target' });
    if (await t.sending.forwardsTo(mailbox.id, target.address)) throw new AppError('AlreadyExists', `${mailbox.address} already forwards to ${target.address}`);
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
    await t.sending.insertForward(row);
    await audit(
      t,
      actor,
      {
        action: 'forward.create',
        targetType: 'mailbox',
        targetId: mailbox.id,
        tenantId: mailbox.tenant_id,
        after: { forwardId: row.id, target: row.target, external, keepCopy: row.keep_copy === 1, expiresAt: iso(expiresAt) },
        reason,
      },
      now,
    );
    return forwardView(row, now);
  });
}

export async function deleteForward(actor: Actor, deps: CoreDeps, forwardId: string): Promise<void> {
  authorize(actor, 'forwarding.manage');
  const rAll = repos(deps.db, scopeOf(actor));
  const r = rAll.sending;
  const f = await r.forward(forwardId);
  await rAll.mailboxes.get(f.mailbox_id); // a forward of a deleted mailbox is gone with it
  await removeForward(actor, deps, f);
}

/** Removes a forward the caller has already authorized. */
export async function removeForward(actor: Actor, deps: CoreDeps, f: Forward): Promise<void> {
  const now = deps.now();
  await repos(deps.db, scopeOf(actor)).transaction(async (t) => {
    await t.sending.removeForward(f.id);
    await audit(t, actor, { action: 'forward.delete', targetType: 'mailbox', targetId: f.mailbox_id, tenantId: f.tenant_id, before: { forwardId: f.id, target: f.target } }, now);
  });
}
