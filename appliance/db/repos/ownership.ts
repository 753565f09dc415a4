/**
 * The reads behind a mailbox's ownership answer (who owns it, who can reset it and how): its
 * live setup links, an applied offboarding, pending emergency resets, app passwords, the
 * tenant's tokens and admins (who may trigger a path), and the aliases that deliver into it.
 * Every query is scoped by `tenant_id`.
 */
import { sql } from 'kysely';
import type { ApiToken } from '../tables/control.table.js';
import type { Principal } from '../tables/principals.table.js';
import { Repo } from './base.js';

export class OwnershipRepo extends Repo {
  /** Unused, unexpired setup links of a mailbox, oldest first. */
  async liveSetupLinks(mailboxId: string, now: number): Promise<Array<{ id: string; purpose: string; created_by: string | null; expires_at: number; destination: string | null }>> {
    return this.scoped(
      this.db
        .selectFrom('setup_tokens')
        .select(['id', 'purpose', 'created_by', 'expires_at', 'destination'])
        .where('mailbox_id', '=', mailboxId)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now),
    )
      .orderBy('created_at')
      .execute();
  }

  /** True when an offboarding of the mailbox is applied (no reset path until it is undone). */
  async isOffboarded(mailboxId: string): Promise<boolean> {
    return !!(await this.scoped(this.db.selectFrom('offboardings').select('id').where('mailbox_id', '=', mailboxId).where('status', '=', 'applied')).executeTakeFirst());
  }

  /** Emergency resets of the mailbox awaiting approval, requested after `since`. */
  async pendingEmergencyResets(mailboxId: string, since: number): Promise<Array<{ id: string; requested_by: string; new_destination: string | null; requested_at: number }>> {
    return this.scoped(
      this.db
        .selectFrom('resets')
        .select(['id', 'requested_by', 'new_destination', 'requested_at'])
        .where('mailbox_id', '=', mailboxId)
        .where('status', '=', 'pending-approval')
        .where('requested_at', '>', since),
    ).execute();
  }

  async liveAppPasswords(mailboxId: string): Promise<Array<{ id: string; name: string }>> {
    return this.scoped(this.db.selectFrom('app_passwords').select(['id', 'name']).where('mailbox_id', '=', mailboxId).where('revoked_at', 'is', null)).execute();
  }

  /** The tenant's unrevoked API tokens: name, permissions, read-only flag, expiry. */
  async unrevokedTokens(tenantId: string): Promise<Array<Pick<ApiToken, 'name' | 'permissions' | 'read_only' | 'expires_at'>>> {
    return this.scoped(this.db.selectFrom('api_tokens').select(['name', 'permissions', 'read_only', 'expires_at']).where('tenant_id', '=', tenantId).where('revoked_at', 'is', null)).execute();
  }

  /** The tenant's active principals: email and permissions. */
  async activePrincipals(tenantId: string): Promise<Array<Pick<Principal, 'email' | 'permissions'>>> {
    return this.scoped(this.db.selectFrom('principals').select(['email', 'permissions']).where('tenant_id', '=', tenantId).where('status', '=', 'active')).execute();
  }

  /**
   * The tenant's active aliases whose targets may include `address` (a coarse LIKE filter, `_`
   * matching any character: the caller checks the parsed targets).
   */
  async aliasesMentioning(tenantId: string, address: string, limit = 200): Promise<Array<{ address: string; local_part: string; targets: string }>> {
    return this.scoped(
      this.db
        .selectFrom('aliases')
        .select(['address', 'local_part', 'targets'])
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'active')
        // lower(): LIKE ignores ASCII case on SQLite but not on PostgreSQL; `\` (PostgreSQL's
        // default LIKE escape) and `%` match as `_`.
        .where(sql<boolean>`lower(targets) like ${`%${address.toLowerCase().replace(/[%\\]/g, '_')}%`}`),
    )
      .limit(limit)
      .execute();
  }
}
