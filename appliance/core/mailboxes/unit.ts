/**
 * The mailbox use cases' unit of work: repositories bound to one transaction, and that
 * transaction for the calls of other features that still take one (the audit chain, setup
 * links, the mail store's default folders).
 */
import { type Executor, Repos } from '../../db/repos/index.js';

export { appendAuditIn as audit } from '../audit/audit.js';

/** The database or transaction behind either (helpers other features call with a `trx` or with their repositories). */
export function executorOf(db: Executor | Repos): Executor {
  return db instanceof Repos ? db.db : db;
}
