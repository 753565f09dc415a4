/**
 * Bulk batches and their rows (items). Batches are scoped by `tenant_id`; items have no tenant
 * column and are reached through their scoped batch (a subquery on `batches`). Also the writes
 * a batch makes on other aggregates' tables while it creates or rolls back mailboxes (under
 * names that say so), and the appliance-wide "is this address taken" fact.
 */
import { notFound } from '../../core/kernel/errors.js';
import type { Alias, NewMailbox } from '../tables/control.table.js';
import type { Batch, BatchItem } from '../tables/portfolio.table.js';
import type { BatchState } from '../tables/status.js';
import { Repo } from './base.js';
import type { MailboxStatus } from '../tables/status.js';

export type NewBatch = Omit<Batch, 'allow_unverified' | 'total' | 'done'> & { allow_unverified: number; total: number; done: number };
export type BatchChange = Partial<Omit<Batch, 'id' | 'tenant_id' | 'request_id' | 'created_by' | 'created_at'>>;

const CHUNK = 500;

export class BatchesRepo extends Repo {
  /** `batch_id = id` for a batch of this scope (a subquery on the scoped batch for a tenant scope). */
  private items<Q extends { where: (...args: any[]) => any }>(q: Q, batchId: string, column = 'batch_id'): Q {
    if (this.tenantId === null) return q.where(column, '=', batchId) as Q;
    return q.where(column, 'in', this.db.selectFrom('batches').select('batches.id').where('batches.id', '=', batchId).where('batches.tenant_id', '=', this.tenantId)) as Q;
  }

  /** Refuses a write on the items of a batch outside this scope (reads the id only: a batch row holds its whole input). */
  private async guardBatch(batchId: string): Promise<void> {
    if (this.tenantId === null) return;
    if (!(await this.scoped(this.db.selectFrom('batches').select('id').where('id', '=', batchId)).executeTakeFirst())) throw notFound('batch');
  }

  // ---- batches ----------------------------------------------------------------------------

  /** A batch of this scope, or NotFound. */
  async get(id: string): Promise<Batch> {
    const row = await this.scoped(this.db.selectFrom('batches').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!row) throw notFound('batch');
    return row;
  }

  async byRequestId(tenantId: string, requestId: string): Promise<Batch | undefined> {
    return this.scoped(this.db.selectFrom('batches').selectAll().where('tenant_id', '=', tenantId).where('request_id', '=', requestId)).executeTakeFirst();
  }

  /** A tenant's batches, newest first. */
  async list(tenantId: string, limit: number): Promise<Batch[]> {
    return this.scoped(this.db.selectFrom('batches').selectAll().where('tenant_id', '=', tenantId))
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
  }

  async insert(row: NewBatch): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('batches').values(row).execute();
  }

  async update(id: string, set: BatchChange): Promise<void> {
    await this.scoped(this.db.updateTable('batches').set(set).where('id', '=', id)).execute();
  }

  /** Changes a batch only while it is still in `state` (claims it); true when this call changed it. */
  async claim(id: string, state: BatchState, set: BatchChange): Promise<boolean> {
    const res = await this.scoped(this.db.updateTable('batches').set(set).where('id', '=', id).where('state', '=', state)).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Rows done so far. */
  async doneCount(id: string): Promise<number> {
    return Number((await this.scoped(this.db.selectFrom('batches').select('done').where('id', '=', id)).executeTakeFirstOrThrow()).done);
  }

  /** Counts `n` more rows done (and touches updated_at when `now` is given). */
  async addDone(id: string, n: number, now?: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('batches')
        .set((eb) => (now === undefined ? { done: eb('done', '+', n) } : { done: eb('done', '+', n), updated_at: now }))
        .where('id', '=', id),
    ).execute();
  }

  // ---- items ------------------------------------------------------------------------------

  /** Each item's status, delivery and whether its setup link was used (the report). */
  async reportRows(batchId: string): Promise<Array<{ status: string; delivered_at: number | null; delivery_error: string | null; used_at: number | null }>> {
    return this.items(
      this.db
        .selectFrom('batch_items')
        .leftJoin('setup_tokens', 'setup_tokens.id', 'batch_items.setup_link_id')
        .select(['batch_items.status', 'batch_items.delivered_at', 'batch_items.delivery_error', 'setup_tokens.used_at']),
      batchId,
      'batch_items.batch_id',
    ).execute();
  }

  /** The row numbers this batch recorded (created or failed). */
  async rowNumbers(batchId: string): Promise<Set<number>> {
    const rows = await this.items(this.db.selectFrom('batch_items').select('row_no'), batchId).execute();
    return new Set(rows.map((r) => Number(r.row_no)));
  }

  async insertItem(row: BatchItem): Promise<void> {
    await this.guardBatch(row.batch_id);
    await this.db.insertInto('batch_items').values(row).execute();
  }

  /** Records a row that failed (kept if the row was recorded already). */
  async insertFailedItem(row: BatchItem): Promise<void> {
    await this.guardBatch(row.batch_id);
    await this.db
      .insertInto('batch_items')
      .values(row)
      .onConflict((oc) => oc.columns(['batch_id', 'row_no']).doNothing())
      .execute();
  }

  async setItemLink(batchId: string, rowNo: number, setupLinkId: string): Promise<void> {
    await this.items(this.db.updateTable('batch_items').set({ setup_link_id: setupLinkId, delivery_error: null }).where('row_no', '=', rowNo), batchId).execute();
  }

  async markDelivered(batchId: string, rows: number[], now: number): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      await this.items(
        this.db
          .updateTable('batch_items')
          .set({ delivered_at: now, delivery_error: null })
          .where('row_no', 'in', rows.slice(i, i + CHUNK)),
        batchId,
      ).execute();
    }
  }

  async markDeliveryFailed(batchId: string, rowNo: number, error: string): Promise<void> {
    await this.items(this.db.updateTable('batch_items').set({ delivery_error: error }).where('row_no', '=', rowNo), batchId).execute();
  }

  async markRolledBack(batchId: string, rows: number[]): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      await this.items(
        this.db
          .updateTable('batch_items')
          .set({ status: 'rolled-back' })
          .where('row_no', 'in', rows.slice(i, i + CHUNK)),
        batchId,
      ).execute();
    }
  }

  /** Items whose mailbox was created (and not rolled back), in row order. */
  async createdItems(batchId: string): Promise<Array<{ row_no: number; mailbox_id: string | null; alias_ids: string | null; address: string }>> {
    return this.items(this.db.selectFrom('batch_items').select(['row_no', 'mailbox_id', 'alias_ids', 'address']).where('status', '=', 'created').where('mailbox_id', 'is not', null), batchId)
      .orderBy('row_no')
      .execute();
  }

  /** Created items whose mailbox is live (pending or active): the delivery test's population. */
  async liveCreatedMailboxes(batchId: string): Promise<Array<{ mailbox_id: string | null; address: string }>> {
    return this.items(
      this.db
        .selectFrom('batch_items')
        .innerJoin('mailboxes', 'mailboxes.id', 'batch_items.mailbox_id')
        .select(['batch_items.mailbox_id', 'mailboxes.address'])
        .where('batch_items.status', '=', 'created')
        .where('mailboxes.status', 'in', ['pending', 'active']),
      batchId,
      'batch_items.batch_id',
    ).execute();
  }

  /** Created items whose setup link never went out, with their mailbox and the link's use. */
  async undelivered(batchId: string) {
    return this.items(
      this.db
        .selectFrom('batch_items')
        .innerJoin('mailboxes', 'mailboxes.id', 'batch_items.mailbox_id')
        .leftJoin('setup_tokens', 'setup_tokens.id', 'batch_items.setup_link_id')
        .select([
          'batch_items.row_no',
          'batch_items.setup_link_id',
          'mailboxes.id as mailbox_id',
          'mailboxes.address',
          'mailboxes.owner_name',
          'mailboxes.reset_destination',
          'mailboxes.status',
          'setup_tokens.used_at',
        ])
        .where('batch_items.status', '=', 'created')
        .where('batch_items.delivered_at', 'is', null),
      batchId,
      'batch_items.batch_id',
    ).execute();
  }

  // ---- what a batch writes on mailboxes, aliases and setup links ----------------------------

  /** Addresses of the list that any mailbox or alias (any tenant, recycle bin included) already uses. */
  async takenAddresses(addresses: string[]): Promise<Set<string>> {
    const taken = new Set<string>();
    for (let i = 0; i < addresses.length; i += CHUNK) {
      const part = addresses.slice(i, i + CHUNK);
      for (const r of await this.db.selectFrom('mailboxes').select('address').where('address', 'in', part).execute()) taken.add(r.address);
      for (const r of await this.db.selectFrom('aliases').select('address').where('address', 'in', part).execute()) taken.add(r.address);
    }
    return taken;
  }

  /** Inserts a mailbox the batch creates (its lifecycle was planned by the caller). */
  async insertMailbox(row: NewMailbox): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('mailboxes').values(row).execute();
  }

  async insertAlias(row: Pick<Alias, 'id' | 'tenant_id' | 'domain_id' | 'local_part' | 'address' | 'targets' | 'created_by' | 'created_at' | 'updated_at'>): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('aliases').values(row).execute();
  }

  /** Mailboxes of the list in this scope and tenant, with what a lifecycle transition needs. */
  async mailboxStates(tenantId: string, ids: string[]): Promise<Array<{ id: string; status: string; password_hash: string | null }>> {
    if (!ids.length) return [];
    return this.scoped(this.db.selectFrom('mailboxes').select(['id', 'status', 'password_hash']).where('id', 'in', ids).where('tenant_id', '=', tenantId)).execute();
  }

  /** Sets a planned mailbox status (suspend). */
  async setMailboxStatus(id: string, status: MailboxStatus, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('mailboxes').set({ status, updated_at: now }).where('id', '=', id)).execute();
  }

  /** Moves a mailbox into the recycle bin (soft delete), remembering the status to restore. */
  async softDeleteMailbox(id: string, statusBefore: MailboxStatus, now: number, purgeAfter: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('mailboxes')
        .set({ status: 'deleted', status_before_delete: statusBefore, deleted_at: now, purge_after: purgeAfter, deleted_with: null, updated_at: now })
        .where('id', '=', id),
    ).execute();
  }

  /** Unused setup links of these mailboxes expire now (rollback). */
  async expireSetupLinks(mailboxIds: string[], now: number): Promise<void> {
    if (!mailboxIds.length) return;
    await this.scoped(this.db.updateTable('setup_tokens').set({ expires_at: now }).where('mailbox_id', 'in', mailboxIds).where('used_at', 'is', null).where('expires_at', '>', now)).execute();
  }

  /** One unused setup link expires now (it is replaced). */
  async expireSetupLink(id: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('setup_tokens').set({ expires_at: now }).where('id', '=', id).where('used_at', 'is', null)).execute();
  }

  /** The active aliases of the list (id, address). */
  async activeAliases(ids: string[]): Promise<Array<{ id: string; address: string }>> {
    if (!ids.length) return [];
    return this.scoped(this.db.selectFrom('aliases').select(['id', 'address']).where('id', 'in', ids).where('status', '=', 'active')).execute();
  }

  async deleteAliases(ids: string[], now: number): Promise<void> {
    if (!ids.length) return;
    await this.scoped(this.db.updateTable('aliases').set({ status: 'deleted', updated_at: now }).where('id', 'in', ids)).execute();
  }
}
