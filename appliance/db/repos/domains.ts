/**
 * Hosted domains of a tenant. Every query is scoped by `tenant_id`; name uniqueness and "is this
 * name hosted here" are appliance-wide facts (booleans). Also the reads on a domain's mailboxes
 * and aliases that domain rules need (an alias domain holds no addresses of its own).
 */
import { sql } from 'kysely';
import { notFound } from '../../core/kernel/errors.js';
import type { Domain } from '../tables/control.table.js';
import { Repo } from './base.js';
import { containsPattern, type ListPage } from './tenants.js';
import type { DomainStatus } from '../tables/status.js';

export interface DomainFilter {
  status?: DomainStatus;
  verification?: string;
  /** Only domain aliases (true) or only primary domains (false). */
  isAlias?: boolean;
  q?: string;
}

export interface NewDomain {
  id: string;
  tenant_id: string;
  name: string;
  alias_of: string | null;
  now: number;
}

export class DomainsRepo extends Repo {
  /** A live domain of this scope, or NotFound. */
  async get(id: string): Promise<Domain> {
    const row = await this.scoped(this.db.selectFrom('domains').selectAll().where('id', '=', id).where('status', '!=', 'deleted')).executeTakeFirst();
    if (!row) throw notFound('domain');
    return row;
  }

  async list(tenantId: string, page: ListPage, filter: DomainFilter = {}): Promise<Domain[]> {
    let q = this.scoped(this.db.selectFrom('domains').selectAll().where('tenant_id', '=', tenantId).where('status', '!=', 'deleted'));
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.verification) q = q.where('verification', '=', filter.verification);
    if (filter.isAlias !== undefined) q = q.where('alias_of', filter.isAlias ? 'is not' : 'is', null);
    if (filter.q) q = q.where(sql<boolean>`lower(name) like ${containsPattern(filter.q)} escape '\\'`);
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  /** Every live domain of a tenant, in pages of `size` (drift reports, template roll-outs). */
  async *eachOfTenant(tenantId: string, size = 500): AsyncGenerator<Domain> {
    let after: string | null = null;
    for (;;) {
      const page = await this.list(tenantId, { limit: size, after });
      yield* page;
      if (page.length < size) return;
      after = page[page.length - 1]!.id;
    }
  }

  /** The active domains of a tenant (bulk planning): name, verification, alias target. */
  async activeOfTenant(tenantId: string): Promise<Array<Pick<Domain, 'id' | 'name' | 'verification' | 'alias_of'>>> {
    return this.scoped(this.db.selectFrom('domains').select(['id', 'name', 'verification', 'alias_of']).where('tenant_id', '=', tenantId).where('status', '=', 'active')).execute();
  }

  /** Active domains of this scope (the DNS scheduler). */
  async listActive(): Promise<Domain[]> {
    return this.scoped(this.db.selectFrom('domains').selectAll().where('status', '=', 'active')).execute();
  }

  async countActive(): Promise<number> {
    const row = await this.scoped(
      this.db
        .selectFrom('domains')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('status', '=', 'active'),
    ).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Active primary domains (not aliases) of this scope: DKIM rotation. */
  async activePrimary(): Promise<Array<Pick<Domain, 'id' | 'name'>>> {
    return this.scoped(this.db.selectFrom('domains').select(['id', 'name']).where('status', '=', 'active').where('alias_of', 'is', null)).execute();
  }

  /** The id of the active domain of this scope with this name, or undefined. */
  async activeIdByName(name: string): Promise<string | undefined> {
    return (await this.scoped(this.db.selectFrom('domains').select('id').where('name', '=', name).where('status', '=', 'active')).executeTakeFirst())?.id;
  }

  /** True when any tenant has (or had, deleted domains included) a domain of this name. */
  async nameTaken(name: string): Promise<boolean> {
    return !!(await this.db.selectFrom('domains').select('id').where('name', '=', name).executeTakeFirst());
  }

  /** True when the appliance hosts this domain name (any tenant, live). */
  async isHosted(name: string): Promise<boolean> {
    return !!(await this.db.selectFrom('domains').select('id').where('name', '=', name).where('status', '!=', 'deleted').executeTakeFirst());
  }

  /** The name of a live domain that is an alias of `domainId`, if any. */
  async aliasPointingAt(domainId: string): Promise<string | undefined> {
    return (await this.scoped(this.db.selectFrom('domains').select('name').where('alias_of', '=', domainId).where('status', '!=', 'deleted')).executeTakeFirst())?.name;
  }

  /** One live mailbox or alias address in the domain, if it has any. */
  async firstOwnAddress(domainId: string): Promise<string | undefined> {
    const mb = await this.scoped(this.db.selectFrom('mailboxes').select('address').where('domain_id', '=', domainId).where('status', '!=', 'deleted')).executeTakeFirst();
    if (mb) return mb.address;
    return (await this.scoped(this.db.selectFrom('aliases').select('address').where('domain_id', '=', domainId).where('status', '!=', 'deleted')).executeTakeFirst())?.address;
  }

  /** The domain's catch-all target as stored now (read again inside a transaction). */
  async catchAll(id: string): Promise<string | null> {
    const row = await this.scoped(this.db.selectFrom('domains').select('catch_all').where('id', '=', id)).executeTakeFirst();
    if (!row) throw notFound('domain');
    return row.catch_all;
  }

  async insert(row: NewDomain): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('domains').values({ id: row.id, tenant_id: row.tenant_id, name: row.name, catch_all: null, alias_of: row.alias_of, created_at: row.now, updated_at: row.now }).execute();
  }

  async setAliasOf(id: string, aliasOf: string | null, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('domains').set({ alias_of: aliasOf, updated_at: now }).where('id', '=', id)).execute();
  }

  async setCatchAll(id: string, address: string | null, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('domains').set({ catch_all: address, updated_at: now }).where('id', '=', id)).execute();
  }

  async markVerified(id: string, now: number): Promise<void> {
    await this.scoped(this.db.updateTable('domains').set({ verification: 'verified', updated_at: now }).where('id', '=', id)).execute();
  }
}
