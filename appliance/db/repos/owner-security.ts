/**
 * A mailbox owner's second factors: the owner's TOTP for the self-service login (`mailbox_totp`,
 * secrets sealed by the core) and one-time recovery codes (`mailbox_recovery_codes`, sha256
 * only). Tenant-owned: a tenant scope reads and changes its own tenant's rows only.
 */
import type { Selectable } from 'kysely';
import type { MailboxTotpTable } from '../tables/resets.table.js';
import { Repo } from './base.js';

export type OwnerTotpRow = Selectable<MailboxTotpTable>;

export class OwnerSecurityRepo extends Repo {
  // ---- TOTP -----------------------------------------------------------------------------------

  async totp(mailboxId: string): Promise<OwnerTotpRow | undefined> {
    return this.scoped(this.db.selectFrom('mailbox_totp').selectAll().where('mailbox_id', '=', mailboxId)).executeTakeFirst();
  }

  /** Stores a pending (sealed) secret, creating the row when the owner has none. */
  async setPendingTotp(tenantId: string, mailboxId: string, sealedSecret: string, now: number): Promise<void> {
    this.guardTenant(tenantId);
    await this.db
      .insertInto('mailbox_totp')
      .values({ mailbox_id: mailboxId, tenant_id: tenantId, secret: null, pending_secret: sealedSecret, enabled_at: null, last_step: null, updated_at: now })
      .onConflict((oc) => oc.column('mailbox_id').doUpdateSet({ pending_secret: sealedSecret, updated_at: now }).where('mailbox_totp.tenant_id', '=', tenantId))
      .execute();
  }

  /** The pending secret becomes the owner's TOTP secret (only while none is on). */
  async confirmTotp(mailboxId: string, sealedSecret: string, step: number, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('mailbox_totp')
        .set({ secret: sealedSecret, pending_secret: null, enabled_at: now, last_step: step, updated_at: now })
        .where('mailbox_id', '=', mailboxId)
        .where('secret', 'is', null),
    ).execute();
  }

  /** Records an accepted code's step; false when that step (or a later one) was used already. */
  async advanceTotpStep(mailboxId: string, step: number): Promise<boolean> {
    const res = await this.scoped(
      this.db
        .updateTable('mailbox_totp')
        .set({ last_step: step })
        .where('mailbox_id', '=', mailboxId)
        .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)])),
    ).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Turns the owner's TOTP off (pending enrolment included). */
  async deleteTotp(mailboxId: string): Promise<void> {
    await this.scoped(this.db.deleteFrom('mailbox_totp').where('mailbox_id', '=', mailboxId)).execute();
  }

  // ---- recovery codes ---------------------------------------------------------------------------

  /** Voids the mailbox's codes and stores new ones (their hashes). */
  async replaceRecoveryCodes(tenantId: string, mailboxId: string, codeHashes: string[], now: number): Promise<void> {
    this.guardTenant(tenantId);
    await this.scoped(this.db.deleteFrom('mailbox_recovery_codes').where('mailbox_id', '=', mailboxId)).execute();
    if (codeHashes.length) {
      await this.db
        .insertInto('mailbox_recovery_codes')
        .values(codeHashes.map((h) => ({ tenant_id: tenantId, mailbox_id: mailboxId, code_hash: h, used_at: null, created_at: now })))
        .execute();
    }
  }

  async remainingRecoveryCodes(mailboxId: string): Promise<number> {
    const row = await this.scoped(
      this.db
        .selectFrom('mailbox_recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('mailbox_id', '=', mailboxId)
        .where('used_at', 'is', null),
    ).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The id of an unused code of the mailbox with this hash, or null. */
  async unusedRecoveryCode(mailboxId: string, codeHash: string): Promise<number | null> {
    const row = await this.scoped(
      this.db.selectFrom('mailbox_recovery_codes').select('id').where('mailbox_id', '=', mailboxId).where('code_hash', '=', codeHash).where('used_at', 'is', null),
    ).executeTakeFirst();
    return row ? Number(row.id) : null;
  }

  /** Marks a code used; false when another request used it first. */
  async useRecoveryCode(id: number, now: number): Promise<boolean> {
    const res = await this.scoped(this.db.updateTable('mailbox_recovery_codes').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null)).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}
