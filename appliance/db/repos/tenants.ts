/**
 * Tenants: the client organisations. A tenant scope sees its own tenant only (the tenant's id
 * is its scope); creating tenants is a platform write. Name uniqueness is appliance-wide and
 * answered as a fact (a boolean), never as another tenant's row.
 */
import { sql } from 'kysely';
import { notFound } from '../../core/kernel/errors.js';
import type { Tenant } from '../tables/control.table.js';
import { containsPattern, type ListPage, Repo } from './base.js';

export { containsPattern, type ListPage } from './base.js';

export interface TenantChange {
  name?: string;
  quota_bytes?: number | null;
  updated_at: number;
}

export class TenantsRepo extends Repo {
  /** A live tenant of this scope, or NotFound. */
  async get(id: string): Promise<Tenant> {
    const row = await this.scoped(this.db.selectFrom('tenants').selectAll().where('id', '=', id).where('status', '!=', 'deleted'), 'id').executeTakeFirst();
    if (!row) throw notFound('tenant');
    return row;
  }

  async list(page: ListPage, filter: { q?: string } = {}): Promise<Tenant[]> {
    let q = this.scoped(this.db.selectFrom('tenants').selectAll().where('status', '!=', 'deleted'), 'id');
    if (filter.q) q = q.where(sql<boolean>`lower(name) like ${containsPattern(filter.q)} escape '\\'`);
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  /** True when any tenant (of any scope, deleted ones included) has this name. */
  async nameTaken(name: string): Promise<boolean> {
    return !!(await this.db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirst());
  }

  async insert(row: { id: string; name: string; now: number }): Promise<void> {
    this.guardTenant(row.id);
    await this.db.insertInto('tenants').values({ id: row.id, name: row.name, created_at: row.now, updated_at: row.now }).execute();
  }

  async update(id: string, set: TenantChange): Promise<void> {
    await this.scoped(this.db.updateTable('tenants').set(set).where('id', '=', id), 'id').execute();
  }
}
