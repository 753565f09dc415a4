/**
 * Aliases, and the required role addresses (postmaster@, abuse@, the report address) that are
 * aliases of every hosted domain: where they deliver by default (the tenant's choice, its
 * contact, the operator) and the look-ups that decide it. Every query on `aliases` goes through
 * `scoped()`; the operator's address and "is this host name a hosted domain" are
 * appliance-wide facts (a string or a boolean), never another tenant's row.
 */
import { sql } from 'kysely';
import { notFound } from '../../core/kernel/errors.js';
import type { Alias } from '../tables/control.table.js';
import type { AliasStatus } from '../tables/status.js';
import { Repo } from './base.js';
import { containsPattern, type ListPage } from './mailboxes.js';

export interface AliasFilter {
  domainId?: string;
  /** Substring of the address or of a target. */
  q?: string;
}

export interface NewAlias {
  id: string;
  tenant_id: string;
  domain_id: string;
  local_part: string;
  address: string;
  /** The targets, stored as a JSON array. */
  targets: string[];
  created_by: string | null;
  created_at: number;
}

/** An alias as the role-address code sees it: id, address and parsed targets. */
export interface AliasTargets {
  id: string;
  address: string;
  targets: string[];
}

function withTargets(row: { id: string; address: string; targets: string }): AliasTargets {
  return { id: row.id, address: row.address, targets: JSON.parse(row.targets) as string[] };
}

export class AliasesRepo extends Repo {
  // ---- reads -------------------------------------------------------------------------------

  /** A live alias (not in the recycle bin), or NotFound. */
  async get(id: string): Promise<Alias> {
    const row = await this.scoped(this.db.selectFrom('aliases').selectAll().where('id', '=', id).where('status', '!=', 'deleted')).executeTakeFirst();
    if (!row) throw notFound('alias');
    return row;
  }

  /** A live alias of this scope by address, or undefined. */
  async byAddress(address: string): Promise<Alias | undefined> {
    return this.scoped(this.db.selectFrom('aliases').selectAll().where('address', '=', address).where('status', '!=', 'deleted')).executeTakeFirst();
  }

  /** An active alias of this scope by address (optionally within one domain), or undefined. */
  async activeByAddress(address: string, domainId?: string): Promise<AliasTargets | undefined> {
    let q = this.scoped(this.db.selectFrom('aliases').select(['id', 'address', 'targets']).where('address', '=', address).where('status', '=', 'active'));
    if (domainId) q = q.where('domain_id', '=', domainId);
    const row = await q.executeTakeFirst();
    return row ? withTargets(row) : undefined;
  }

  /** The active aliases of a domain. */
  async activeInDomain(domainId: string): Promise<AliasTargets[]> {
    const rows = await this.scoped(this.db.selectFrom('aliases').select(['id', 'address', 'targets']).where('domain_id', '=', domainId).where('status', '=', 'active')).execute();
    return rows.map(withTargets);
  }

  /** Live aliases of a tenant, optionally of one domain or matching a substring of address or targets. */
  async listInTenant(tenantId: string, filter: AliasFilter, page: ListPage): Promise<Alias[]> {
    let q = this.scoped(this.db.selectFrom('aliases').selectAll().where('tenant_id', '=', tenantId).where('status', '!=', 'deleted'));
    if (filter.domainId) q = q.where('domain_id', '=', filter.domainId);
    if (filter.q) {
      const p = containsPattern(filter.q);
      q = q.where((eb) => eb.or([sql<boolean>`lower(address) like ${p} escape '\\'`, sql<boolean>`lower(targets) like ${p} escape '\\'`]));
    }
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  /** Live aliases of a tenant that deliver to `address`. */
  async targeting(tenantId: string, address: string): Promise<string[]> {
    const rows = await this.scoped(this.db.selectFrom('aliases').select(['address', 'targets']).where('tenant_id', '=', tenantId).where('status', '!=', 'deleted')).execute();
    return rows.filter((a) => (JSON.parse(a.targets) as string[]).includes(address)).map((a) => a.address);
  }

  /** Required aliases migration 0019 created that still have no `alias.create` audit event. */
  async unauditedBackfill(): Promise<Array<{ id: string; tenant_id: string; address: string; targets: string[]; created_at: number }>> {
    const rows = await this.scoped(
      this.db
        .selectFrom('aliases')
        .select(['id', 'tenant_id', 'address', 'targets', 'created_at'])
        .where('created_by', '=', 'system:migration')
        // audit_target_idx (target_type, target_id) answers each lookup: boot stays fast on a long log.
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('audit_events')
                .select('audit_events.id')
                .where('audit_events.target_type', '=', 'alias')
                .whereRef('audit_events.target_id', '=', 'aliases.id')
                .where('audit_events.action', '=', 'alias.create'),
            ),
          ),
        ),
      'aliases.tenant_id',
    ).execute();
    return rows.map((r) => ({ ...r, targets: JSON.parse(r.targets) as string[], created_at: Number(r.created_at) }));
  }

  // ---- writes ------------------------------------------------------------------------------

  async insert(row: NewAlias): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db
      .insertInto('aliases')
      .values({ ...row, targets: JSON.stringify(row.targets), updated_at: row.created_at })
      .execute();
  }

  async update(id: string, set: { targets?: string[]; status?: AliasStatus }, now: number): Promise<void> {
    const values: { targets?: string; status?: AliasStatus; updated_at: number } = { updated_at: now };
    if (set.targets !== undefined) values.targets = JSON.stringify(set.targets);
    if (set.status !== undefined) values.status = set.status;
    await this.scoped(this.db.updateTable('aliases').set(values).where('id', '=', id)).execute();
  }

  async delete(id: string): Promise<void> {
    await this.scoped(this.db.deleteFrom('aliases').where('id', '=', id)).execute();
  }

  // ---- role addresses: where they deliver ----------------------------------------------------

  /** The oldest operator's address (the platform's postmaster), or null: an appliance-wide fact. */
  async operatorAddress(): Promise<string | null> {
    const row = await this.db.selectFrom('principals').select('email').where('tenant_id', 'is', null).where('status', '!=', 'disabled').orderBy('created_at').limit(1).executeTakeFirst();
    return row?.email ?? null;
  }

  /** The tenant's chosen destination of its required addresses (null: the default), or undefined for no such tenant. */
  async tenantRoleMailTo(tenantId: string): Promise<string | null | undefined> {
    const row = await this.scoped(this.db.selectFrom('tenants').select('role_mail_to').where('id', '=', tenantId), 'id').executeTakeFirst();
    return row ? (row.role_mail_to ?? null) : undefined;
  }

  async setTenantRoleMailTo(tenantId: string, target: string | null, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('tenants').set({ role_mail_to: target, updated_at: now }).where('id', '=', tenantId), 'id').execute();
  }

  /** The addresses of a tenant's administrators who are not disabled, oldest first. */
  async tenantAdminEmails(tenantId: string, limit: number): Promise<string[]> {
    const rows = await this.scoped(this.db.selectFrom('principals').select('email').where('tenant_id', '=', tenantId).where('status', '!=', 'disabled'))
      .orderBy('created_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.email);
  }

  /** Active primary (not alias) domains of a tenant. */
  async activePrimaryDomains(tenantId: string): Promise<Array<{ id: string; tenant_id: string; name: string }>> {
    return this.scoped(this.db.selectFrom('domains').select(['id', 'tenant_id', 'name']).where('tenant_id', '=', tenantId).where('status', '=', 'active').where('alias_of', 'is', null)).execute();
  }

  /** One active primary domain of this scope, or undefined. */
  async activePrimaryDomain(domainId: string): Promise<{ id: string; tenant_id: string; name: string } | undefined> {
    return this.scoped(this.db.selectFrom('domains').select(['id', 'tenant_id', 'name']).where('id', '=', domainId).where('status', '=', 'active').where('alias_of', 'is', null)).executeTakeFirst();
  }

  /** The local part a domain's own DMARC/TLS-RPT records publish as report address (default dmarc-reports). */
  async reportLocalPart(domainId: string): Promise<string> {
    const row = await this.scoped(this.db.selectFrom('domain_settings').select('settings').where('domain_id', '=', domainId)).executeTakeFirst();
    const parsed = row ? (JSON.parse(row.settings) as { dmarc?: { reportLocalPart?: string } }) : undefined;
    return parsed?.dmarc?.reportLocalPart ?? 'dmarc-reports';
  }

  /** True when a domain of that name exists in any tenant: an appliance-wide fact. */
  async domainNameHosted(name: string): Promise<boolean> {
    return !!(await this.db.selectFrom('domains').select('id').where('name', '=', name).executeTakeFirst());
  }
}
