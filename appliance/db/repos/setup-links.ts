/**
 * Single-use, expiring links (`setup_tokens`): mailbox setup, resets, principal setup and the
 * first operator's (tenant_id null: platform scope only). Only the sha256 of a secret is
 * stored.
 */
import type { Insertable } from 'kysely';
import type { SetupToken, SetupTokensTable } from '../tables/control.table.js';
import { Repo } from './base.js';

export class SetupLinksRepo extends Repo {
  async insert(row: Insertable<SetupTokensTable>): Promise<void> {
    this.guardTenant(row.tenant_id ?? null);
    await this.db.insertInto('setup_tokens').values(row).execute();
  }

  /** The link whose secret hashes to `tokenHash`, or undefined. */
  async byHash(tokenHash: string): Promise<SetupToken | undefined> {
    return this.scoped(this.db.selectFrom('setup_tokens').selectAll().where('token_hash', '=', tokenHash)).executeTakeFirst();
  }

  /** Marks a link used; false when it was used already (another request came first). */
  async consume(id: string, now: number): Promise<boolean> {
    const res = await this.scoped(this.db.updateTable('setup_tokens').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null)).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Voids every unused link of a principal (their account was reset). */
  async voidForPrincipal(principalId: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('setup_tokens').set({ used_at: now }).where('principal_id', '=', principalId).where('used_at', 'is', null)).execute();
  }

  /** Voids every unused operator setup link, expired or not; returns how many. */
  async voidOperatorLinks(now: number): Promise<number> {
    const res = await this.scoped(this.db.updateTable('setup_tokens').set({ used_at: now }).where('purpose', '=', 'operator-setup').where('used_at', 'is', null)).executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /** Operator setup links still open (unused and unexpired at `now`). */
  async openOperatorLinks(now: number): Promise<Array<{ id: string; expires_at: number }>> {
    return this.scoped(this.db.selectFrom('setup_tokens').select(['id', 'expires_at']).where('purpose', '=', 'operator-setup').where('used_at', 'is', null).where('expires_at', '>', now)).execute();
  }
}
