/**
 * API tokens: tenant tokens and operator (platform) tokens, tenant_id null. A tenant scope sees
 * and changes its own tenant's tokens only; operator tokens exist for the platform scope alone.
 * Only the sha256 of a secret is stored.
 */
import { sql } from 'kysely';
import type { Insertable } from 'kysely';
import { notFound } from '../../core/kernel/errors.js';
import type { ApiToken, ApiTokensTable } from '../tables/control.table.js';
import { Repo } from './base.js';
import { containsPattern, type ListPage } from './principals.js';

export interface TokenListFilter {
  /** true: neither revoked nor expired at `now`; false: revoked or expired. */
  active?: boolean;
  /** Substring of the name, case-insensitive. */
  q?: string;
  now: number;
}

export class TokensRepo extends Repo {
  /** A token of this scope, or NotFound. */
  async byId(id: string): Promise<ApiToken> {
    const row = await this.scoped(this.db.selectFrom('api_tokens').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!row) throw notFound('token');
    return row;
  }

  /** The token whose secret hashes to `tokenHash`, or undefined. */
  async byHash(tokenHash: string): Promise<ApiToken | undefined> {
    return this.scoped(this.db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash)).executeTakeFirst();
  }

  /** Tokens of a tenant, or operator tokens when `tenantId` is null (visible to the platform scope only). */
  async list(tenantId: string | null, page: ListPage, filter: TokenListFilter): Promise<ApiToken[]> {
    let q = this.db.selectFrom('api_tokens').selectAll();
    q = tenantId === null ? q.where('tenant_id', 'is', null) : q.where('tenant_id', '=', tenantId);
    q = this.scoped(q);
    if (filter.q) q = q.where(sql<boolean>`lower(name) like ${containsPattern(filter.q)} escape '\\'`);
    if (filter.active !== undefined) {
      const now = filter.now;
      q = filter.active
        ? q.where((eb) => eb.and([eb('revoked_at', 'is', null), eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])]))
        : q.where((eb) => eb.or([eb('revoked_at', 'is not', null), eb('expires_at', '<=', now)]));
    }
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  /** True when a live (unrevoked) operator token exists; a tenant scope never sees one. */
  async liveOperatorTokenExists(): Promise<boolean> {
    const row = await this.scoped(this.db.selectFrom('api_tokens').select('id').where('tenant_id', 'is', null).where('revoked_at', 'is', null)).executeTakeFirst();
    return !!row;
  }

  async insert(row: Insertable<ApiTokensTable>): Promise<void> {
    this.guardTenant(row.tenant_id ?? null);
    await this.db.insertInto('api_tokens').values(row).execute();
  }

  async revoke(id: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null)).execute();
  }

  /** Revokes every live token a principal created; returns how many. */
  async revokeForPrincipal(principalId: string, now: number): Promise<number> {
    const res = await this.scoped(this.db.updateTable('api_tokens').set({ revoked_at: now }).where('principal_id', '=', principalId).where('revoked_at', 'is', null)).executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /** Records use (the caller limits how often): durable before it resolves, its fsync off the serving loop. */
  async touch(id: string, now: number): Promise<void> {
    await this.syncedOffLoop((db) => this.scoped(db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id)).execute());
  }
}
