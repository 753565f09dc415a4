/**
 * Suspension and resumption of mailboxes (CONTROL-MODEL: "disable/revoke buttons that work at
 * once"). Suspending moves the mailbox to `suspended` and cuts its access with the one
 * revocation call (credential version, console sessions) in the same transaction as its audit
 * event, so new logins, cached verifications and `isCurrent` checks fail from the commit on;
 * after the commit the revoker closes open sessions. Which moves are allowed is the lifecycle's
 * (lifecycle.ts) to say.
 */
import { notifyMembersAfter } from '../access/grants.service.js';
import { repos } from '../../db/repos/index.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError } from '../kernel/errors.js';
import { optionalText } from '../kernel/text.js';
import { alreadyDone, planTransition, revokeMailboxAccess, statusAfter, statusBefore } from './lifecycle.js';
import { type MailboxView, mailboxView } from './mailboxes.service.js';
import { audit } from './unit.js';

const changedMeanwhile = () => new AppError('Conflict', 'the mailbox changed meanwhile; try again');

/** Suspends a mailbox: no login, open sessions closed, mail still accepted and stored. Idempotent. */
export async function suspendMailbox(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason?: string } = {}): Promise<MailboxView> {
  authorize(actor, 'mailboxes.suspend');
  const reason = optionalText(input.reason, 'reason');
  const r = repos(deps.db, scopeOf(actor));
  const mailbox = await r.mailboxes.get(mailboxId);
  if (alreadyDone('suspend', mailbox)) return mailboxView(mailbox);
  const plan = planTransition('suspend', mailbox);
  const now = deps.now();
  await r.transaction(async (t) => {
    if (!(await t.mailboxes.setStatus(mailbox.id, statusBefore(plan), statusAfter(plan), now))) throw changedMeanwhile();
    await revokeMailboxAccess(t, mailbox.id, now, { appPasswords: false });
    await audit(
      t,
      actor,
      {
        action: 'mailbox.suspend',
        targetType: 'mailbox',
        targetId: mailbox.id,
        tenantId: mailbox.tenant_id,
        before: { status: mailbox.status },
        after: { status: 'suspended', sessionsRevoked: true },
        reason,
      },
      now,
    );
  });
  deps.revoker.notifyRevoked(mailbox.id, reason ? `mailbox suspended: ${reason}` : 'mailbox suspended');
  await notifyMembersAfter(deps, mailbox.id, 'revoked'); // members of a shared mailbox lose it at once
  return mailboxView(await r.mailboxes.get(mailbox.id));
}

/** Lifts a suspension: active again when a password is set, pending (awaiting setup) otherwise. Idempotent. */
export async function resumeMailbox(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason?: string } = {}): Promise<MailboxView> {
  authorize(actor, 'mailboxes.suspend');
  const reason = optionalText(input.reason, 'reason');
  const r = repos(deps.db, scopeOf(actor));
  const mailbox = await r.mailboxes.get(mailboxId);
  if (alreadyDone('resume', mailbox)) return mailboxView(mailbox);
  const status = statusAfter(planTransition('resume', mailbox));
  const now = deps.now();
  await r.transaction(async (t) => {
    if (!(await t.mailboxes.setStatus(mailbox.id, 'suspended', status, now))) throw changedMeanwhile();
    await audit(t, actor, { action: 'mailbox.resume', targetType: 'mailbox', targetId: mailbox.id, tenantId: mailbox.tenant_id, before: { status: 'suspended' }, after: { status }, reason }, now);
  });
  await notifyMembersAfter(deps, mailbox.id, 'granted');
  return mailboxView(await r.mailboxes.get(mailbox.id));
}
