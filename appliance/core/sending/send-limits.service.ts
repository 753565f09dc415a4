/**
 * The send limits of a mailbox and its automatic send block as admins see and change them
 * (the limiter that enforces them per message is limits.ts). Audited.
 */
import type { MailboxSendState } from '../../db/repos/limits.js';
import { repos } from '../../db/repos/index.js';
import type { CoreDeps } from '../deps.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError } from '../kernel/errors.js';
import { optionalText } from '../kernel/text.js';
import { iso } from '../kernel/util.js';
import { audit } from './common.js';

export interface SendingStateView {
  mailboxId: string;
  blocked: boolean;
  blockedAt: string | null;
  blockedReason: string | null;
  messagesPerHour: number | null;
  recipientsPerHour: number | null;
}

function stateView(m: MailboxSendState): SendingStateView {
  return {
    mailboxId: m.id,
    blocked: m.send_blocked_at !== null,
    blockedAt: iso(m.send_blocked_at),
    blockedReason: m.send_blocked_reason,
    messagesPerHour: m.send_limit_per_hour,
    recipientsPerHour: m.rcpt_limit_per_hour,
  };
}

export async function getSendingState(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<SendingStateView> {
  authorize(actor, 'mailboxes.read');
  const rAll = repos(deps.db, scopeOf(actor));
  const r = rAll.limits;
  const mailbox = await rAll.mailboxes.get(mailboxId);
  return stateView(await r.sendState(mailbox.id));
}

export async function setSendLimits(actor: Actor, deps: CoreDeps, mailboxId: string, input: { messagesPerHour: number | null; recipientsPerHour: number | null }): Promise<SendingStateView> {
  authorize(actor, 'mailboxes.manage');
  const r = repos(deps.db, scopeOf(actor));
  const mailbox = await r.mailboxes.get(mailboxId);
  const before = stateView(await r.limits.sendState(mailbox.id));
  const now = deps.now();
  await r.transaction(async (t) => {
    await t.limits.setMailboxLimits(mailbox.id, input, now);
    await audit(
      t,
      actor,
      {
        action: 'mailbox.send_limits.set',
        targetType: 'mailbox',
        targetId: mailbox.id,
        tenantId: mailbox.tenant_id,
        before: { messagesPerHour: before.messagesPerHour, recipientsPerHour: before.recipientsPerHour },
        after: { ...input },
      },
      now,
    );
  });
  return stateView(await r.limits.sendState(mailbox.id));
}

export async function liftSendBlock(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason?: string }): Promise<SendingStateView> {
  authorize(actor, 'mailboxes.suspend');
  const r = repos(deps.db, scopeOf(actor));
  const mailbox = await r.mailboxes.get(mailboxId);
  const before = stateView(await r.limits.sendState(mailbox.id));
  if (!before.blocked) throw new AppError('Conflict', 'the mailbox is not blocked from sending');
  const reason = optionalText(input.reason, 'reason');
  const now = deps.now();
  await r.transaction(async (t) => {
    await t.limits.liftSendBlock(mailbox.id, now);
    await audit(
      t,
      actor,
      {
        action: 'mailbox.send.unblocked',
        targetType: 'mailbox',
        targetId: mailbox.id,
        tenantId: mailbox.tenant_id,
        before: { sendBlocked: true, reason: before.blockedReason },
        after: { sendBlocked: false },
        reason,
      },
      now,
    );
  });
  return stateView(await r.limits.sendState(mailbox.id));
}
