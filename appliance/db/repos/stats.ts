/**
 * The reports of the mail path (core/delivery): the forwarding governance report and the
 * tenant check of the mail-flow figures. Tenant-scoped: a tenant scope sees its own tenant and
 * its own forwards only.
 */
import { notFound } from '../../core/kernel/errors.js';
import { Repo } from './base.js';

export interface ForwardReportRow {
  id: string;
  mailbox_id: string;
  mailbox_address: string;
  target: string;
  external: number;
  status: string;
  created_by: string;
  reason: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

/** At most this many forwards in one report. */
const REPORT_LIMIT = 5000;

export class StatsRepo extends Repo {
  /** The id of a tenant that is not deleted and lies in the scope; NotFound otherwise. */
  async existingTenantId(id: string): Promise<string> {
    const row = await this.scoped(this.db.selectFrom('tenants').select('id').where('id', '=', id).where('status', '!=', 'deleted'), 'id').executeTakeFirst();
    if (!row) throw notFound('tenant');
    return row.id;
  }

  /** A tenant's forwards that were not removed, oldest first, with their mailbox's address. */
  async forwardsForReport(tenantId: string): Promise<ForwardReportRow[]> {
    return this.scoped(
      this.db
        .selectFrom('forwards')
        .innerJoin('mailboxes', 'mailboxes.id', 'forwards.mailbox_id')
        .select([
          'forwards.id',
          'forwards.mailbox_id',
          'mailboxes.address as mailbox_address',
          'forwards.target',
          'forwards.external',
          'forwards.status',
          'forwards.created_by',
          'forwards.reason',
          'forwards.created_at',
          'forwards.expires_at',
          'forwards.last_used_at',
        ])
        .where('forwards.tenant_id', '=', tenantId)
        .where('forwards.status', '!=', 'removed')
        .orderBy('forwards.created_at')
        .limit(REPORT_LIMIT),
      'forwards.tenant_id',
    ).execute();
  }
}
