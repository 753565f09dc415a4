/**
 * The sending aggregate: forwards, send-as grants, outbound routes (smarthosts per domain, per
 * tenant, global), the DKIM keys the sending side rotates and signs with, and the appliance
 * settings the MTA shares (the SRS secret). Reads and writes for the control plane (scoped to
 * the actor's tenant) and the look-ups the MTA makes on every submission (platform scope, the
 * same queries and as many of them as before the move).
 *
 * `DomainKeyedRepo` (the base of the sending, limits and spam repositories) scopes the tables
 * keyed by domain rather than tenant. The mailbox, domain and tenant look-ups are the mailboxes,
 * domains and tenants repositories'.
 */
import type { Domain, DkimKey } from '../tables/control.table.js';
import type { Forward, OutboundRoute } from '../tables/sending.table.js';
import { notFound } from '../../core/kernel/errors.js';
import { Repo } from './base.js';
import { preparedRows } from './prepared.js';

export type { Forward, OutboundRoute } from '../tables/sending.table.js';
export type { DkimKey } from '../tables/control.table.js';

/** Where a route applies: a domain (with its tenant), a tenant, or (both null) the whole appliance. */
export interface RouteOwner {
  tenantId: string | null;
  domainId: string | null;
}

export interface SendAsGrantRow {
  id: string;
  tenant_id: string;
  mailbox_id: string;
  address: string;
  created_by: string;
  created_at: number;
}

/** A repository that also reads tables keyed by domain rather than tenant (dkim_keys): scoped through the domains of its tenant. */
export abstract class DomainKeyedRepo extends Repo {
  /** Restricts a query on a table keyed by domain (e.g. dkim_keys) to this scope's domains. */
  protected scopedByDomain<Q extends { where: (...args: any[]) => any }>(q: Q, column: string): Q {
    if (this.tenantId === null) return q;
    return q.where(column, 'in', this.db.selectFrom('domains').select('id').where('tenant_id', '=', this.tenantId)) as Q;
  }
}

export class SendingRepo extends DomainKeyedRepo {
  // ---- forwards ----------------------------------------------------------------------------

  /** The forwards of a mailbox that are not removed (active and expired), oldest first. */
  forwardsOf(mailboxId: string): Promise<Forward[]> {
    return this.scoped(this.db.selectFrom('forwards').selectAll().where('mailbox_id', '=', mailboxId).where('status', '!=', 'removed'))
      .orderBy('created_at')
      .execute();
  }

  /** A forward that is not removed. */
  async forward(id: string): Promise<Forward> {
    const row = await this.scoped(this.db.selectFrom('forwards').selectAll().where('id', '=', id).where('status', '!=', 'removed')).executeTakeFirst();
    if (!row) throw notFound('forward');
    return row;
  }

  async activeForwardCount(mailboxId: string): Promise<number> {
    const row = await this.scoped(
      this.db
        .selectFrom('forwards')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('mailbox_id', '=', mailboxId)
        .where('status', '=', 'active'),
    ).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async forwardsTo(mailboxId: string, target: string): Promise<boolean> {
    const row = await this.scoped(this.db.selectFrom('forwards').select('id').where('mailbox_id', '=', mailboxId).where('target', '=', target).where('status', '=', 'active')).executeTakeFirst();
    return !!row;
  }

  async insertForward(row: Forward): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('forwards').values(row).execute();
  }

  async removeForward(id: string): Promise<void> {
    await this.scoped(this.db.updateTable('forwards').set({ status: 'removed' }).where('id', '=', id)).execute();
  }

  /** The MTA's read: the active forwards of a mailbox (expired ones included; the caller sorts them). */
  activeForwards(mailboxId: string): Promise<Forward[]> {
    // per delivered mailbox: compiled once per scope (prepared.ts, issue 18)
    return preparedRows(this.db, 'sending.activeForwards', this.tenantId, [mailboxId] as const, (id) =>
      this.scoped(this.db.selectFrom('forwards').selectAll().where('mailbox_id', '=', id).where('status', '=', 'active')),
    );
  }

  async markForwardsExpired(ids: string[]): Promise<void> {
    if (ids.length) await this.scoped(this.db.updateTable('forwards').set({ status: 'expired' }).where('id', 'in', ids)).execute();
  }

  async markForwardsUsed(ids: string[], at: number): Promise<void> {
    if (ids.length) await this.scoped(this.db.updateTable('forwards').set({ last_used_at: at }).where('id', 'in', ids)).execute();
  }

  // ---- send-as grants ----------------------------------------------------------------------

  sendAsGrantsOf(mailboxId: string): Promise<SendAsGrantRow[]> {
    return this.scoped(this.db.selectFrom('send_as_grants').selectAll().where('mailbox_id', '=', mailboxId))
      .orderBy('created_at')
      .execute();
  }

  async sendAsGrant(id: string): Promise<SendAsGrantRow> {
    const row = await this.scoped(this.db.selectFrom('send_as_grants').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!row) throw notFound('send-as grant');
    return row;
  }

  async hasSendAsGrant(mailboxId: string, address: string): Promise<boolean> {
    const row = await this.scoped(this.db.selectFrom('send_as_grants').select('id').where('mailbox_id', '=', mailboxId).where('address', '=', address)).executeTakeFirst();
    return !!row;
  }

  async insertSendAsGrant(row: SendAsGrantRow): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('send_as_grants').values(row).execute();
  }

  async deleteSendAsGrant(id: string): Promise<void> {
    await this.scoped(this.db.deleteFrom('send_as_grants').where('id', '=', id)).execute();
  }

  /** The tenant of a hosted (not deleted) domain name when it is in this scope, else null. */
  async domainTenant(name: string): Promise<string | null> {
    const row = await this.scoped(this.db.selectFrom('domains').select('tenant_id').where('name', '=', name).where('status', '!=', 'deleted')).executeTakeFirst();
    return row?.tenant_id ?? null;
  }

  // ---- outbound routes ---------------------------------------------------------------------

  /** The route of exactly this owner (domain, tenant or global), if any. */
  route(owner: RouteOwner): Promise<OutboundRoute | undefined> {
    let q = this.db.selectFrom('outbound_routes').selectAll();
    q = owner.domainId ? q.where('domain_id', '=', owner.domainId) : q.where('domain_id', 'is', null);
    q = owner.tenantId ? q.where('tenant_id', '=', owner.tenantId) : q.where('tenant_id', 'is', null);
    return this.scoped(q).executeTakeFirst();
  }

  async insertRoute(row: OutboundRoute): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('outbound_routes').values(row).execute();
  }

  async updateRoute(row: OutboundRoute): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.scoped(this.db.updateTable('outbound_routes').set(row).where('id', '=', row.id)).execute();
  }

  async deleteRoute(id: string): Promise<void> {
    await this.scoped(this.db.deleteFrom('outbound_routes').where('id', '=', id)).execute();
  }

  // ---- DKIM keys ---------------------------------------------------------------------------

  dkimKeysOf(domainId: string): Promise<DkimKey[]> {
    return this.scopedByDomain(this.db.selectFrom('dkim_keys').selectAll().where('domain_id', '=', domainId), 'domain_id')
      .orderBy('created_at')
      .execute();
  }

  async dkimSelectors(domainId: string): Promise<string[]> {
    const rows = await this.scopedByDomain(this.db.selectFrom('dkim_keys').select('selector').where('domain_id', '=', domainId), 'domain_id').execute();
    return rows.map((r) => r.selector);
  }

  async dkimKey(domainId: string, keyId: string): Promise<DkimKey> {
    const row = await this.scopedByDomain(this.db.selectFrom('dkim_keys').selectAll().where('id', '=', keyId).where('domain_id', '=', domainId), 'domain_id').executeTakeFirst();
    if (!row) throw notFound('DKIM key');
    return row;
  }

  /** The signing (active) keys of one algorithm of a domain. */
  activeDkimKeys(domainId: string, algorithm: string): Promise<Array<{ id: string; selector: string }>> {
    return this.scopedByDomain(
      this.db.selectFrom('dkim_keys').select(['id', 'selector']).where('domain_id', '=', domainId).where('algorithm', '=', algorithm).where('status', '=', 'active'),
      'domain_id',
    ).execute();
  }

  /** Inserts a key of `domain` (already looked up in this scope). */
  async insertDkimKey(domain: Pick<Domain, 'id' | 'tenant_id'>, row: DkimKey): Promise<void> {
    this.guardTenant(domain.tenant_id);
    if (row.domain_id !== domain.id) throw notFound('domain');
    await this.db.insertInto('dkim_keys').values(row).execute();
  }

  async setDkimStatus(ids: string[], status: 'active' | 'published'): Promise<void> {
    if (ids.length) await this.scopedByDomain(this.db.updateTable('dkim_keys').set({ status }).where('id', 'in', ids), 'domain_id').execute();
  }

  async retireDkimKey(id: string, at: number): Promise<void> {
    await this.scopedByDomain(this.db.updateTable('dkim_keys').set({ status: 'retired', retired_at: at }).where('id', '=', id), 'domain_id').execute();
  }

  /** The MTA's read: active keys of an active domain by name, newest first. */
  signingKeyRows(domainName: string): Promise<Array<{ selector: string; algorithm: string; private_key: string }>> {
    const q = this.db
      .selectFrom('dkim_keys')
      .innerJoin('domains', 'domains.id', 'dkim_keys.domain_id')
      .select(['dkim_keys.selector', 'dkim_keys.algorithm', 'dkim_keys.private_key'])
      .where('domains.name', '=', domainName)
      .where('domains.status', '=', 'active')
      .where('dkim_keys.status', '=', 'active');
    return this.scoped(q, 'domains.tenant_id').orderBy('dkim_keys.created_at', 'desc').execute();
  }

  // ---- the MTA's look-ups (serving layer) ----------------------------------------------------

  /** The address and tenant of a mailbox (any status), for the send-as decision. */
  senderMailbox(mailboxId: string): Promise<{ address: string; tenant_id: string } | undefined> {
    return this.scoped(this.db.selectFrom('mailboxes').select(['address', 'tenant_id']).where('id', '=', mailboxId)).executeTakeFirst();
  }

  /** The tenant of an active domain by name. */
  activeDomainTenant(name: string): Promise<{ tenant_id: string } | undefined> {
    return this.scoped(this.db.selectFrom('domains').select('tenant_id').where('name', '=', name).where('status', '=', 'active')).executeTakeFirst();
  }

  /** The targets (JSON text) of an active alias of a tenant. */
  activeAliasTargets(address: string, tenantId: string): Promise<{ targets: string } | undefined> {
    return this.scoped(this.db.selectFrom('aliases').select('targets').where('address', '=', address).where('tenant_id', '=', tenantId).where('status', '=', 'active')).executeTakeFirst();
  }

  /** A domain by name (any status), for route selection. */
  domainByName(name: string): Promise<{ id: string; tenant_id: string } | undefined> {
    return this.scoped(this.db.selectFrom('domains').select(['id', 'tenant_id']).where('name', '=', name)).executeTakeFirst();
  }

  /** The routes that may carry mail of `domain`: its own, its tenant's and the global one. */
  routeCandidates(domain: { id: string; tenant_id: string } | undefined): Promise<OutboundRoute[]> {
    const q = this.db
      .selectFrom('outbound_routes')
      .selectAll()
      .where((eb) =>
        eb.or([
          ...(domain ? [eb('domain_id', '=', domain.id), eb.and([eb('tenant_id', '=', domain.tenant_id), eb('domain_id', 'is', null)])] : []),
          eb.and([eb('tenant_id', 'is', null), eb('domain_id', 'is', null)]),
        ]),
      );
    return this.scoped(q).execute();
  }

  /** The tenants of hosted (not deleted) domain names in this scope, by lower-cased name. */
  async domainTenants(names: string[]): Promise<Map<string, string>> {
    const tenantOf = new Map<string, string>();
    for (let i = 0; i < names.length; i += 500) {
      const rows = await this.scoped(
        this.db
          .selectFrom('domains')
          .select(['name', 'tenant_id'])
          .where('name', 'in', names.slice(i, i + 500))
          .where('status', '!=', 'deleted'),
      ).execute();
      for (const r of rows) tenantOf.set(r.name.toLowerCase(), r.tenant_id);
    }
    return tenantOf;
  }

  // ---- appliance settings (platform-wide) -------------------------------------------------

  /** An appliance-wide setting, stored once by the first node that needs it; the stored value wins a race. */
  async setting(key: string, generate: () => string): Promise<string> {
    if (this.tenantId !== null) throw notFound('setting'); // appliance secrets: platform scope only
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    if (row) return row.value;
    await this.db
      .insertInto('settings')
      .values({ key, value: generate() })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    return (await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow()).value;
  }
}
