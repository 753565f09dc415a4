/**
 * The retention date of an offboarding: the mailbox is kept (shared, alias target or disabled)
 * until that date; then it goes to the recycle bin like any deletion (restorable for
 * POSTERN_RECYCLE_BIN_DAYS, audited), and is purged after that.
 */
import type { Actor } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { deleteMailbox } from './recycle-bin.service.js';

/** Deletes (into the recycle bin) every offboarded mailbox whose retention date has passed; returns their ids. */
export async function enforceRetention(actor: Actor, deps: CoreDeps): Promise<string[]> {
  const due = await deps.db
    .selectFrom('offboardings')
    .innerJoin('mailboxes', 'mailboxes.id', 'offboardings.mailbox_id')
    .select(['offboardings.mailbox_id as mailboxId'])
    .where('offboardings.status', '=', 'applied')
    .where('offboardings.undone_at', 'is', null)
    .where('offboardings.retain_until', 'is not', null)
    .where('offboardings.retain_until', '<=', deps.now())
    .where('mailboxes.status', '!=', 'deleted')
    .execute();
  const done: string[] = [];
  for (const { mailboxId } of due) {
    const reason = 'offboarding retention period ended';
    const intent = await deleteMailbox(actor, deps, mailboxId, { reason });
    if ('intent' in intent) await deleteMailbox(actor, deps, mailboxId, { confirm: intent.intent.id, reason });
    done.push(mailboxId);
  }
  return done;
}
