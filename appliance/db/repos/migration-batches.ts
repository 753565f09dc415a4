/**
 * Bulk IMAP migration batches and their rows (issue 20). Both tables carry `tenant_id`: a
 * tenant scope reads and writes its own tenant's rows only; another tenant's batch is NotFound.
 */
import { notFound } from '../../core/kernel/errors.js';
import type { MigrationBatchesTable, MigrationBatchItemRow, MigrationBatchItemsTable, MigrationBatchRow, MigrationBatchState } from '../tables/migration-batches.table.js';
import { Repo } from './base.js';

export type MigrationBatchChange = Partial<Omit<MigrationBatchesTable, 'id' | 'tenant_id' | 'created_by' | 'created_at'>>;
export type MigrationItemChange = Partial<Omit<MigrationBatchItemsTable, 'batch_id' | 'tenant_id' | 'row_no'>>;

export class MigrationBatchesRepo extends Repo {
  /** A batch of this scope, or NotFound. */
  async get(id: string): Promise<MigrationBatchRow> {
    const row = await this.scoped(this.db.selectFrom('migration_batches').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!row) throw notFound('migration batch');
    return row;
  }

  /** A tenant's batches, newest first. */
  async list(tenantId: string, limit: number): Promise<MigrationBatchRow[]> {
    return this.scoped(this.db.selectFrom('migration_batches').selectAll().where('tenant_id', '=', tenantId))
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
  }

  /** Batches in a state, any tenant of this scope (the workers resume these). */
  async inState(state: MigrationBatchState): Promise<MigrationBatchRow[]> {
    return this.scoped(this.db.selectFrom('migration_batches').selectAll().where('state', '=', state)).execute();
  }

  async insert(batch: MigrationBatchRow, items: MigrationBatchItemRow[]): Promise<void> {
    this.guardTenant(batch.tenant_id);
    await this.db.insertInto('migration_batches').values(batch).execute();
    for (let i = 0; i < items.length; i += 100) {
      const part = items.slice(i, i + 100);
      for (const it of part) this.guardTenant(it.tenant_id);
      await this.db.insertInto('migration_batch_items').values(part).execute();
    }
  }

  async update(id: string, set: MigrationBatchChange): Promise<void> {
    await this.scoped(this.db.updateTable('migration_batches').set(set).where('id', '=', id)).execute();
  }

  /** Changes a batch only while it is in one of `states`; true when this call changed it. */
  async claim(id: string, states: MigrationBatchState[], set: MigrationBatchChange): Promise<boolean> {
    const res = await this.scoped(this.db.updateTable('migration_batches').set(set).where('id', '=', id).where('state', 'in', states)).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async addChecked(id: string, n: number, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('migration_batches')
        .set((eb) => ({ checked: eb('checked', '+', n), updated_at: now }))
        .where('id', '=', id),
    ).execute();
  }

  /** A batch's rows in row order (with the sealed secret: never hand these out as they are). */
  async items(batchId: string): Promise<MigrationBatchItemRow[]> {
    return this.scoped(this.db.selectFrom('migration_batch_items').selectAll().where('batch_id', '=', batchId))
      .orderBy('row_no')
      .execute();
  }

  async updateItem(batchId: string, rowNo: number, set: MigrationItemChange): Promise<void> {
    await this.scoped(this.db.updateTable('migration_batch_items').set(set).where('batch_id', '=', batchId).where('row_no', '=', rowNo)).execute();
  }

  /** Wipes every sealed source secret the batch still holds. */
  async wipeSecrets(batchId: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('migration_batch_items').set({ source_secret: null, updated_at: now }).where('batch_id', '=', batchId).where('source_secret', 'is not', null)).execute();
  }

  /** The tenant's mailboxes among these addresses (id, address, status). */
  async mailboxesByAddress(tenantId: string, addresses: string[]): Promise<Array<{ id: string; address: string; status: string }>> {
    const out: Array<{ id: string; address: string; status: string }> = [];
    for (let i = 0; i < addresses.length; i += 200) {
      const part = addresses.slice(i, i + 200);
      if (!part.length) continue;
      out.push(...(await this.scoped(this.db.selectFrom('mailboxes').select(['id', 'address', 'status']).where('tenant_id', '=', tenantId).where('address', 'in', part)).execute()));
    }
    return out;
  }
}
