/**
 * Resets: the reset requests (admin, emergency, self-service), their approval, links and
 * delivery, and the few writes on other aggregates a reset makes (the reset link in
 * `setup_tokens`, the mailbox's password and reset destination) until those aggregates'
 * repositories expose them.
 *
 * Tenant-scoped by construction: every query goes through `scoped(q)` (a join is filtered on
 * both tables), inserts call `guardTenant`. Public flows (a reset link, a self-service request)
 * find the mailbox in the platform scope, then work in `tenantScope(mailbox.tenant_id)`.
 */
import type { ResetRow } from '../../db/tables/resets.table.js';
import type { ResetDeliveryState, ResetKind } from '../../db/tables/status.js';
import type { DB } from '../schema.js';
import { Repo } from './base.js';

type MailboxStatusColumn = DB['mailboxes']['status'];

/** Filters of the reset queue; `windowStart` splits pending-approval from expired. */
export interface ResetQueueQuery {
  /** Only this tenant's resets (on top of the scope); null: every tenant of the scope. */
  tenantId: string | null;
  kind?: ResetKind;
  status?: 'pending-approval' | 'expired' | 'issued' | 'completed' | 'cancelled';
  windowStart: number;
  /** Keyset cursor: the reset the previous page ended with. */
  after?: { id: string; requested_at: number } | null;
  limit: number;
}

export type ResetWithAddress = ResetRow & { mailbox_address: string };

export class ResetsRepo extends Repo {
  // ---- resets -------------------------------------------------------------------------------

  async get(id: string): Promise<ResetRow | undefined> {
    return this.scoped(this.db.selectFrom('resets').selectAll().where('id', '=', id)).executeTakeFirst();
  }

  /** The reset a link was issued for, if any. */
  async byLink(setupLinkId: string): Promise<ResetRow | undefined> {
    return this.scoped(this.db.selectFrom('resets').selectAll().where('setup_link_id', '=', setupLinkId)).executeTakeFirst();
  }

  /** The mailbox's resets, newest first. */
  async listForMailbox(mailboxId: string, limit: number): Promise<ResetRow[]> {
    return this.scoped(this.db.selectFrom('resets').selectAll().where('mailbox_id', '=', mailboxId))
      .orderBy('requested_at', 'desc')
      .limit(limit)
      .execute();
  }

  /** When the mailbox's resets since `since` were requested, oldest first. */
  async requestTimesSince(mailboxId: string, since: number): Promise<number[]> {
    const rows = await this.scoped(this.db.selectFrom('resets').select(['requested_at']).where('mailbox_id', '=', mailboxId).where('requested_at', '>', since))
      .orderBy('requested_at')
      .execute();
    return rows.map((r) => Number(r.requested_at));
  }

  async countForMailboxSince(mailboxId: string, since: number): Promise<number> {
    const row = await this.scoped(
      this.db
        .selectFrom('resets')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('mailbox_id', '=', mailboxId)
        .where('requested_at', '>', since),
    ).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countByRequesterSince(requestedBy: string, since: number): Promise<number> {
    const row = await this.scoped(
      this.db
        .selectFrom('resets')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('requested_by', '=', requestedBy)
        .where('requested_at', '>', since),
    ).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(row: ResetRow): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('resets').values(row).execute();
  }

  /** A newer link supersedes: the mailbox's issued (unused) resets are cancelled. */
  async cancelIssued(mailboxId: string): Promise<void> {
    await this.scoped(this.db.updateTable('resets').set({ status: 'cancelled' }).where('mailbox_id', '=', mailboxId).where('status', '=', 'issued')).execute();
  }

  async markIssued(id: string, setupLinkId: string, destination: string | null): Promise<void> {
    await this.scoped(this.db.updateTable('resets').set({ status: 'issued', setup_link_id: setupLinkId, destination }).where('id', '=', id)).execute();
  }

  async setDeliveryState(id: string, state: ResetDeliveryState): Promise<void> {
    await this.scoped(this.db.updateTable('resets').set({ delivery_state: state }).where('id', '=', id)).execute();
  }

  /** Records the approval of a pending, undecided reset; false when it was decided meanwhile. */
  async approve(id: string, approvedBy: string, at: number): Promise<boolean> {
    const r = await this.scoped(
      this.db.updateTable('resets').set({ approved_by: approvedBy, approved_at: at }).where('id', '=', id).where('status', '=', 'pending-approval').where('approved_by', 'is', null),
    ).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async cancel(id: string): Promise<void> {
    await this.scoped(this.db.updateTable('resets').set({ status: 'cancelled' }).where('id', '=', id)).execute();
  }

  async complete(id: string, at: number): Promise<void> {
    await this.scoped(this.db.updateTable('resets').set({ status: 'completed', completed_at: at }).where('id', '=', id)).execute();
  }

  /** The resets of the queue (with the mailbox's address), newest first. */
  async queue(q: ResetQueueQuery): Promise<ResetWithAddress[]> {
    let s = this.db.selectFrom('resets as r').innerJoin('mailboxes as m', 'm.id', 'r.mailbox_id').selectAll('r').select('m.address as mailbox_address');
    s = this.scoped(this.scoped(s, 'r.tenant_id'), 'm.tenant_id');
    if (q.tenantId !== null) s = s.where('r.tenant_id', '=', q.tenantId).where('m.tenant_id', '=', q.tenantId);
    if (q.kind) s = s.where('r.kind', '=', q.kind);
    if (q.status === 'pending-approval') s = s.where('r.status', '=', 'pending-approval').where('r.requested_at', '>', q.windowStart);
    else if (q.status === 'expired') s = s.where('r.status', '=', 'pending-approval').where('r.requested_at', '<=', q.windowStart);
    else if (q.status) s = s.where('r.status', '=', q.status);
    const after = q.after;
    if (after) s = s.where((eb) => eb.or([eb('r.requested_at', '<', after.requested_at), eb.and([eb('r.requested_at', '=', after.requested_at), eb('r.id', '<', after.id)])]));
    return s.orderBy('r.requested_at', 'desc').orderBy('r.id', 'desc').limit(q.limit).execute();
  }

  /** A page cursor: the reset's id and request time, or undefined when unknown in this scope. */
  async cursor(id: string): Promise<{ id: string; requested_at: number } | undefined> {
    const row = await this.scoped(this.db.selectFrom('resets').select(['id', 'requested_at']).where('id', '=', id)).executeTakeFirst();
    return row ? { id: row.id, requested_at: Number(row.requested_at) } : undefined;
  }

  // ---- reset links (setup_tokens) -----------------------------------------------------------

  /** A new reset link supersedes the mailbox's older live ones. */
  async expireLiveResetLinks(mailboxId: string, now: number): Promise<void> {
    await this.scoped(
      this.db.updateTable('setup_tokens').set({ expires_at: now }).where('mailbox_id', '=', mailboxId).where('purpose', '=', 'reset').where('used_at', 'is', null).where('expires_at', '>', now),
    ).execute();
  }

  /** Ends one link unless it was used already. */
  async expireLink(setupLinkId: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('setup_tokens').set({ expires_at: now }).where('id', '=', setupLinkId).where('used_at', 'is', null)).execute();
  }

  /** The purpose of the link with this secret's hash, or undefined. */
  async linkPurpose(tokenHash: string): Promise<string | undefined> {
    const row = await this.scoped(this.db.selectFrom('setup_tokens').select('purpose').where('token_hash', '=', tokenHash)).executeTakeFirst();
    return row?.purpose;
  }

  // ---- mailboxes and tenants ----------------------------------------------------------------

  async setResetDestination(mailboxId: string, destination: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('mailboxes').set({ reset_destination: destination, updated_at: now }).where('id', '=', mailboxId)).execute();
  }

  /** Sets the mailbox's password hash (and, when given, its status). */
  async setPassword(mailboxId: string, passwordHash: string, now: number, status?: MailboxStatusColumn): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('mailboxes')
        .set({ password_hash: passwordHash, ...(status !== undefined ? { status } : {}), updated_at: now })
        .where('id', '=', mailboxId),
    ).execute();
  }
}
