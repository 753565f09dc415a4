/**
 * What every reset, password change and offboarding shares: the appliance's notices to the owner
 * of record and the business owner, sent after the commit (never inside a transaction) through
 * the injected mailer. Cutting a mailbox's access off is the lifecycle's one revocation call
 * (core/mailboxes/lifecycle.ts, revokeMailboxAccess).
 */
import type { Mailbox } from '../../db/tables/control.table.js';
import { accessSender, type AccessDeps } from './policies.js';

export type MailState = 'sent' | 'failed' | 'unavailable';

/** Sends one message; never throws (the outcome is recorded by the caller). */
export async function sendQuietly(deps: AccessDeps, to: string, subject: string, text: string): Promise<MailState> {
  if (!deps.mailer) return 'unavailable';
  try {
    await deps.mailer.send(accessSender(deps), to, subject, text);
    return 'sent';
  } catch {
    return 'failed';
  }
}

/** The owner of record and the business owner (distinct addresses). */
export function ownerAddresses(m: Mailbox): string[] {
  return [...new Set([m.owner_email, m.business_owner_email].filter((a): a is string => !!a).map((a) => a.toLowerCase()))];
}

/** Tells the owner of record and the business owner what happened; returns the outcome per address. */
export async function notifyOwners(deps: AccessDeps, m: Mailbox, subject: string, lines: string[]): Promise<Array<{ to: string; state: MailState }>> {
  const text = [...lines, '', 'If you did not expect this, contact your administrator at once.', ''].join('\r\n');
  const out: Array<{ to: string; state: MailState }> = [];
  for (const to of ownerAddresses(m)) out.push({ to, state: await sendQuietly(deps, to, subject, text) });
  return out;
}

export function resetLinkMessage(input: { address: string; url: string; expiresAt: string; kind: string }): { subject: string; text: string } {
  return {
    subject: `Reset the password of ${input.address}`,
    text: [
      `A password reset (${input.kind}) was started for the mailbox ${input.address}.`,
      'Choose a new password with this single-use link (it works once):',
      '',
      input.url,
      '',
      `The link expires at ${input.expiresAt}. Nobody else knows or sets your password.`,
      'If you did not ask for this, tell your administrator.',
      '',
    ].join('\r\n'),
  };
}
