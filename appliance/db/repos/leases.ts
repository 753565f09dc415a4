/**
 * Leases of the scheduled jobs (issue 17): a job runs on the node that holds its unexpired lease.
 * Portable conditional writes, no engine-specific lock: a renewal or takeover is one UPDATE whose
 * WHERE says "mine, or expired"; a first claim is one INSERT … ON CONFLICT DO NOTHING. Both
 * SQLite and PostgreSQL make each statement atomic, so two nodes can never both see a row come
 * back. Platform scope: leases belong to no tenant.
 */
import type { LeasesTable } from '../tables/cluster.table.js';
import { Repo } from './base.js';

/** A lease: the table's row. */
export type LeaseRow = LeasesTable;

export interface HeldLease {
  fence: number;
  expiresAt: number;
  ranAt: number;
}

export class LeasesRepo extends Repo {
  /**
   * Renews the lease when this node holds it, takes it over when it has expired, or claims it
   * when nobody ever held it (`ranAt` then starts the job's schedule). Null: another node holds it.
   */
  async acquire(name: string, holder: string, now: number, ttlMs: number, ranAt: number): Promise<HeldLease | null> {
    const expiresAt = now + ttlMs;
    const renewed = await this.db
      .updateTable('leases')
      .set((eb) => ({
        holder,
        expires_at: expiresAt,
        fence: eb
          .case()
          .when('holder', '=', holder)
          .then(eb.ref('fence'))
          .else(eb('fence', '+', 1))
          .end(),
        acquired_at: eb.case().when('holder', '=', holder).then(eb.ref('acquired_at')).else(now).end(),
      }))
      .where('name', '=', name)
      .where((eb) => eb.or([eb('holder', '=', holder), eb('expires_at', '<=', now)]))
      .returning(['fence', 'ran_at'])
      .executeTakeFirst();
    if (renewed) return { fence: Number(renewed.fence), expiresAt, ranAt: Number(renewed.ran_at) };
    const claimed = await this.db
      .insertInto('leases')
      .values({ name, holder, expires_at: expiresAt, fence: 1, ran_at: ranAt, acquired_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .returning(['fence', 'ran_at'])
      .executeTakeFirst();
    return claimed ? { fence: Number(claimed.fence), expiresAt, ranAt: Number(claimed.ran_at) } : null;
  }

  /** Gives the lease up (a clean stop): the next node to ask takes it at once. */
  async release(name: string, holder: string, now: number): Promise<void> {
    await this.db.updateTable('leases').set({ expires_at: now }).where('name', '=', name).where('holder', '=', holder).execute();
  }

  /** Records a run of the job; only the holder with this fence may (false: the lease was lost). */
  async markRan(name: string, holder: string, fence: number, at: number): Promise<boolean> {
    // after every run of a scheduled job: durable before it resolves, its fsync off the serving loop
    const r = await this.syncedOffLoop((db) => db.updateTable('leases').set({ ran_at: at }).where('name', '=', name).where('holder', '=', holder).where('fence', '=', fence).executeTakeFirst());
    return Number(r.numUpdatedRows) > 0;
  }

  /** Every lease (operators, tests). */
  list(): Promise<LeaseRow[]> {
    return this.db.selectFrom('leases').selectAll().orderBy('name').execute();
  }
}
