/**
 * One-time recovery codes of mailbox owners: ten codes generated in self-service (with the
 * current password), shown once, stored as sha256 only; one code lets the owner set a new
 * password without the old one (resets-self.service.ts). Generating new codes voids the old.
 */
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import { inTransaction, repos } from '../../db/repos/index.js';
import { appendAudit } from '../audit/audit.js';
import type { Actor } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { writeScope } from './access-scope.js';
import { trxOf } from '../../db/repos/index.js';
import { newRecoveryCodes, recoveryCodeHash } from './totp.js';

export async function replaceRecoveryCodes(actor: Actor, deps: CoreDeps, m: Mailbox): Promise<string[]> {
  const codes = newRecoveryCodes(10);
  const now = deps.now();
  await inTransaction(deps.db, writeScope(actor, m.tenant_id), async (t) => {
    await t.ownerSecurity.replaceRecoveryCodes(m.tenant_id, m.id, codes.map(recoveryCodeHash), now);
    await appendAudit(trxOf(t), actor, { action: 'mailbox.recovery_codes.generate', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, after: { count: codes.length } }, now);
  });
  return codes;
}

// The functions below take a mailbox the caller has already found in its actor's scope.

export async function remainingRecoveryCodes(deps: CoreDeps, mailboxId: string): Promise<number> {
  return repos(deps.db, PLATFORM_SCOPE).ownerSecurity.remainingRecoveryCodes(mailboxId);
}

/** The id of an unused code matching `code`, or null. */
export async function findRecoveryCode(deps: CoreDeps, mailboxId: string, code: string): Promise<number | null> {
  return repos(deps.db, PLATFORM_SCOPE).ownerSecurity.unusedRecoveryCode(mailboxId, recoveryCodeHash(String(code ?? '')));
}

/** Marks the code used inside the caller's transaction; false if another request used it first. */
export async function useRecoveryCode(trx: Transaction<DB>, id: number, now: number): Promise<boolean> {
  return repos(trx, PLATFORM_SCOPE).ownerSecurity.useRecoveryCode(id, now);
}
