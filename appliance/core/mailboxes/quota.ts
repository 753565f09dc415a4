/**
 * Pooled tenant quota: a tenant may hold a pool (tenants.quota_bytes) that the quotas of all its
 * mailboxes (those in the recycle bin included, since they can be restored) must fit in.
 * Checked inside the transaction that allocates.
 */
import { type Executor, repos, type Repos } from '../../db/repos/index.js';
import { AppError } from '../kernel/errors.js';
import { tenantScope } from '../kernel/scope.js';
import { executorOf } from './unit.js';

export interface TenantQuota {
  poolBytes: number | null;
  allocatedBytes: number;
  usedBytes: number;
}

export async function tenantQuota(db: Executor | Repos, tenantId: string, exceptMailboxId?: string): Promise<TenantQuota> {
  const mailboxes = repos(executorOf(db), tenantScope(tenantId)).mailboxes;
  const totals = await mailboxes.quotaTotals(tenantId, exceptMailboxId);
  return { poolBytes: await mailboxes.tenantPool(tenantId), allocatedBytes: totals.allocated, usedBytes: totals.used };
}

/** Throws QuotaExceeded when giving `mailboxQuota` to a mailbox (new, or `mailboxId` resized) would overflow the pool. */
export async function assertFitsTenantPool(db: Executor | Repos, tenantId: string, mailboxQuota: number, mailboxId?: string): Promise<void> {
  const q = await tenantQuota(db, tenantId, mailboxId);
  if (q.poolBytes === null) return;
  if (q.allocatedBytes + mailboxQuota > q.poolBytes) {
    throw new AppError('QuotaExceeded', `the tenant's quota pool of ${q.poolBytes} bytes has ${Math.max(0, q.poolBytes - q.allocatedBytes)} bytes left; ${mailboxQuota} requested`, {
      field: 'quotaBytes',
      poolBytes: q.poolBytes,
      allocatedBytes: q.allocatedBytes,
      requestedBytes: mailboxQuota,
    });
  }
}
