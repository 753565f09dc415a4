/**
 * What the sending use cases share: their record ids and the audit append inside a use case's
 * transaction (its repositories are bound to that transaction).
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Repos } from '../../db/repos/index.js';
import { type AuditInput, appendAudit } from '../audit/audit.js';
import type { Actor } from '../kernel/authz.js';

export function sendingId(prefix: 'fwd' | 'sag' | 'rte' | 'dkm' | 'spl'): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

/** Appends an audit event in the transaction `t` runs in (`t` comes from `Repos.transaction`). */
export function audit(t: Repos, actor: Actor, input: AuditInput, at: number): Promise<number> {
  return appendAudit(t.db as Transaction<DB>, actor, input, at);
}
