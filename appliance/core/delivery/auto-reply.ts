/**
 * Auto-replies of offboarded addresses ("I have left; write to …"), sent by the delivery path.
 * RFC 3834: never to the null sender, to mailing lists, bulk or automatic mail (the MTA tells us
 * with `eligible`); at most one reply per sender per period; marked Auto-Submitted: auto-replied.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { DeliveryRepo } from '../../db/repos/delivery.js';
import { repos } from '../../db/repos/index.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';

export interface AutoReplySender {
  sendMail(mail: { from: string; to: string; subject: string; text: string; autoReplied: true; inReplyTo?: string | null }): Promise<unknown>;
}

export interface IncomingForReply {
  /** The envelope recipient (the offboarded address). */
  address: string;
  /** The envelope sender ('' for the null sender). */
  sender: string;
  subject: string;
  messageId: string | null;
  /** False for list, bulk, junk or automatically submitted mail (decided from its headers). */
  eligible: boolean;
}

const NEVER = /^(mailer-daemon|postmaster|no-?reply|noreply|bounce[s]?|listserv|majordomo|owner-.*|.*-request)$/i;
const PERIOD_MS = 7 * 86_400_000;

export class AutoResponder {
  /** The serving layer: a recipient address names no tenant, so the platform scope. */
  private readonly repo: DeliveryRepo;

  constructor(
    db: Kysely<DB>,
    private readonly mailer: AutoReplySender,
  ) {
    this.repo = repos(db, PLATFORM_SCOPE).delivery;
  }

  /** Sends the reply when one is due; resolves with whether it was sent. */
  async maybeReply(m: IncomingForReply, now = Date.now()): Promise<boolean> {
    const sender = m.sender.trim().toLowerCase();
    const address = m.address.trim().toLowerCase();
    if (!m.eligible || !sender || sender === address || NEVER.test(sender.slice(0, sender.lastIndexOf('@')))) return false;
    const autoReply = await this.repo.offboardingAutoReply(address);
    if (!autoReply) return false;
    const reply = JSON.parse(autoReply) as { subject: string; text: string; until: string | null };
    if (reply.until && Date.parse(reply.until) <= now) return false;
    const last = await this.repo.lastAutoReply(address, sender);
    if (last !== null && now - last < PERIOD_MS) return false;
    await this.repo.recordAutoReply(address, sender, now);
    await this.mailer.sendMail({ from: address, to: sender, subject: reply.subject, text: reply.text, autoReplied: true, inReplyTo: m.messageId });
    return true;
  }
}
