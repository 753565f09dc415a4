/**
 * Offboarding: the offboarding records and every read and write the offboarding use cases make
 * (plan, apply, verify, undo, retention). Offboarding sweeps a person out of many tables
 * (sessions, app passwords, links, resets, principals, API tokens, forwards, aliases,
 * catch-alls, send-as grants, mailboxes); until the owners of those aggregates expose the same
 * statements, they live here under names that say what they do.
 *
 * Tenant-scoped by construction: every query goes through `scoped(q)` (tables joined to a
 * scoped one are filtered on the scoped table), and inserts call `guardTenant`. The use cases
 * bind this repository to the mailbox's tenant once the mailbox was found in the actor's scope.
 */
import type { AuditEvent, Mailbox } from '../../db/tables/control.table.js';
import type { OffboardingRow } from '../../db/tables/resets.table.js';
import type { DB } from '../schema.js';
import { notFound } from '../../core/kernel/errors.js';
import { Repo } from './base.js';
import type { AliasStatus, ForwardStatus, PrincipalStatus } from '../tables/status.js';

type MailboxStatusColumn = DB['mailboxes']['status'];

/** An `in (...)` list that is never empty (an empty list is not valid SQL; '' matches no address). */
const nonEmpty = (xs: readonly string[]): string[] => (xs.length ? [...xs] : ['']);

/** The owner fields a transfer changes (only those given). */
export interface OwnerFields {
  owner_name?: string;
  owner_email?: string;
  business_owner_name?: string | null;
  business_owner_email?: string | null;
  reset_destination?: string;
}

export interface GrantRow {
  id: string;
  mailbox_id: string;
  address: string;
  created_by: string;
  created_at: number;
}

export class OffboardingRepo extends Repo {
  // ---- the offboarding records --------------------------------------------------------------

  async latest(mailboxId: string): Promise<OffboardingRow | undefined> {
    return this.scoped(this.db.selectFrom('offboardings').selectAll().where('mailbox_id', '=', mailboxId))
      .orderBy('applied_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  async get(id: string): Promise<OffboardingRow> {
    const row = await this.scoped(this.db.selectFrom('offboardings').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!row) throw notFound('offboarding');
    return row;
  }

  /** The id of the mailbox's applied (not undone) offboarding, if any. */
  async appliedId(mailboxId: string): Promise<string | undefined> {
    const row = await this.scoped(this.db.selectFrom('offboardings').select('id').where('mailbox_id', '=', mailboxId).where('status', '=', 'applied')).executeTakeFirst();
    return row?.id;
  }

  async insert(row: OffboardingRow): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('offboardings').values(row).execute();
  }

  async markUndone(id: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('offboardings').set({ status: 'undone', undone_at: now }).where('id', '=', id)).execute();
  }

  /** The audit events of the steps (ids, actions), oldest first. */
  async stepEvents(ids: number[]): Promise<Array<{ id: number; action: string }>> {
    if (!ids.length) return [];
    const rows = await this.scoped(this.db.selectFrom('audit_events').select(['id', 'action']).where('id', 'in', ids))
      .orderBy('id')
      .execute();
    return rows.map((e) => ({ id: Number(e.id), action: e.action }));
  }

  /** The audit events of the steps with what they recorded, newest first (undo replays them). */
  async stepRecords(ids: number[]): Promise<Array<Pick<AuditEvent, 'id' | 'action' | 'before' | 'after' | 'target_id'>>> {
    return this.scoped(
      this.db
        .selectFrom('audit_events')
        .select(['id', 'action', 'before', 'after', 'target_id'])
        .where('id', 'in', ids.length ? ids : [-1]),
    )
      .orderBy('id', 'desc')
      .execute();
  }

  // ---- mailboxes ----------------------------------------------------------------------------

  async mailboxesByIds(ids: string[]): Promise<Mailbox[]> {
    if (!ids.length) return [];
    return this.scoped(this.db.selectFrom('mailboxes').selectAll().where('id', 'in', ids)).execute();
  }

  /** Does the owner of record own another live mailbox of the tenant? */
  async ownerHasOtherMailbox(tenantId: string, mailboxId: string, ownerEmail: string): Promise<boolean> {
    const row = await this.scoped(
      this.db.selectFrom('mailboxes').select('id').where('tenant_id', '=', tenantId).where('id', '!=', mailboxId).where('status', '!=', 'deleted').where('owner_email', '=', ownerEmail),
    ).executeTakeFirst();
    return !!row;
  }

  /** Live mailboxes of the tenant (other than `mailboxId`) owned by, business-owned by or resetting to one of `identities`. */
  async dependentMailboxes(tenantId: string, mailboxId: string, identities: string[]): Promise<Array<Pick<Mailbox, 'id' | 'address' | 'owner_email' | 'business_owner_email' | 'reset_destination'>>> {
    const I = nonEmpty(identities);
    return this.scoped(
      this.db
        .selectFrom('mailboxes')
        .select(['id', 'address', 'owner_email', 'business_owner_email', 'reset_destination'])
        .where('tenant_id', '=', tenantId)
        .where('id', '!=', mailboxId)
        .where('status', '!=', 'deleted')
        .where((eb) => eb.or([eb('owner_email', 'in', I), eb('business_owner_email', 'in', I), eb('reset_destination', 'in', I)])),
    ).execute();
  }

  async setMailboxStatus(mailboxId: string, status: MailboxStatusColumn, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('mailboxes').set({ status, updated_at: now }).where('id', '=', mailboxId)).execute();
  }

  /** Hands a mailbox's ownership fields (those given) to someone else, or back. */
  async setOwnerFields(mailboxId: string, fields: OwnerFields, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('mailboxes')
        .set({ ...fields, updated_at: now })
        .where('id', '=', mailboxId),
    ).execute();
  }

  /** Converts to a shared mailbox: receiving (active), no password (no direct login), a role address owned by `owner`. */
  async convertToShared(mailboxId: string, status: MailboxStatusColumn, owner: { name: string; email: string }, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('mailboxes')
        .set({ status, password_hash: null, is_role: 1, owner_name: owner.name, owner_email: owner.email, reset_destination: owner.email.toLowerCase(), updated_at: now })
        .where('id', '=', mailboxId),
    ).execute();
  }

  /** Undoes `convertToShared`'s ownership change (the password stays unset). */
  async unconvertShared(mailboxId: string, before: { isRole: boolean; ownerName: string; ownerEmail: string; resetDestination: string }, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('mailboxes')
        .set({ is_role: before.isRole ? 1 : 0, owner_name: before.ownerName, owner_email: before.ownerEmail, reset_destination: before.resetDestination, updated_at: now })
        .where('id', '=', mailboxId),
    ).execute();
  }

  // ---- access paths: console sessions, app passwords, links, resets -------------------------

  /** The mailbox's console sessions neither revoked nor expired at `now`. */
  async liveConsoleSessions(mailboxId: string, now: number): Promise<Array<{ id: string; source_ip: string | null; credential_version: number }>> {
    return this.scoped(
      this.db
        .selectFrom('web_sessions')
        .select(['id', 'source_ip', 'credential_version'])
        .where('kind', '=', 'mailbox')
        .where('mailbox_id', '=', mailboxId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now),
    ).execute();
  }

  async liveAppPasswords(mailboxId: string): Promise<Array<{ id: string; name: string; scopes: string }>> {
    return this.scoped(this.db.selectFrom('app_passwords').select(['id', 'name', 'scopes']).where('mailbox_id', '=', mailboxId).where('revoked_at', 'is', null)).execute();
  }

  /** Setup and reset links of the mailbox, unused and unexpired at `now`. */
  async liveLinks(mailboxId: string, now: number): Promise<Array<{ id: string; purpose: string; destination: string | null }>> {
    return this.scoped(
      this.db.selectFrom('setup_tokens').select(['id', 'purpose', 'destination']).where('mailbox_id', '=', mailboxId).where('used_at', 'is', null).where('expires_at', '>', now),
    ).execute();
  }

  /** Expires every live link of the mailbox; returns how many. */
  async expireLinks(mailboxId: string, now: number): Promise<number> {
    const r = await this.scoped(
      this.db.updateTable('setup_tokens').set({ expires_at: now }).where('mailbox_id', '=', mailboxId).where('used_at', 'is', null).where('expires_at', '>', now),
    ).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async pendingResets(mailboxId: string): Promise<Array<{ id: string; kind: string; requested_at: number }>> {
    return this.scoped(this.db.selectFrom('resets').select(['id', 'kind', 'requested_at']).where('mailbox_id', '=', mailboxId).where('status', '=', 'pending-approval')).execute();
  }

  /** Cancels the mailbox's pending and issued resets; returns how many. */
  async cancelOpenResets(mailboxId: string): Promise<number> {
    const r = await this.scoped(
      this.db.updateTable('resets').set({ status: 'cancelled' }).where('mailbox_id', '=', mailboxId).where('status', 'in', ['pending-approval', 'issued']),
    ).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  // ---- the person's console accounts and API tokens ------------------------------------------

  async livePrincipalsByEmail(tenantId: string, emails: string[]): Promise<Array<{ id: string; email: string; status: string; kind: string }>> {
    return this.scoped(
      this.db.selectFrom('principals').select(['id', 'email', 'status', 'kind']).where('tenant_id', '=', tenantId).where('email', 'in', nonEmpty(emails)).where('status', 'in', ['active', 'pending']),
    ).execute();
  }

  async principalStatuses(ids: string[]): Promise<Array<{ id: string; status: string }>> {
    if (!ids.length) return [];
    return this.scoped(this.db.selectFrom('principals').select(['id', 'status']).where('id', 'in', ids)).execute();
  }

  /** Disables console accounts; their credential version moves on so their sessions end. */
  async disablePrincipals(ids: string[], now: number): Promise<void> {
    if (!ids.length) return;
    await this.scoped(
      this.db
        .updateTable('principals')
        .set((eb) => ({ status: 'disabled', credential_version: eb('credential_version', '+', 1), updated_at: now }))
        .where('id', 'in', ids),
    ).execute();
  }

  async setPrincipalStatus(id: string, status: PrincipalStatus, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('principals').set({ status, updated_at: now }).where('id', '=', id)).execute();
  }

  /** API tokens of these principals that are not revoked (expired ones included; the caller filters). */
  async unrevokedApiTokens(principalIds: string[]): Promise<Array<{ id: string; name: string; expires_at: number | null }>> {
    if (!principalIds.length) return [];
    return this.scoped(this.db.selectFrom('api_tokens').select(['id', 'name', 'expires_at']).where('principal_id', 'in', principalIds).where('revoked_at', 'is', null)).execute();
  }

  async revokeApiTokens(ids: string[], now: number): Promise<void> {
    if (!ids.length) return;
    await this.scoped(this.db.updateTable('api_tokens').set({ revoked_at: now }).where('id', 'in', ids).where('revoked_at', 'is', null)).execute();
  }

  // ---- forwards -----------------------------------------------------------------------------

  async activeForwardsFrom(mailboxId: string): Promise<Array<{ id: string; target: string; external: number; expires_at: number | null }>> {
    return this.scoped(this.db.selectFrom('forwards').select(['id', 'target', 'external', 'expires_at']).where('mailbox_id', '=', mailboxId).where('status', '=', 'active')).execute();
  }

  /** Active forwards of other mailboxes of the tenant to one of `targets`, with the forwarding mailbox's address. */
  async activeForwardsTo(tenantId: string, exceptMailboxId: string, targets: string[]): Promise<Array<{ id: string; target: string; expires_at: number | null; address: string }>> {
    return this.scoped(
      this.db
        .selectFrom('forwards')
        .innerJoin('mailboxes', 'mailboxes.id', 'forwards.mailbox_id')
        .select(['forwards.id', 'forwards.target', 'forwards.expires_at', 'mailboxes.address'])
        .where('forwards.tenant_id', '=', tenantId)
        .where('forwards.mailbox_id', '!=', exceptMailboxId)
        .where('forwards.status', '=', 'active')
        .where('forwards.target', 'in', nonEmpty(targets)),
      'forwards.tenant_id',
    ).execute();
  }

  async forwardsByIds(ids: string[]): Promise<Array<{ id: string; mailbox_id: string; target: string; external: number; status: string }>> {
    if (!ids.length) return [];
    return this.scoped(this.db.selectFrom('forwards').select(['id', 'mailbox_id', 'target', 'external', 'status']).where('id', 'in', ids)).execute();
  }

  async hasActiveForward(mailboxId: string, target: string): Promise<boolean> {
    const row = await this.scoped(this.db.selectFrom('forwards').select('id').where('mailbox_id', '=', mailboxId).where('target', '=', target).where('status', '=', 'active')).executeTakeFirst();
    return !!row;
  }

  /** Sets a forward's target, kind and status (re-point, remove, or restore what was recorded). */
  async setForward(id: string, fields: { target?: string; external?: number; status?: ForwardStatus }): Promise<void> {
    await this.scoped(this.db.updateTable('forwards').set(fields).where('id', '=', id)).execute();
  }

  // ---- aliases and catch-alls ---------------------------------------------------------------

  async activeAliases(tenantId: string): Promise<Array<{ id: string; address: string; targets: string }>> {
    return this.scoped(this.db.selectFrom('aliases').select(['id', 'address', 'targets']).where('tenant_id', '=', tenantId).where('status', '=', 'active')).execute();
  }

  async aliasesByIds(ids: string[]): Promise<Array<{ id: string; targets: string; status: string }>> {
    if (!ids.length) return [];
    return this.scoped(this.db.selectFrom('aliases').select(['id', 'targets', 'status']).where('id', 'in', ids)).execute();
  }

  async setAliasTargets(id: string, targets: string[], status: AliasStatus, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('aliases')
        .set({ targets: JSON.stringify(targets), status, updated_at: now })
        .where('id', '=', id),
    ).execute();
  }

  /** The alias a mailbox converted to an alias becomes (same address, one target). */
  async insertAlias(row: { id: string; tenant_id: string; domain_id: string; local_part: string; address: string; target: string; created_by: string; now: number }): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db
      .insertInto('aliases')
      .values({
        id: row.id,
        tenant_id: row.tenant_id,
        domain_id: row.domain_id,
        local_part: row.local_part,
        address: row.address,
        targets: JSON.stringify([row.target]),
        status: 'active',
        created_by: row.created_by,
        deleted_with: null,
        created_at: row.now,
        updated_at: row.now,
      })
      .execute();
  }

  async deleteAlias(id: string): Promise<void> {
    await this.scoped(this.db.deleteFrom('aliases').where('id', '=', id)).execute();
  }

  async activeCatchAllsTo(tenantId: string, targets: string[]): Promise<Array<{ id: string; name: string; catch_all: string | null }>> {
    return this.scoped(
      this.db.selectFrom('domains').select(['id', 'name', 'catch_all']).where('tenant_id', '=', tenantId).where('status', '=', 'active').where('catch_all', 'in', nonEmpty(targets)),
    ).execute();
  }

  async catchAllsByIds(ids: string[]): Promise<Array<{ id: string; catch_all: string | null }>> {
    if (!ids.length) return [];
    return this.scoped(this.db.selectFrom('domains').select(['id', 'catch_all']).where('id', 'in', ids)).execute();
  }

  async setCatchAll(domainIds: string[], catchAll: string | null, now: number): Promise<void> {
    if (!domainIds.length) return;
    await this.scoped(this.db.updateTable('domains').set({ catch_all: catchAll, updated_at: now }).where('id', 'in', domainIds)).execute();
  }

  // ---- send-as grants -----------------------------------------------------------------------

  /** Grants of the tenant for one of `addresses`, and (when `fromMailboxId`) every grant of that mailbox. */
  async sendAsGrants(tenantId: string, addresses: string[], fromMailboxId: string | null): Promise<Array<{ id: string; mailbox_id: string; address: string }>> {
    const A = nonEmpty(addresses);
    const q = this.db.selectFrom('send_as_grants').select(['id', 'mailbox_id', 'address']).where('tenant_id', '=', tenantId);
    const filtered = fromMailboxId !== null ? q.where((eb) => eb.or([eb('mailbox_id', '=', fromMailboxId), eb('address', 'in', A)])) : q.where('address', 'in', A);
    return this.scoped(filtered).execute();
  }

  async grantsByIds(ids: string[]): Promise<GrantRow[]> {
    if (!ids.length) return [];
    const rows = await this.scoped(this.db.selectFrom('send_as_grants').select(['id', 'mailbox_id', 'address', 'created_by', 'created_at']).where('id', 'in', ids)).execute();
    return rows.map((g) => ({ ...g, created_at: Number(g.created_at) }));
  }

  async deleteGrants(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.scoped(this.db.deleteFrom('send_as_grants').where('id', 'in', ids)).execute();
  }

  /** Puts a removed grant back unless the mailbox meanwhile got the same grant again. */
  async restoreGrant(tenantId: string, g: GrantRow): Promise<void> {
    this.guardTenant(tenantId);
    const exists = await this.scoped(this.db.selectFrom('send_as_grants').select('id').where('mailbox_id', '=', g.mailbox_id).where('address', '=', g.address)).executeTakeFirst();
    if (!exists)
      await this.db.insertInto('send_as_grants').values({ id: g.id, tenant_id: tenantId, mailbox_id: g.mailbox_id, address: g.address, created_by: g.created_by, created_at: g.created_at }).execute();
  }
}
