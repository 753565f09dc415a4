/**
 * Tenants: the client organisations an operator hosts. Only platform actors create them.
 */
import type { Tenant } from '../../db/tables/control.table.js';
import { appendAudit } from '../audit/audit.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { type TenantQuota, tenantQuota } from '../mailboxes/quota.js';
import { repos } from '../../db/repos/index.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { cleanName, iso, isUniqueViolation, pageOf } from '../kernel/util.js';

export interface TenantView {
  id: string;
  name: string;
  status: string;
  /** Pooled quota: the pool (null: none), the sum of mailbox quotas, and what is stored. */
  quota: TenantQuota;
  createdAt: string;
}

export function tenantView(t: Tenant, quota: TenantQuota = { poolBytes: t.quota_bytes === null ? null : Number(t.quota_bytes), allocatedBytes: 0, usedBytes: 0 }): TenantView {
  return { id: t.id, name: t.name, status: t.status, quota, createdAt: iso(t.created_at)! };
}

async function withQuota(deps: CoreDeps, t: Tenant): Promise<TenantView> {
  return tenantView(t, await tenantQuota(deps.db, t.id));
}

export async function createTenant(actor: Actor, deps: CoreDeps, input: { name: string }): Promise<TenantView> {
  authorize(actor, 'tenants.manage');
  const name = cleanName(input.name, 100);
  if (name === null) throw invalid('tenant name must be 1 to 100 characters without control characters', { field: 'name' });
  const now = deps.now();
  const id = newId('tnt');
  try {
    await deps.db.transaction().execute(async (trx) => {
      const t = repos(trx, scopeOf(actor));
      if (await t.tenants.nameTaken(name)) throw new AppError('AlreadyExists', `a tenant named "${name}" already exists`);
      await t.tenants.insert({ id, name, now });
      await appendAudit(trx, actor, { action: 'tenant.create', targetType: 'tenant', targetId: id, tenantId: id, after: { name } }, now);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('AlreadyExists', `a tenant named "${name}" already exists`);
    throw err;
  }
  return { id, name, status: 'active', quota: { poolBytes: null, allocatedBytes: 0, usedBytes: 0 }, createdAt: iso(now)! };
}

export async function getTenant(actor: Actor, deps: CoreDeps, tenantId: string): Promise<TenantView> {
  authorize(actor, 'tenants.read');
  return withQuota(deps, await repos(deps.db, scopeOf(actor)).tenants.get(tenantId));
}

export async function listTenants(actor: Actor, deps: CoreDeps, page: { limit?: number; after?: string | null } = {}, filter: { q?: string } = {}): Promise<TenantView[]> {
  authorize(actor, 'tenants.read');
  const rows = await repos(deps.db, scopeOf(actor)).tenants.list(pageOf(page), filter);
  return Promise.all(rows.map((t) => withQuota(deps, t)));
}

/**
 * Renames a tenant or sets its pooled quota (null: no pool). A pool smaller than the quotas
 * already handed out is refused (QuotaExceeded) with the numbers. Platform actors only.
 */
export async function updateTenant(actor: Actor, deps: CoreDeps, tenantId: string, input: { name?: string; quotaBytes?: number | null }): Promise<TenantView> {
  authorize(actor, 'tenants.manage');
  const scope = scopeOf(actor);
  const tenants = repos(deps.db, scope).tenants;
  const tenant = await tenants.get(tenantId);
  const set: { name?: string; quota_bytes?: number | null; updated_at: number } = { updated_at: deps.now() };
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  if (input.name !== undefined) {
    const name = cleanName(input.name, 100);
    if (name === null) throw invalid('tenant name must be 1 to 100 characters without control characters', { field: 'name' });
    if (name !== tenant.name) {
      if (await tenants.nameTaken(name)) throw new AppError('AlreadyExists', `a tenant named "${name}" already exists`);
      set.name = name;
      before.name = tenant.name;
      after.name = name;
    }
  }
  const oldPool = tenant.quota_bytes === null ? null : Number(tenant.quota_bytes);
  if (input.quotaBytes !== undefined && input.quotaBytes !== oldPool) {
    if (input.quotaBytes !== null && (!Number.isSafeInteger(input.quotaBytes) || input.quotaBytes < 0)) throw invalid('quotaBytes must be a whole number of bytes or null', { field: 'quotaBytes' });
    set.quota_bytes = input.quotaBytes;
    before.quotaBytes = oldPool;
    after.quotaBytes = input.quotaBytes;
  }
  if (!Object.keys(after).length) return withQuota(deps, tenant);
  try {
    await deps.db.transaction().execute(async (trx) => {
      if (set.quota_bytes !== undefined && set.quota_bytes !== null) {
        const q = await tenantQuota(trx, tenant.id);
        if (q.allocatedBytes > set.quota_bytes) {
          throw new AppError('QuotaExceeded', `the tenant's mailboxes already hold quotas of ${q.allocatedBytes} bytes; the pool cannot be smaller`, {
            field: 'quotaBytes',
            allocatedBytes: q.allocatedBytes,
          });
        }
      }
      await repos(trx, scope).tenants.update(tenant.id, set);
      await appendAudit(trx, actor, { action: 'tenant.update', targetType: 'tenant', targetId: tenant.id, tenantId: tenant.id, before, after }, set.updated_at);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('AlreadyExists', `a tenant named "${set.name}" already exists`);
    throw err;
  }
  return withQuota(deps, await tenants.get(tenant.id));
}
