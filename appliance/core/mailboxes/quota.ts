/**
 * Pooled tenant quota: a tenant may hold a pool (tenants.quota_bytes) that the quotas of all its
 * mailboxes (those in the recycle bin included, since they can be restored) must fit in.
 * Checked inside the transaction that allocates.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { AppError } from '../kernel/errors.js';

export interface TenantQuota {
  poolBytes: number | null;
  allocatedBytes: number;
  usedBytes: number;
}

export async function tenantQuota(db: Kysely<DB>, tenantId: string, exceptMailboxId?: string): Promise<TenantQuota> {
  const tenant = await db.selectFrom('tenants').select('quota_bytes').where('id', '=', tenantId).executeTakeFirst();
  let q = db
    .selectFrom('mailboxes')
    .select((eb) => [eb.fn.coalesce(eb.fn.sum<number>('quota_bytes'), eb.lit(0)).as('allocated'), eb.fn.coalesce(eb.fn.sum<number>('used_bytes'), eb.lit(0)).as('used')])
    .where('tenant_id', '=', tenantId);
  if (exceptMailboxId) q = q.where('id', '!=', exceptMailboxId);
  const row = await q.executeTakeFirstOrThrow();
  const pool = tenant?.quota_bytes;
  return { poolBytes: pool === null || pool === undefined ? null : Number(pool), allocatedBytes: Number(row.allocated), usedBytes: Number(row.used) };
}

/** Throws QuotaExceeded when giving `mailboxQuota` to a mailbox (new, or `mailboxId` resized) would overflow the pool. */
export async function assertFitsTenantPool(db: Kysely<DB>, tenantId: string, mailboxQuota: number, mailboxId?: string): Promise<void> {
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
