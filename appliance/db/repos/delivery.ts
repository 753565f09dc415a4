/**
 * The delivery path's look-ups (core/delivery): the domain, mailbox and alias an address
 * resolves to, and the auto-reply state of offboarded addresses. The serving layer reads with
 * `PLATFORM_SCOPE` (an envelope recipient names no tenant yet); a tenant scope sees only its
 * own domains, mailboxes, aliases and offboardings. Every read here runs per SMTP recipient or
 * delivery, so each is compiled once per scope (prepared.ts, issue 18).
 */
import { Repo } from './base.js';
import { preparedRows } from './prepared.js';

export interface RoutingDomain {
  id: string;
  tenant_id: string;
  name: string;
  catch_all: string | null;
  alias_of: string | null;
}

export interface RoutingMailbox {
  id: string;
  tenant_id: string;
  address: string;
  status: string;
  quota_bytes: number;
  used_bytes: number;
}

export class DeliveryRepo extends Repo {
  /** An active domain by name (null: not hosted, or not active). */
  async activeDomain(name: string): Promise<RoutingDomain | null> {
    const rows = await preparedRows(this.db, 'delivery.activeDomain', this.tenantId, [name] as const, (n) =>
      this.scoped(this.db.selectFrom('domains').select(['id', 'tenant_id', 'name', 'catch_all', 'alias_of']).where('name', '=', n).where('status', '=', 'active')),
    );
    return rows[0] ?? null;
  }

  /** The active primary a domain alias points at (same tenant only). */
  async activeDomainOfTenant(id: string, tenantId: string): Promise<RoutingDomain | null> {
    const rows = await preparedRows(this.db, 'delivery.activeDomainOfTenant', this.tenantId, [id, tenantId] as const, (i, t) =>
      this.scoped(this.db.selectFrom('domains').select(['id', 'tenant_id', 'name', 'catch_all', 'alias_of']).where('id', '=', i).where('tenant_id', '=', t).where('status', '=', 'active')),
    );
    return rows[0] ?? null;
  }

  /** True when a domain of that name exists here, whatever its status. */
  async domainExists(name: string): Promise<boolean> {
    const rows = await preparedRows(this.db, 'delivery.domainExists', this.tenantId, [name] as const, (n) => this.scoped(this.db.selectFrom('domains').select('id').where('name', '=', n)));
    return rows.length > 0;
  }

  async mailboxByAddress(address: string): Promise<RoutingMailbox | null> {
    const rows = await preparedRows(this.db, 'delivery.mailboxByAddress', this.tenantId, [address] as const, (a) =>
      this.scoped(this.db.selectFrom('mailboxes').select(['id', 'tenant_id', 'address', 'status', 'quota_bytes', 'used_bytes']).where('address', '=', a)),
    );
    const row = rows[0];
    return row ? { ...row, quota_bytes: Number(row.quota_bytes), used_bytes: Number(row.used_bytes) } : null;
  }

  /** The JSON target list of an active alias (null: no active alias of that address). */
  async activeAliasTargets(address: string): Promise<string | null> {
    const rows = await preparedRows(this.db, 'delivery.activeAliasTargets', this.tenantId, [address] as const, (a) =>
      this.scoped(this.db.selectFrom('aliases').select('targets').where('address', '=', a).where('status', '=', 'active')),
    );
    return rows[0] ? rows[0].targets : null;
  }

  /** The auto-reply (JSON) of the latest applied, not undone offboarding of a mailbox address. */
  async offboardingAutoReply(address: string): Promise<string | null> {
    const rows = await preparedRows(this.db, 'delivery.offboardingAutoReply', this.tenantId, [address] as const, (a) =>
      this.scoped(
        this.db
          .selectFrom('offboardings')
          .innerJoin('mailboxes', 'mailboxes.id', 'offboardings.mailbox_id')
          .select(['offboardings.auto_reply'])
          .where('mailboxes.address', '=', a)
          .where('offboardings.status', '=', 'applied')
          .where('offboardings.undone_at', 'is', null)
          .where('offboardings.auto_reply', 'is not', null)
          .orderBy('offboardings.applied_at', 'desc'),
        'mailboxes.tenant_id',
      ),
    );
    return rows[0]?.auto_reply ?? null;
  }

  /** When `address` last auto-replied to `sender` (epoch ms), or null. */
  async lastAutoReply(address: string, sender: string): Promise<number | null> {
    const row = await this.db.selectFrom('auto_replies').select('sent_at').where('address', '=', address).where('sender', '=', sender).executeTakeFirst();
    return row ? Number(row.sent_at) : null;
  }

  async recordAutoReply(address: string, sender: string, now: number): Promise<void> {
    await this.db
      .insertInto('auto_replies')
      .values({ address, sender, sent_at: now })
      .onConflict((oc) => oc.columns(['address', 'sender']).doUpdateSet({ sent_at: now }))
      .execute();
  }
}
