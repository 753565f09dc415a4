/**
 * Principals (operators: tenant_id null; tenant admins: their tenant) and their one-time TOTP
 * recovery codes. A tenant scope sees and changes its own tenant's principals only: operators
 * (tenant_id null) exist for the platform scope alone. Recovery codes carry no tenant: they are
 * reached through their principal, so the same wall holds for them.
 */
import { sql } from 'kysely';
import { notFound } from '../../core/kernel/errors.js';
import type { Insertable } from 'kysely';
import type { PrincipalsTable, Principal } from '../tables/principals.table.js';
import { containsPattern, type ListPage, Repo } from './base.js';
import type { PrincipalStatus } from '../tables/status.js';

export { containsPattern, type ListPage } from './base.js';

export interface PrincipalListFilter {
  status?: PrincipalStatus;
  /** Substring of the name or email, case-insensitive. */
  q?: string;
}

/** What a principal's own credentials change sets besides `updated_at` and the version bump. */
export type PrincipalChanges = Partial<Pick<Principal, 'name' | 'role' | 'permissions' | 'status'>>;

export class PrincipalsRepo extends Repo {
  /** A principal of this scope, or NotFound. */
  async byId(id: string): Promise<Principal> {
    const row = await this.find(id);
    if (!row) throw notFound('principal');
    return row;
  }

  async find(id: string): Promise<Principal | undefined> {
    return this.scoped(this.db.selectFrom('principals').selectAll().where('id', '=', id)).executeTakeFirst();
  }

  /** The principal with this (lower-cased) email, or undefined. */
  async byEmail(email: string): Promise<Principal | undefined> {
    return this.scoped(this.db.selectFrom('principals').selectAll().where('email', '=', email)).executeTakeFirst();
  }

  /** The emails of a tenant's active principals. */
  async activeEmails(tenantId: string): Promise<string[]> {
    const rows = await this.scoped(this.db.selectFrom('principals').select('email').where('tenant_id', '=', tenantId).where('status', '=', 'active')).execute();
    return rows.map((r) => r.email);
  }

  /** Principals of a tenant, or operators when `tenantId` is null (visible to the platform scope only). */
  async list(tenantId: string | null, page: ListPage, filter: PrincipalListFilter = {}): Promise<Principal[]> {
    let q = this.db.selectFrom('principals').selectAll();
    q = tenantId === null ? q.where('tenant_id', 'is', null) : q.where('tenant_id', '=', tenantId);
    q = this.scoped(q);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.q) {
      const p = containsPattern(filter.q);
      q = q.where((eb) => eb.or([sql<boolean>`lower(name) like ${p} escape '\\'`, sql<boolean>`lower(email) like ${p} escape '\\'`]));
    }
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  /** Inserts an invited principal (unique email: the database refuses a duplicate). */
  async insert(row: Insertable<PrincipalsTable>): Promise<void> {
    this.guardTenant(row.tenant_id ?? null);
    await this.db.insertInto('principals').values(row).execute();
  }

  /** Applies changes; `bumpCredentials` ends every session that logged in before. */
  async update(id: string, changes: PrincipalChanges, now: number, opts: { bumpCredentials: boolean }): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('principals')
        .set((eb) => ({ ...changes, updated_at: now, ...(opts.bumpCredentials ? { credential_version: eb('credential_version', '+', 1) } : {}) }))
        .where('id', '=', id),
    ).execute();
  }

  /** A successful login: its time and, with TOTP, the accepted step (a code is good once). */
  async recordLogin(id: string, now: number, totpStep: number | null): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('principals')
        .set({ last_login_at: now, ...(totpStep !== null ? { totp_last_step: totpStep } : {}) })
        .where('id', '=', id),
    ).execute();
  }

  /** Stores a TOTP secret (sealed) awaiting confirmation. */
  async setPendingTotp(id: string, sealedSecret: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('principals').set({ totp_pending_secret: sealedSecret, updated_at: now }).where('id', '=', id)).execute();
  }

  /** Makes the confirmed secret the principal's TOTP secret (only while none is enrolled). */
  async confirmTotp(id: string, sealedSecret: string, step: number, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('principals')
        .set({ totp_secret: sealedSecret, totp_pending_secret: null, totp_enabled_at: now, totp_last_step: step, updated_at: now })
        .where('id', '=', id)
        .where('totp_secret', 'is', null),
    ).execute();
  }

  /** Lost password or authenticator: clears both, back to pending, every session ends. */
  async clearCredentials(id: string, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('principals')
        .set((eb) => ({
          password_hash: null,
          totp_secret: null,
          totp_pending_secret: null,
          totp_enabled_at: null,
          totp_last_step: null,
          status: 'pending',
          credential_version: eb('credential_version', '+', 1),
          updated_at: now,
        }))
        .where('id', '=', id),
    ).execute();
  }

  /** The person set their password through their setup link: active from now on. */
  async setPassword(id: string, passwordHash: string, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('principals')
        .set((eb) => ({ password_hash: passwordHash, status: 'active', credential_version: eb('credential_version', '+', 1), updated_at: now }))
        .where('id', '=', id),
    ).execute();
  }

  // ---- recovery codes (reached through their principal) --------------------------------------

  /** The ids of this scope's principals, as a subquery (null for the platform scope: no filter needed). */
  private ownPrincipalIds() {
    return this.tenantId === null ? null : this.db.selectFrom('principals').select('id').where('tenant_id', '=', this.tenantId);
  }

  private inScope<Q extends { where: (...args: any[]) => any }>(q: Q): Q {
    const own = this.ownPrincipalIds();
    return own === null ? q : (q.where('principal_id', 'in', own) as Q);
  }

  /** The id of an unused recovery code of the principal with this hash, or null. */
  async unusedRecoveryCode(principalId: string, codeHash: string): Promise<number | null> {
    const row = await this.inScope(
      this.db.selectFrom('principal_recovery_codes').select('id').where('principal_id', '=', principalId).where('code_hash', '=', codeHash).where('used_at', 'is', null),
    ).executeTakeFirst();
    return row ? Number(row.id) : null;
  }

  /** Marks a recovery code used; false when another request used it first. */
  async useRecoveryCode(id: number, now: number): Promise<boolean> {
    const res = await this.inScope(this.db.updateTable('principal_recovery_codes').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null)).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async deleteRecoveryCodes(principalId: string): Promise<void> {
    await this.inScope(this.db.deleteFrom('principal_recovery_codes').where('principal_id', '=', principalId)).execute();
  }

  /** Voids the principal's codes and stores new ones (their hashes). */
  async replaceRecoveryCodes(principalId: string, codeHashes: string[], now: number): Promise<void> {
    await this.byId(principalId);
    await this.deleteRecoveryCodes(principalId);
    if (codeHashes.length) {
      await this.db
        .insertInto('principal_recovery_codes')
        .values(codeHashes.map((h) => ({ principal_id: principalId, code_hash: h, used_at: null, created_at: now })))
        .execute();
    }
  }
}
