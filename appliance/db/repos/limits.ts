/**
 * Send limits and the automatic send block: the per-mailbox and per-tenant overrides (columns
 * of mailboxes and tenants, migration 0003) and the block the limiter raises on an outbound
 * anomaly. Also the scrape-time usage figures the metrics read (mailbox usage per tenant, the
 * latest DNS check of every domain), kept here until the stats repository takes them.
 */
import { notFound } from '../../core/kernel/errors.js';
import { DomainKeyedRepo } from './sending.js';

export interface MailboxSendState {
  id: string;
  send_blocked_at: number | null;
  send_blocked_reason: string | null;
  send_limit_per_hour: number | null;
  rcpt_limit_per_hour: number | null;
}

export interface MailboxLimitRow {
  domain_id: string;
  send_limit_per_hour: number | null;
  rcpt_limit_per_hour: number | null;
  send_blocked_at: number | null;
  send_blocked_reason: string | null;
}

export class LimitsRepo extends DomainKeyedRepo {
  /** The send limits and block of a mailbox (any status). */
  async sendState(mailboxId: string): Promise<MailboxSendState> {
    const row = await this.scoped(
      this.db.selectFrom('mailboxes').select(['id', 'send_blocked_at', 'send_blocked_reason', 'send_limit_per_hour', 'rcpt_limit_per_hour']).where('id', '=', mailboxId),
    ).executeTakeFirst();
    if (!row) throw notFound('mailbox');
    return row;
  }

  /** Per-mailbox overrides (null: the template's or the appliance's default). */
  async setMailboxLimits(mailboxId: string, limits: { messagesPerHour: number | null; recipientsPerHour: number | null }, at: number): Promise<void> {
    await this.scoped(
      this.db.updateTable('mailboxes').set({ send_limit_per_hour: limits.messagesPerHour, rcpt_limit_per_hour: limits.recipientsPerHour, updated_at: at }).where('id', '=', mailboxId),
    ).execute();
  }

  /** Blocks a mailbox that is not blocked yet; false when it already was (another node raised it first). */
  async blockSending(mailboxId: string, reason: string, at: number): Promise<boolean> {
    const r = await this.scoped(
      this.db.updateTable('mailboxes').set({ send_blocked_at: at, send_blocked_reason: reason, updated_at: at }).where('id', '=', mailboxId).where('send_blocked_at', 'is', null),
    ).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async liftSendBlock(mailboxId: string, at: number): Promise<void> {
    await this.scoped(this.db.updateTable('mailboxes').set({ send_blocked_at: null, send_blocked_reason: null, updated_at: at }).where('id', '=', mailboxId)).execute();
  }

  // ---- the limiter's reads (once per submission) ---------------------------------------------

  mailboxLimits(mailboxId: string): Promise<MailboxLimitRow | undefined> {
    return this.scoped(
      this.db.selectFrom('mailboxes').select(['domain_id', 'send_limit_per_hour', 'rcpt_limit_per_hour', 'send_blocked_at', 'send_blocked_reason']).where('id', '=', mailboxId),
    ).executeTakeFirst();
  }

  tenantLimits(tenantId: string): Promise<{ send_limit_per_hour: number | null; rcpt_limit_per_hour: number | null } | undefined> {
    return this.scoped(this.db.selectFrom('tenants').select(['send_limit_per_hour', 'rcpt_limit_per_hour']).where('id', '=', tenantId), 'id').executeTakeFirst();
  }

  // ---- scrape-time figures (metrics) -----------------------------------------------------------

  /** Bytes and messages stored per tenant, over mailboxes that are not deleted. */
  async storeUsageByTenant(): Promise<Array<{ tenantId: string; bytes: number; messages: number }>> {
    const rows = await this.scoped(
      this.db
        .selectFrom('mailboxes')
        .select((eb) => ['tenant_id', eb.fn.sum<number>('used_bytes').as('bytes'), eb.fn.sum<number>('message_count').as('messages')])
        .where('status', '!=', 'deleted'),
    )
      .groupBy('tenant_id')
      .execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, bytes: Number(r.bytes ?? 0), messages: Number(r.messages ?? 0) }));
  }

  /** The latest DNS snapshot's status of every active domain ('unknown' when never checked). */
  async latestDnsStatuses(): Promise<Array<{ domain: string; tenantId: string; status: string }>> {
    const rows = await this.scoped(
      this.db
        .selectFrom('domains as d')
        .leftJoin('dns_snapshots as s', (j) =>
          j.onRef('s.domain_id', '=', 'd.id').on('s.id', 'in', (eb) =>
            eb
              .selectFrom('dns_snapshots')
              .select((e) => e.fn.max<number>('id').as('id'))
              .groupBy('domain_id'),
          ),
        )
        .select(['d.name', 'd.tenant_id', 's.status'])
        .where('d.status', '=', 'active'),
      'd.tenant_id',
    ).execute();
    return rows.map((r) => ({ domain: r.name, tenantId: r.tenant_id, status: r.status ?? 'unknown' }));
  }
}
