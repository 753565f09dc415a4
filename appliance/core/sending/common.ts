/**
 * What the sending use cases share: their record ids and the audit append inside a use case's
 * transaction (its repositories are bound to that transaction).
 */
import { newId } from '../kernel/ids.js';

export function sendingId(prefix: 'fwd' | 'sag' | 'rte' | 'dkm' | 'spl'): string {
  return newId(prefix);
}

export { appendAuditIn as audit } from '../audit/audit.js';
