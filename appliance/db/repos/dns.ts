/** DNS check snapshots of hosted domains (one row per check), scoped by `tenant_id`. */
import type { DnsSnapshot } from '../tables/portfolio.table.js';
import type { DnsSnapshotStatus } from '../tables/status.js';
import { Repo } from './base.js';

export interface NewSnapshot {
  domain_id: string;
  tenant_id: string;
  checked_at: number;
  status: DnsSnapshotStatus;
  records: string;
  template_id: string | null;
  template_version: number | null;
}

export class DnsRepo extends Repo {
  /** Stores a snapshot; returns its id. */
  async insert(row: NewSnapshot): Promise<number> {
    this.guardTenant(row.tenant_id);
    const r = await this.db.insertInto('dns_snapshots').values(row).returning('id').executeTakeFirstOrThrow();
    return Number(r.id);
  }

  /** The latest snapshot of a domain, or undefined. */
  async latest(domainId: string): Promise<DnsSnapshot | undefined> {
    return this.scoped(this.db.selectFrom('dns_snapshots').selectAll().where('domain_id', '=', domainId))
      .orderBy('checked_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** The status of the latest snapshot whose status is known (not `unknown`). */
  async latestKnownStatus(domainId: string): Promise<string | undefined> {
    const row = await this.scoped(this.db.selectFrom('dns_snapshots').select('status').where('domain_id', '=', domainId).where('status', '!=', 'unknown'))
      .orderBy('checked_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.status;
  }

  /** The last-known-good: the latest snapshot where every record matched. */
  async lastKnownGood(domainId: string): Promise<DnsSnapshot | undefined> {
    return this.scoped(this.db.selectFrom('dns_snapshots').selectAll().where('domain_id', '=', domainId).where('status', '=', 'ok'))
      .orderBy('checked_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** True when a snapshot other than `exceptId` found the domain ok. */
  async wasGoodBefore(domainId: string, exceptId: number): Promise<boolean> {
    return !!(await this.scoped(this.db.selectFrom('dns_snapshots').select('id').where('domain_id', '=', domainId).where('status', '=', 'ok').where('id', '!=', exceptId))
      .limit(1)
      .executeTakeFirst());
  }

  /** Snapshots of a domain, newest first (`before`: ids below this one). */
  async history(domainId: string, opts: { limit: number; before?: number }): Promise<DnsSnapshot[]> {
    let q = this.scoped(this.db.selectFrom('dns_snapshots').selectAll().where('domain_id', '=', domainId));
    if (opts.before !== undefined) q = q.where('id', '<', opts.before);
    return q.orderBy('id', 'desc').limit(opts.limit).execute();
  }

  /** When each domain of this scope was last checked (epoch ms). */
  async lastCheckedByDomain(): Promise<Map<string, number>> {
    const rows = await this.scoped(
      this.db
        .selectFrom('dns_snapshots')
        .select(['domain_id'])
        .select((eb) => eb.fn.max('checked_at').as('at')),
    )
      .groupBy('domain_id')
      .execute();
    return new Map(rows.map((r) => [r.domain_id, Number(r.at)]));
  }
}
