/**
 * Suspension and resumption of mailboxes (CONTROL-MODEL: "disable/revoke buttons that work at
 * once"). Suspending sets status `suspended` and bumps `credential_version` in the same
 * transaction as its audit event, so new logins, cached verifications and `isCurrent` checks
 * fail from the commit on; after the commit the revoker closes open sessions.
 */
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { type MailboxView, mailboxView } from './mailboxes.service.js';
import { scopedRepo } from '../../db/repo.js';

const SUSPENDABLE = new Set(['active', 'pending']);

function cleanReason(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const s = raw.trim();
  // eslint-disable-next-line no-control-regex
  if (s.length > 500 || /[\u0000-\u0008\u000b-\u001f\u007f]/.test(s)) throw invalid('reason must be at most 500 characters of text', { field: 'reason' });
  return s.length ? s : null;
}

/** Suspends a mailbox: no login, open sessions closed, mail still accepted and stored. Idempotent. */
export async function suspendMailbox(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason?: string } = {}): Promise<MailboxView> {
  authorize(actor, 'mailboxes.suspend');
  const reason = cleanReason(input.reason);
  const repo = scopedRepo(deps.db, actor);
  const mailbox = await repo.mailbox(mailboxId);
  if (mailbox.status === 'suspended') return mailboxView(mailbox);
  if (!SUSPENDABLE.has(mailbox.status)) throw new AppError('Conflict', `a ${mailbox.status} mailbox cannot be suspended`, { status: mailbox.status });
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('mailboxes')
      .set((eb) => ({ status: 'suspended', credential_version: eb('credential_version', '+', 1), updated_at: now }))
      .where('id', '=', mailbox.id)
      .where('tenant_id', '=', mailbox.tenant_id)
      .where('status', '=', mailbox.status)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new AppError('Conflict', 'the mailbox changed meanwhile; try again');
    await appendAudit(
      trx,
      actor,
      { action: 'mailbox.suspend', targetType: 'mailbox', targetId: mailbox.id, tenantId: mailbox.tenant_id, before: { status: mailbox.status }, after: { status: 'suspended', sessionsRevoked: true }, reason },
      now,
    );
  });
  deps.revoker.notifyRevoked(mailbox.id, reason ? `mailbox suspended: ${reason}` : 'mailbox suspended');
  return mailboxView(await repo.mailbox(mailbox.id));
}

/** Lifts a suspension: active again when a password is set, pending (awaiting setup) otherwise. Idempotent. */
export async function resumeMailbox(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason?: string } = {}): Promise<MailboxView> {
  authorize(actor, 'mailboxes.suspend');
  const reason = cleanReason(input.reason);
  const repo = scopedRepo(deps.db, actor);
  const mailbox = await repo.mailbox(mailboxId);
  if (SUSPENDABLE.has(mailbox.status)) return mailboxView(mailbox);
  if (mailbox.status !== 'suspended') throw new AppError('Conflict', `a ${mailbox.status} mailbox cannot be resumed`, { status: mailbox.status });
  const status = mailbox.password_hash ? 'active' : 'pending';
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('mailboxes')
      .set({ status, updated_at: now })
      .where('id', '=', mailbox.id)
      .where('tenant_id', '=', mailbox.tenant_id)
      .where('status', '=', 'suspended')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new AppError('Conflict', 'the mailbox changed meanwhile; try again');
    await appendAudit(trx, actor, { action: 'mailbox.resume', targetType: 'mailbox', targetId: mailbox.id, tenantId: mailbox.tenant_id, before: { status: 'suspended' }, after: { status }, reason }, now);
  });
  return mailboxView(await repo.mailbox(mailbox.id));
}
