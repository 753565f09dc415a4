/**
 * The retention date of an offboarding: the mailbox is kept (shared, alias target or disabled)
 * until that date; then it goes to the recycle bin like any deletion (restorable for
 * POSTERN_RECYCLE_BIN_DAYS, audited), and is purged after that.
 */
import { repos } from '../../db/repos/index.js';
import { type Actor, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { deleteMailbox } from './recycle-bin.service.js';

/** Deletes (into the recycle bin) every offboarded mailbox whose retention date has passed; returns their ids. */
export async function enforceRetention(actor: Actor, deps: CoreDeps): Promise<string[]> {
  const due = await repos(deps.db, scopeOf(actor)).mailboxes.retentionDue(deps.now());
  const done: string[] = [];
  for (const mailboxId of due) {
    const reason = 'offboarding retention period ended';
    const intent = await deleteMailbox(actor, deps, mailboxId, { reason });
    if ('intent' in intent) await deleteMailbox(actor, deps, mailboxId, { confirm: intent.intent.id, reason });
    done.push(mailboxId);
  }
  return done;
}
