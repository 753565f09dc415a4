/**
 * How the core sends mail of its own (setup links of bulk-created mailboxes) and how it puts a
 * test message into a mailbox (batch verification) — both injected, so the core knows nothing
 * of Haraka or the store:
 *
 * - `Mailer`: production hands the message to Haraka's outbound queue (the appliance wires it);
 *   tests pass one that delivers to a test SMTP sink.
 * - `MailIngest`: the one ingest path of the mail store (`SqlMailStore.ingest`).
 *
 * Without a mailer, bulk-created mailboxes get their links but delivery is reported as pending
 * (never shown to the caller); without an ingest, verification reports routing only.
 */
import type { CoreDeps } from '../deps.js';

export interface Mailer {
  /** Sends a plain-text message; rejects when the message could not be handed over. */
  send(from: string, to: string, subject: string, text: string): Promise<void>;
}

export interface MailIngest {
  ingest(raw: Buffer, targets: Array<{ mailboxId: string; folder: string }>, opts: { enforceQuota: boolean }): Promise<unknown>;
}

/** The core dependencies plus the optional mail hooks of the portfolio features. */
export type PortfolioDeps = CoreDeps & { mailer?: Mailer | null; mailIngest?: MailIngest | null };

/** The sender of the appliance's own messages. */
export function systemSender(deps: CoreDeps): string {
  return `postmaster@${deps.config.hostname}`;
}

/** The text of a setup-link message: the link, its expiry, and no password anywhere. */
export function setupLinkMessage(input: { address: string; ownerName: string; url: string; expiresAt: string }): { subject: string; text: string } {
  return {
    subject: `Set up your mailbox ${input.address}`,
    text: [
      `Hello ${input.ownerName},`,
      '',
      `A mailbox was created for you: ${input.address}`,
      'Choose your password with this single-use link (it works once):',
      '',
      input.url,
      '',
      `The link expires at ${input.expiresAt}. Nobody else knows or sets your password.`,
      'If you did not expect this message, tell your administrator.',
      '',
    ].join('\r\n'),
  };
}
