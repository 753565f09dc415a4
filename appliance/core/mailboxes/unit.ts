/**
 * The mailbox use cases' unit of work: repositories bound to one transaction, and that
 * transaction for the calls of other features that still take one (the audit chain, setup
 * links, the mail store's default folders).
 */
import { type Executor, Repos } from '../../db/repos/index.js';
import { appendAudit, type AuditInput } from '../audit/audit.js';
import type { Actor } from '../kernel/authz.js';
import { trxOf } from '../../db/repos/index.js';

/** Appends an audit event in the use case's transaction. */
export function audit(t: Repos, actor: Actor, input: AuditInput, now: number): Promise<number> {
  return appendAudit(trxOf(t), actor, input, now);
}

/** The database or transaction behind either (helpers other features call with a `trx` or with their repositories). */
export function executorOf(db: Executor | Repos): Executor {
  return db instanceof Repos ? db.db : db;
}
