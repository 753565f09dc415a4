/**
 * Undo (within the policy's grace period): restores the recorded `before` of each step's audit
 * event, newest first, in one transaction. Revoked credentials stay revoked (sessions, app
 * passwords, API tokens); a mailbox converted to shared has no password until its owner resets it.
 */
import type { Mailbox } from '../../db/tables/control.table.js';
import type { Repos } from '../../db/repos/index.js';
import type { GrantRow } from '../../db/repos/offboarding.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError } from '../kernel/errors.js';
import { requiredText } from '../kernel/text.js';
import { isMailboxStatus, planTransition, statusAfter } from '../mailboxes/lifecycle.js';
import { iso } from '../kernel/util.js';
import { mailboxInScope } from './common.js';
import { trxOf } from '../../db/repos/index.js';
import { announce, restoreMembershipStep } from './membership-steps.js';
import { notifyMembersAfter } from '../access/grants.service.js';
import type { GrantChange } from '../access/grants.types.js';
import { type OffboardingView, offboardingView } from './view.js';
import { ALIAS_STATUSES, FORWARD_STATUSES, isOneOf, PRINCIPAL_STATUSES } from '../../db/tables/status.js';

type Before = Record<string, unknown>;

const INCOMPLETE = 'the audit record of this offboarding is incomplete; restore by hand';

/** Puts back what one step changed; returns what could not be restored (beyond the fixed list). */
async function restoreStep(t: Repos, m: Mailbox, action: string, before: Before, after: Before, now: number): Promise<string[]> {
  const o = t.offboarding;
  switch (action) {
    case 'offboarding.convert':
      if (after.convertTo === 'alias' && typeof after.aliasId === 'string') await o.deleteAlias(after.aliasId);
      if (after.convertTo === 'shared') {
        await o.unconvertShared(m.id, { isRole: !!before.isRole, ownerName: String(before.ownerName), ownerEmail: String(before.ownerEmail), resetDestination: String(before.resetDestination) }, now);
        return ['the password (the mailbox was shared without one): the owner sets a new one through a reset'];
      }
      return [];
    case 'offboarding.transfer':
      for (const d of (before.mailboxes ?? []) as Array<Record<string, string | null>>) {
        await o.setOwnerFields(
          String(d.id),
          {
            owner_name: String(d.ownerName),
            owner_email: String(d.ownerEmail),
            business_owner_name: d.businessOwnerName,
            business_owner_email: d.businessOwnerEmail,
            reset_destination: String(d.resetDestination),
          },
          now,
        );
      }
      return [];
    case 'offboarding.send_as':
      for (const g of (before.grants ?? []) as Array<{ id: string; mailboxId: string; address: string; createdBy: string; createdAt: number }>) {
        const row: GrantRow = { id: g.id, mailbox_id: g.mailboxId, address: g.address, created_by: g.createdBy, created_at: g.createdAt };
        await o.restoreGrant(m.tenant_id, row);
      }
      return [];
    case 'offboarding.addresses':
      for (const a of (before.aliases ?? []) as Array<{ id: string; targets: string[]; status: string }>) await o.setAliasTargets(a.id, a.targets, recorded(ALIAS_STATUSES, a.status), now);
      for (const d of (before.domains ?? []) as Array<{ id: string; catchAll: string | null }>) await o.setCatchAll([d.id], d.catchAll, now);
      return [];
    case 'offboarding.forwards':
      for (const f of (before.forwards ?? []) as Array<{ id: string; target: string; external: number; status: string }>)
        await o.setForward(f.id, { target: f.target, external: f.external, status: recorded(FORWARD_STATUSES, f.status) });
      return [];
    case 'offboarding.revoke':
      for (const p of (before.principals ?? []) as Array<{ id: string; status: string }>) await o.setPrincipalStatus(p.id, recorded(PRINCIPAL_STATUSES, p.status), now);
      return [];
    case 'offboarding.disable':
      // The mailbox goes back to the status it had before the offboarding (pending, active or suspended).
      if (!isMailboxStatus(before.status)) throw new AppError('Conflict', INCOMPLETE);
      await o.setMailboxStatus(m.id, statusAfter(planTransition('reinstate', { status: m.status, status_before_offboard: before.status })), now);
      return [];
    default:
      return [];
  }
}

/** Restores the state recorded in the `before` of each step's audit event, newest first. */
export async function undoOffboarding(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason: string }): Promise<{ offboarding: OffboardingView; notRestored: string[] }> {
  authorize(actor, 'mailboxes.offboard');
  const { m, r } = await mailboxInScope(actor, deps, mailboxId);
  const reason = requiredText(input.reason, 'reason');
  const o = await r.offboarding.latest(m.id);
  if (!o || o.status !== 'applied') throw new AppError('Conflict', 'there is no applied offboarding of this mailbox to undo');
  const now = deps.now();
  if (Number(o.undo_until) <= now) throw new AppError('Conflict', `the grace period ended at ${iso(o.undo_until)}; restore by hand`, { undoUntil: iso(o.undo_until) });
  const eventIds = JSON.parse(o.event_ids) as number[];
  const events = await r.offboarding.stepRecords(eventIds);
  if (events.length !== eventIds.length || events.some((e) => e.target_id !== m.id)) throw new AppError('Conflict', INCOMPLETE);
  const notRestored = ['open sessions (their owners log in again)', 'app passwords (create new ones)', 'API tokens of the person (create new ones)'];
  const changes = await r.transaction(async (t) => {
    const changes: GrantChange[] = [];
    for (const e of events) {
      const before = (e.before ? JSON.parse(e.before) : {}) as Before;
      const after = (e.after ? JSON.parse(e.after) : {}) as Before;
      notRestored.push(...(await restoreStep(t, m, e.action, before, after, now)));
      changes.push(...(await restoreMembershipStep(t, actor, m, e.action, before, after, now)));
    }
    await t.offboarding.markUndone(o.id, now);
    await appendAudit(
      trxOf(t),
      actor,
      {
        action: 'offboarding.undo',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        before: { status: 'offboarded' },
        after: { offboardingId: o.id, restoredFromEvents: eventIds, notRestored },
        reason,
      },
      now,
    );
    return changes;
  });
  announce(deps, changes);
  await notifyMembersAfter(deps, m.id, 'changed');
  return { offboarding: await offboardingView(r, await r.offboarding.get(o.id)), notRestored };
}

/** A status read back from an audit event's `before`: one of the column's values, or the record is corrupt. */
function recorded<T extends string>(values: readonly T[], status: string): T {
  if (!isOneOf(values, status)) throw new AppError('Conflict', `the recorded status "${status}" cannot be restored`);
  return status;
}
