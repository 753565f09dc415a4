/**
 * The reads behind a mailbox's ownership answer (who owns it, who can reset it and how): its
 * live setup links, an applied offboarding, pending emergency resets, app passwords, the
 * tenant's tokens and admins (who may trigger a path), and the aliases that deliver into it.
 * Every query is scoped by `tenant_id`, and compiled once per shape and scope (prepared.ts).
 */
import { sql } from 'kysely';
import type { ApiToken } from '../tables/control.table.js';
import type { Principal } from '../tables/principals.table.js';
import { Repo } from './base.js';
import { preparedRows } from './prepared.js';

export class OwnershipRepo extends Repo {
  /** Unused, unexpired setup links of a mailbox, oldest first. */
  async liveSetupLinks(mailboxId: string, now: number): Promise<Array<{ id: string; purpose: string; created_by: string | null; expires_at: number; destination: string | null }>> {
    return preparedRows(this.db, 'ownership.liveSetupLinks', this.tenantId, [mailboxId, now] as const, (id, at) =>
      this.scoped(
        this.db.selectFrom('setup_tokens').select(['id', 'purpose', 'created_by', 'expires_at', 'destination']).where('mailbox_id', '=', id).where('used_at', 'is', null).where('expires_at', '>', at),
      ).orderBy('created_at'),
    );
  }

  /** True when an offboarding of the mailbox is applied (no reset path until it is undone). */
  async isOffboarded(mailboxId: string): Promise<boolean> {
    const rows = await preparedRows(this.db, 'ownership.isOffboarded', this.tenantId, [mailboxId] as const, (id) =>
      this.scoped(this.db.selectFrom('offboardings').select('id').where('mailbox_id', '=', id).where('status', '=', 'applied')).limit(1),
    );
    return rows.length > 0;
  }

  /** Emergency resets of the mailbox awaiting approval, requested after `since`. */
  async pendingEmergencyResets(mailboxId: string, since: number): Promise<Array<{ id: string; requested_by: string; new_destination: string | null; requested_at: number }>> {
    return preparedRows(this.db, 'ownership.pendingEmergencyResets', this.tenantId, [mailboxId, since] as const, (id, after) =>
      this.scoped(
        this.db
          .selectFrom('resets')
          .select(['id', 'requested_by', 'new_destination', 'requested_at'])
          .where('mailbox_id', '=', id)
          .where('status', '=', 'pending-approval')
          .where('requested_at', '>', after),
      ),
    );
  }

  async liveAppPasswords(mailboxId: string): Promise<Array<{ id: string; name: string }>> {
    return preparedRows(this.db, 'ownership.liveAppPasswords', this.tenantId, [mailboxId] as const, (id) =>
      this.scoped(this.db.selectFrom('app_passwords').select(['id', 'name']).where('mailbox_id', '=', id).where('revoked_at', 'is', null)),
    );
  }

  /** The tenant's unrevoked API tokens: name, permissions, read-only flag, expiry. */
  async unrevokedTokens(tenantId: string): Promise<Array<Pick<ApiToken, 'name' | 'permissions' | 'read_only' | 'expires_at'>>> {
    return preparedRows(this.db, 'ownership.unrevokedTokens', this.tenantId, [tenantId] as const, (tenant) =>
      this.scoped(this.db.selectFrom('api_tokens').select(['name', 'permissions', 'read_only', 'expires_at']).where('tenant_id', '=', tenant).where('revoked_at', 'is', null)),
    );
  }

  /** The tenant's active principals: email and permissions. */
  async activePrincipals(tenantId: string): Promise<Array<Pick<Principal, 'email' | 'permissions'>>> {
    return preparedRows(this.db, 'ownership.activePrincipals', this.tenantId, [tenantId] as const, (tenant) =>
      this.scoped(this.db.selectFrom('principals').select(['email', 'permissions']).where('tenant_id', '=', tenant).where('status', '=', 'active')),
    );
  }

  /**
   * The tenant's active aliases whose targets may include `address` (a coarse LIKE filter, `_`
   * matching any character: the caller checks the parsed targets).
   */
  async aliasesMentioning(tenantId: string, address: string, limit = 200): Promise<Array<{ address: string; local_part: string; targets: string }>> {
    // lower(): LIKE ignores ASCII case on SQLite but not on PostgreSQL; `\` (PostgreSQL's
    // default LIKE escape) and `%` match as `_`.
    const pattern = `%${address.toLowerCase().replace(/[%\\]/g, '_')}%`;
    return preparedRows(this.db, 'ownership.aliasesMentioning', this.tenantId, [tenantId, pattern, limit] as const, (tenant, like, max) =>
      this.scoped(
        this.db
          .selectFrom('aliases')
          .select(['address', 'local_part', 'targets'])
          .where('tenant_id', '=', tenant)
          .where('status', '=', 'active')
          .where(sql<boolean>`lower(targets) like ${like}`),
      ).limit(max),
    );
  }
}
