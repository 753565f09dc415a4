/**
 * Repositories scoped to what an actor may see. A tenant actor's repository adds
 * `tenant_id = <its tenant>` to every query; a platform actor's sees every tenant. An object
 * outside the scope is simply not found (AppError NotFound → 404), so another tenant's ids are
 * indistinguishable from ids that never existed. Core services obtain a repository with
 * `scopedRepo(db, actor)`; routes and protocol handlers never touch repositories.
 *
 * `Directory` holds the few unscoped look-ups the core needs for appliance-wide rules (an
 * address or a domain name is unique across tenants); it returns facts, never rows.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.js';
import type { Alias, ApiToken, Domain, Mailbox, Tenant } from './tables/control.table.js';
import type { Principal } from './tables/principals.table.js';
import { type Actor, scopeOf } from '../core/kernel/authz.js';
import type { Scope } from '../core/kernel/scope.js';

export type { Scope } from '../core/kernel/scope.js';
export { scopeOf } from '../core/kernel/authz.js';
import { AppError, notFound } from '../core/kernel/errors.js';

export interface ListPage {
  limit: number;
  /** Return rows whose id sorts after this one (keyset pagination). */
  after?: string | null;
}

/** Filters of the tenant-wide mailbox list. */
export interface MailboxFilter {
  domainId?: string;
  status?: string;
  isRole?: boolean;
  /** Substring of the address, display name or owner (name or email), case-insensitive. */
  q?: string;
}

export interface AliasFilter {
  domainId?: string;
  /** Substring of the address or of a target. */
  q?: string;
}

export interface DomainFilter {
  status?: string;
  verification?: string;
  /** Only domain aliases (true) or only primary domains (false). */
  isAlias?: boolean;
  q?: string;
}

/** A LIKE pattern matching `text` anywhere, with LIKE's wildcards escaped (ESCAPE '\\'). */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export class ScopedRepo {
  constructor(
    readonly db: Kysely<DB>,
    readonly scope: Scope,
  ) {}

  /** The tenant id filter; `column` is named explicitly so every query shows it. */
  private get t(): string | null {
    return this.scope.tenantId;
  }

  async tenant(id: string): Promise<Tenant> {
    let q = this.db.selectFrom('tenants').selectAll().where('id', '=', id).where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('id', '=', this.t);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('tenant');
    return row;
  }

  async listTenants(page: ListPage, filter: { q?: string } = {}): Promise<Tenant[]> {
    let q = this.db.selectFrom('tenants').selectAll().where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('id', '=', this.t);
    if (filter.q) q = q.where(sql<boolean>`lower(name) like ${containsPattern(filter.q)} escape '\\'`);
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  async listTenantMailboxes(tenantId: string, filter: MailboxFilter, page: ListPage): Promise<Mailbox[]> {
    let q = this.db.selectFrom('mailboxes').selectAll().where('tenant_id', '=', tenantId).where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    if (filter.domainId) q = q.where('domain_id', '=', filter.domainId);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.isRole !== undefined) q = q.where('is_role', '=', filter.isRole ? 1 : 0);
    if (filter.q) {
      const p = containsPattern(filter.q);
      q = q.where((eb) =>
        eb.or([
          sql<boolean>`lower(address) like ${p} escape '\\'`,
          sql<boolean>`lower(coalesce(display_name, '')) like ${p} escape '\\'`,
          sql<boolean>`lower(owner_name) like ${p} escape '\\'`,
          sql<boolean>`lower(owner_email) like ${p} escape '\\'`,
        ]),
      );
    }
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  async listTenantAliases(tenantId: string, filter: AliasFilter, page: ListPage): Promise<Alias[]> {
    let q = this.db.selectFrom('aliases').selectAll().where('tenant_id', '=', tenantId).where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    if (filter.domainId) q = q.where('domain_id', '=', filter.domainId);
    if (filter.q) {
      const p = containsPattern(filter.q);
      q = q.where((eb) => eb.or([sql<boolean>`lower(address) like ${p} escape '\\'`, sql<boolean>`lower(targets) like ${p} escape '\\'`]));
    }
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  /** A mailbox in the recycle bin (status deleted, not yet purged). */
  async deletedMailbox(id: string): Promise<Mailbox> {
    let q = this.db.selectFrom('mailboxes').selectAll().where('id', '=', id).where('status', '=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('deleted mailbox');
    return row;
  }

  async deletedDomain(id: string): Promise<Domain> {
    let q = this.db.selectFrom('domains').selectAll().where('id', '=', id).where('status', '=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('deleted domain');
    return row;
  }

  /** The recycle bin of a tenant: deleted mailboxes (not deleted with their domain) and domains. */
  async recycleBin(tenantId: string): Promise<{ mailboxes: Mailbox[]; domains: Domain[] }> {
    let mq = this.db.selectFrom('mailboxes').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'deleted').where('deleted_with', 'is', null);
    let dq = this.db.selectFrom('domains').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'deleted');
    if (this.t !== null) {
      mq = mq.where('tenant_id', '=', this.t);
      dq = dq.where('tenant_id', '=', this.t);
    }
    return { mailboxes: await mq.orderBy('deleted_at').limit(1000).execute(), domains: await dq.orderBy('deleted_at').limit(1000).execute() };
  }

  async principal(id: string): Promise<Principal> {
    let q = this.db.selectFrom('principals').selectAll().where('id', '=', id);
    // A tenant actor sees its tenant's principals only, never operators.
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('principal');
    return row;
  }

  async listPrincipals(tenantId: string | null, page: ListPage, filter: { status?: string; q?: string } = {}): Promise<Principal[]> {
    let q = this.db.selectFrom('principals').selectAll();
    q = tenantId === null ? q.where('tenant_id', 'is', null) : q.where('tenant_id', '=', tenantId);
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.q) {
      const p = containsPattern(filter.q);
      q = q.where((eb) => eb.or([sql<boolean>`lower(name) like ${p} escape '\\'`, sql<boolean>`lower(email) like ${p} escape '\\'`]));
    }
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  async domain(id: string): Promise<Domain> {
    let q = this.db.selectFrom('domains').selectAll().where('id', '=', id).where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('domain');
    return row;
  }

  async listDomains(tenantId: string, page: ListPage, filter: DomainFilter = {}): Promise<Domain[]> {
    let q = this.db.selectFrom('domains').selectAll().where('tenant_id', '=', tenantId).where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.verification) q = q.where('verification', '=', filter.verification);
    if (filter.isAlias !== undefined) q = q.where('alias_of', filter.isAlias ? 'is not' : 'is', null);
    if (filter.q) q = q.where(sql<boolean>`lower(name) like ${containsPattern(filter.q)} escape '\\'`);
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  async mailbox(id: string): Promise<Mailbox> {
    let q = this.db.selectFrom('mailboxes').selectAll().where('id', '=', id).where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('mailbox');
    return row;
  }

  /** A mailbox of this scope by address, or undefined. */
  async mailboxByAddress(address: string): Promise<Mailbox | undefined> {
    let q = this.db.selectFrom('mailboxes').selectAll().where('address', '=', address).where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    return q.executeTakeFirst();
  }

  async listMailboxes(domainId: string, page: ListPage, filter: MailboxFilter = {}): Promise<Mailbox[]> {
    let q = this.db.selectFrom('mailboxes').selectAll().where('domain_id', '=', domainId).where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.isRole !== undefined) q = q.where('is_role', '=', filter.isRole ? 1 : 0);
    if (filter.q) q = q.where(sql<boolean>`lower(address) like ${containsPattern(filter.q)} escape '\\'`);
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  async alias(id: string): Promise<Alias> {
    let q = this.db.selectFrom('aliases').selectAll().where('id', '=', id).where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('alias');
    return row;
  }

  async aliasByAddress(address: string): Promise<Alias | undefined> {
    let q = this.db.selectFrom('aliases').selectAll().where('address', '=', address).where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    return q.executeTakeFirst();
  }

  async listAliases(domainId: string, page: ListPage): Promise<Alias[]> {
    let q = this.db.selectFrom('aliases').selectAll().where('domain_id', '=', domainId).where('status', '!=', 'deleted');
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }

  async apiToken(id: string): Promise<ApiToken> {
    let q = this.db.selectFrom('api_tokens').selectAll().where('id', '=', id);
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('token');
    return row;
  }

  /** `active`: true → neither revoked nor expired at `now`; false → revoked or expired. */
  async listApiTokens(tenantId: string | null, page: ListPage, filter: { active?: boolean; q?: string; now?: number } = {}): Promise<ApiToken[]> {
    let q = this.db.selectFrom('api_tokens').selectAll();
    q = tenantId === null ? q.where('tenant_id', 'is', null) : q.where('tenant_id', '=', tenantId);
    if (this.t !== null) q = q.where('tenant_id', '=', this.t);
    if (filter.q) q = q.where(sql<boolean>`lower(name) like ${containsPattern(filter.q)} escape '\\'`);
    if (filter.active !== undefined) {
      const now = filter.now ?? Date.now();
      q = filter.active
        ? q.where((eb) => eb.and([eb('revoked_at', 'is', null), eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])]))
        : q.where((eb) => eb.or([eb('revoked_at', 'is not', null), eb('expires_at', '<=', now)]));
    }
    if (page.after) q = q.where('id', '>', page.after);
    return q.orderBy('id').limit(page.limit).execute();
  }
}

export function scopedRepo(db: Kysely<DB>, actor: Actor): ScopedRepo {
  return new ScopedRepo(db, scopeOf(actor));
}

/** Appliance-wide facts that cross tenants. Returns booleans and ids of the caller's own rows only. */
export class Directory {
  constructor(readonly db: Kysely<DB>) {}

  /** True when a live mailbox or alias already uses the address (in any tenant). */
  async addressTaken(address: string): Promise<boolean> {
    const mb = await this.db.selectFrom('mailboxes').select('id').where('address', '=', address).executeTakeFirst();
    if (mb) return true;
    const al = await this.db.selectFrom('aliases').select('id').where('address', '=', address).executeTakeFirst();
    return !!al;
  }

  async domainNameTaken(name: string): Promise<boolean> {
    const row = await this.db.selectFrom('domains').select('id').where('name', '=', name).executeTakeFirst();
    return !!row;
  }

  async tenantNameTaken(name: string): Promise<boolean> {
    const row = await this.db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirst();
    return !!row;
  }

  /**
   * A hosted domain name: its tenant and, for a domain alias, the name of its primary domain
   * (where its addresses live). null when the appliance does not host it.
   */
  async hostedDomain(name: string): Promise<{ tenantId: string; primaryName: string } | null> {
    const row = await this.db.selectFrom('domains').select(['tenant_id', 'alias_of']).where('name', '=', name).where('status', '!=', 'deleted').executeTakeFirst();
    if (!row) return null;
    if (!row.alias_of) return { tenantId: row.tenant_id, primaryName: name };
    const primary = await this.db.selectFrom('domains').select('name').where('id', '=', row.alias_of).where('tenant_id', '=', row.tenant_id).executeTakeFirst();
    return { tenantId: row.tenant_id, primaryName: primary?.name ?? name };
  }

  /** The tenant hosting a domain name, or null when the appliance does not host it. */
  async domainTenant(name: string): Promise<string | null> {
    const row = await this.db.selectFrom('domains').select('tenant_id').where('name', '=', name).where('status', '!=', 'deleted').executeTakeFirst();
    return row?.tenant_id ?? null;
  }
}
