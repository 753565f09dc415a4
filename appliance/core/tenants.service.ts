/**
 * Tenants: the client organisations an operator hosts. Only platform actors create them.
 */
import type { Tenant } from '../db/tables/control.table.js';
import { appendAudit } from './audit.js';
import { type Actor, authorize } from './authz.js';
import type { CoreDeps } from './deps.js';
import { AppError, invalid } from './errors.js';
import { newId } from './ids.js';
import { Directory, scopedRepo } from './repo.js';
import { cleanName, iso, isUniqueViolation, pageOf } from './util.js';

export interface TenantView {
  id: string;
  name: string;
  status: string;
  createdAt: string;
}

export function tenantView(t: Tenant): TenantView {
  return { id: t.id, name: t.name, status: t.status, createdAt: iso(t.created_at)! };
}

export async function createTenant(actor: Actor, deps: CoreDeps, input: { name: string }): Promise<TenantView> {
  authorize(actor, 'tenants.manage');
  const name = cleanName(input.name, 100);
  if (name === null) throw invalid('tenant name must be 1 to 100 characters without control characters', { field: 'name' });
  const now = deps.now();
  const id = newId('tnt');
  try {
    await deps.db.transaction().execute(async (trx) => {
      if (await new Directory(trx).tenantNameTaken(name)) throw new AppError('AlreadyExists', `a tenant named "${name}" already exists`);
      await trx.insertInto('tenants').values({ id, name, created_at: now, updated_at: now }).execute();
      await appendAudit(trx, actor, { action: 'tenant.create', targetType: 'tenant', targetId: id, tenantId: id, after: { name } }, now);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('AlreadyExists', `a tenant named "${name}" already exists`);
    throw err;
  }
  return { id, name, status: 'active', createdAt: iso(now)! };
}

export async function getTenant(actor: Actor, deps: CoreDeps, tenantId: string): Promise<TenantView> {
  authorize(actor, 'tenants.read');
  return tenantView(await scopedRepo(deps.db, actor).tenant(tenantId));
}

export async function listTenants(actor: Actor, deps: CoreDeps, page: { limit?: number; after?: string | null } = {}): Promise<TenantView[]> {
  authorize(actor, 'tenants.read');
  const rows = await scopedRepo(deps.db, actor).listTenants(pageOf(page));
  return rows.map(tenantView);
}
