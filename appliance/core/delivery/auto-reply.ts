/**
 * Auto-replies of offboarded addresses ("I have left; write to …"), sent by the delivery path.
 * RFC 3834: never to the null sender, to mailing lists, bulk or automatic mail (the MTA tells us
 * with `eligible`); at most one reply per sender per period; marked Auto-Submitted: auto-replied.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';

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
  constructor(
    private readonly db: Kysely<DB>,
    private readonly mailer: AutoReplySender,
  ) {}

  /** Sends the reply when one is due; resolves with whether it was sent. */
  async maybeReply(m: IncomingForReply, now = Date.now()): Promise<boolean> {
    const sender = m.sender.trim().toLowerCase();
    const address = m.address.trim().toLowerCase();
    if (!m.eligible || !sender || sender === address || NEVER.test(sender.slice(0, sender.lastIndexOf('@')))) return false;
    const row = await this.db
      .selectFrom('offboardings')
      .innerJoin('mailboxes', 'mailboxes.id', 'offboardings.mailbox_id')
      .select(['offboardings.auto_reply'])
      .where('mailboxes.address', '=', address)
      .where('offboardings.status', '=', 'applied')
      .where('offboardings.undone_at', 'is', null)
      .where('offboardings.auto_reply', 'is not', null)
      .orderBy('offboardings.applied_at', 'desc')
      .executeTakeFirst();
    if (!row?.auto_reply) return false;
    const reply = JSON.parse(row.auto_reply) as { subject: string; text: string; until: string | null };
    if (reply.until && Date.parse(reply.until) <= now) return false;
    const last = await this.db.selectFrom('auto_replies').select('sent_at').where('address', '=', address).where('sender', '=', sender).executeTakeFirst();
    if (last && now - Number(last.sent_at) < PERIOD_MS) return false;
    await this.db
      .insertInto('auto_replies')
      .values({ address, sender, sent_at: now })
      .onConflict((oc) => oc.columns(['address', 'sender']).doUpdateSet({ sent_at: now }))
      .execute();
    await this.mailer.sendMail({ from: address, to: sender, subject: reply.subject, text: reply.text, autoReplied: true, inReplyTo: m.messageId });
    return true;
  }
}
