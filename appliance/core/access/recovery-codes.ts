/**
 * One-time recovery codes of mailbox owners: ten codes generated in self-service (with the
 * current password), shown once, stored as sha256 only; one code lets the owner set a new
 * password without the old one (resets-self.service.ts). Generating new codes voids the old.
 */
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import { appendAudit } from '../audit/audit.js';
import type { Actor } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { newRecoveryCodes, recoveryCodeHash } from './totp.js';

export async function replaceRecoveryCodes(actor: Actor, deps: CoreDeps, m: Mailbox): Promise<string[]> {
  const codes = newRecoveryCodes(10);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('mailbox_recovery_codes').where('mailbox_id', '=', m.id).execute();
    await trx
      .insertInto('mailbox_recovery_codes')
      .values(codes.map((c) => ({ tenant_id: m.tenant_id, mailbox_id: m.id, code_hash: recoveryCodeHash(c), used_at: null, created_at: now })))
      .execute();
    await appendAudit(trx, actor, { action: 'mailbox.recovery_codes.generate', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, after: { count: codes.length } }, now);
  });
  return codes;
}

export async function remainingRecoveryCodes(deps: CoreDeps, mailboxId: string): Promise<number> {
  const row = await deps.db.selectFrom('mailbox_recovery_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('mailbox_id', '=', mailboxId).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The id of an unused code matching `code`, or null. */
export async function findRecoveryCode(deps: CoreDeps, mailboxId: string, code: string): Promise<number | null> {
  const row = await deps.db
    .selectFrom('mailbox_recovery_codes')
    .select('id')
    .where('mailbox_id', '=', mailboxId)
    .where('code_hash', '=', recoveryCodeHash(String(code ?? '')))
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return row ? Number(row.id) : null;
}

/** Marks the code used inside the caller's transaction; false if another request used it first. */
export async function useRecoveryCode(trx: Transaction<DB>, id: number, now: number): Promise<boolean> {
  const res = await trx.updateTable('mailbox_recovery_codes').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}
