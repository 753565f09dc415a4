/**
 * Mailboxes: the ownership record, status moves of the lifecycle, credential revocation and the
 * serving layer's credential look-ups. Every query on `mailboxes` goes through `scoped()`, so a
 * tenant scope never reads or changes another tenant's mailbox. The few look-ups on parents
 * (domain, tenant) and neighbours (web sessions, app passwords, forwards, the audit event a
 * rollback reads) that mailbox use cases need live here under their own names until their
 * aggregates' repositories take them over.
 */
import { type Compilable, type ExpressionBuilder, type SelectQueryBuilder, sql } from 'kysely';
import type { DB } from '../schema.js';
import { notFound } from '../../core/kernel/errors.js';
import type { Mailbox, NewMailbox } from '../tables/control.table.js';
import type { Forward } from '../tables/sending.table.js';
import type { MailboxStatus } from '../tables/status.js';
import { containsPattern, type ListPage, Repo } from './base.js';
import { preparedRows } from './prepared.js';

export { containsPattern, type ListPage } from './base.js';

/** Filters of the mailbox lists. */
export interface MailboxFilter {
  domainId?: string;
  status?: string;
  isRole?: boolean;
  /** Substring of the address, display name or owner (name or email), case-insensitive. */
  q?: string;
  /** Order of the list (default: id); `-` descending. Paging with `after` (an id) follows it. */
  sort?: MailboxSort;
}

export const MAILBOX_SORTS = ['address', '-address', 'createdAt', '-createdAt'] as const;
export type MailboxSort = (typeof MAILBOX_SORTS)[number];

/** The settings columns a change may write (status moves have their own methods). */
export interface MailboxSettingsSet {
  display_name?: string | null;
  quota_bytes?: number;
  is_role?: number;
  owner_name?: string;
  owner_email?: string;
  business_owner_name?: string | null;
  business_owner_email?: string | null;
  reset_destination?: string;
}

/** What a login needs of a mailbox. */
export type LoginMailbox = Pick<Mailbox, 'id' | 'tenant_id' | 'address' | 'status' | 'password_hash' | 'credential_version'>;

type ListQuery = SelectQueryBuilder<DB, 'mailboxes', Mailbox>;

/** The columns a list shows (mailboxView): a page reads and copies these only, not the credentials and bookkeeping. */
export const MAILBOX_VIEW_COLUMNS = [
  'id',
  'tenant_id',
  'domain_id',
  'address',
  'display_name',
  'status',
  'quota_bytes',
  'used_bytes',
  'message_count',
  'is_role',
  'owner_name',
  'owner_email',
  'business_owner_name',
  'business_owner_email',
  'reset_destination',
  'created_at',
  'updated_at',
] as const;
export type MailboxViewRow = Pick<Mailbox, (typeof MAILBOX_VIEW_COLUMNS)[number]>;

/** Which columns a list answers: every one, or those of the view. */
type ListColumns = 'all' | 'view';

function run(q: ListQuery, columns: ListColumns): Promise<MailboxViewRow[]> {
  return columns === 'view' ? q.clearSelect().select(MAILBOX_VIEW_COLUMNS).execute() : q.execute();
}

/** Rows of a sorted list's order the search looks at first, before it walks the search index. */
const SEARCH_LEADING_ROWS = 500;

/** Joins the searched fields in SEARCH_TEXT (a needle holding it is matched field by field). */
const SEARCH_SEPARATOR = '\u001f';

/**
 * The searched fields as one lower-cased text: the expression migration 0060 indexes, written
 * identically (SQLite uses an expression index only for the same expression).
 */
const SEARCH_TEXT = sql<string>`(lower("address") || '\u001f' || lower(coalesce("display_name", '')) || '\u001f' || lower("owner_name") || '\u001f' || lower("owner_email"))`;

/** A list query in the order `sort` names (default: id). */
function sortedBy(q: ListQuery, sort: MailboxSort | undefined): ListQuery {
  if (!sort) return q.orderBy('id');
  const dir = sort.startsWith('-') ? 'desc' : 'asc';
  return sort.endsWith('address') ? q.orderBy('address', dir) : q.orderBy('created_at', dir).orderBy('id', dir);
}

export class MailboxesRepo extends Repo {
  // ---- reads -------------------------------------------------------------------------------

  /** A live mailbox (not in the recycle bin), or NotFound. */
  async get(id: string): Promise<Mailbox> {
    const row = await this.find(id);
    if (!row || row.status === 'deleted') throw notFound('mailbox');
    return row;
  }

  /** A mailbox in any status (the recycle bin's included), or undefined. */
  async find(id: string): Promise<Mailbox | undefined> {
    // compiled once per scope (prepared.ts): the ownership answer and every mailbox route start here
    const rows = await preparedRows(this.db, 'mailboxes.find', this.tenantId, [id] as const, (mailboxId) => this.scoped(this.db.selectFrom('mailboxes').selectAll().where('id', '=', mailboxId)));
    return rows[0];
  }

  /** A mailbox in the recycle bin (status deleted, not yet purged), or NotFound. */
  async getDeleted(id: string): Promise<Mailbox> {
    const row = await this.scoped(this.db.selectFrom('mailboxes').selectAll().where('id', '=', id).where('status', '=', 'deleted')).executeTakeFirst();
    if (!row) throw notFound('deleted mailbox');
    return row;
  }

  /** A live mailbox of this scope by address, or undefined. */
  async byAddress(address: string): Promise<Mailbox | undefined> {
    return this.scoped(this.db.selectFrom('mailboxes').selectAll().where('address', '=', address).where('status', '!=', 'deleted')).executeTakeFirst();
  }

  /** A mailbox of the scope by address in any status (the recycle bin included), or undefined. */
  async findByAddress(address: string): Promise<Mailbox | undefined> {
    return this.scoped(this.db.selectFrom('mailboxes').selectAll().where('address', '=', address)).executeTakeFirst();
  }

  async listInDomain(domainId: string, page: ListPage, filter: MailboxFilter = {}): Promise<MailboxViewRow[]> {
    let q = this.scoped(this.db.selectFrom('mailboxes').selectAll().where('domain_id', '=', domainId).where('status', '!=', 'deleted'));
    if (filter.status) q = q.where('status', '=', filter.status as MailboxStatus);
    if (filter.isRole !== undefined) q = q.where('is_role', '=', filter.isRole ? 1 : 0);
    if (filter.q) q = q.where(sql<boolean>`lower(address) like ${containsPattern(filter.q)} escape '\\'`);
    return run(await this.ordered(q, filter.sort, page), 'view');
  }

  /** A page of a tenant's mailboxes, every column (exports). */
  async listInTenant(tenantId: string, filter: MailboxFilter, page: ListPage): Promise<Mailbox[]> {
    return (await this.tenantPage(tenantId, filter, page, 'all')) as Mailbox[];
  }

  /** A page of a tenant's mailboxes, the columns of the view (the API's list). */
  async viewsInTenant(tenantId: string, filter: MailboxFilter, page: ListPage): Promise<MailboxViewRow[]> {
    return this.tenantPage(tenantId, filter, page, 'view');
  }

  private async tenantPage(tenantId: string, filter: MailboxFilter, page: ListPage, columns: ListColumns): Promise<MailboxViewRow[]> {
    // the common pages (first, filtered, sorted; default order's next pages) as prepared reads
    if (!filter.q && !(page.after && filter.sort)) return this.preparedTenantPage(tenantId, filter, page, columns);
    let q = this.scoped(this.db.selectFrom('mailboxes').selectAll().where('tenant_id', '=', tenantId).where('status', '!=', 'deleted'));
    if (filter.domainId) q = q.where('domain_id', '=', filter.domainId);
    if (filter.status) q = q.where('status', '=', filter.status as MailboxStatus);
    if (filter.isRole !== undefined) q = q.where('is_role', '=', filter.isRole ? 1 : 0);
    if (filter.q) return this.searched(q, filter.q, filter.sort, page, columns);
    return run(await this.ordered(q, filter.sort, page), columns);
  }

  /**
   * A page without search and without a sort key to look up first (its query is one shape per
   * set of filters, sort and columns), compiled once per shape and scope (prepared.ts): the
   * same query as `ordered` builds.
   */
  private preparedTenantPage(tenantId: string, filter: MailboxFilter, page: ListPage, columns: ListColumns): Promise<MailboxViewRow[]> {
    const args: Array<string | number> = [tenantId];
    let shape = '';
    const add = (flag: string, value: string | number) => {
      args.push(value);
      shape += flag;
    };
    if (filter.domainId) add('d', filter.domainId);
    if (filter.status) add('s', filter.status);
    if (filter.isRole !== undefined) add('r', filter.isRole ? 1 : 0);
    if (page.after) add('a', page.after);
    args.push(page.limit);
    const key = `mailboxes.tenantPage:${shape}:${filter.sort ?? ''}:${columns}`;
    return preparedRows(this.db, key, this.tenantId, args, (...v) => {
      let i = 0;
      const next = () => v[i++]!;
      let q: ListQuery = this.scoped(
        this.db
          .selectFrom('mailboxes')
          .selectAll()
          .where('tenant_id', '=', next() as string)
          .where('status', '!=', 'deleted'),
      );
      if (filter.domainId) q = q.where('domain_id', '=', next() as string);
      if (filter.status) q = q.where('status', '=', next() as MailboxStatus);
      if (filter.isRole !== undefined) q = q.where('is_role', '=', next() as number);
      if (page.after) q = q.where('id', '>', next() as string);
      q = sortedBy(q, filter.sort).limit(next() as number);
      // one shape per key: the columns are part of it (the rows' type is the view's either way)
      return (columns === 'view' ? q.clearSelect().select(MAILBOX_VIEW_COLUMNS) : q) as Compilable<MailboxViewRow>;
    });
  }

  /**
   * The search (a substring of the address, display name or owner, case-insensitive). The four
   * fields are one lower-cased text in an index (migration 0060, `SEARCH_TEXT`): in the list's
   * default order the page is a walk of that index alone that stops after `limit` matches, then
   * the page's rows by id. A sorted list looks at the leading rows of its order first (a common
   * needle fills the page there, and those rows sort before all others, so it is the page), else
   * sorts the matches the index walk finds. A needle holding the fields' separator is matched
   * field by field (the old scan). (A trigram index kept by triggers cost bulk creation about
   * 0.4 ms a mailbox, 10,000 mailboxes 4 s more: taken out.)
   */
  private async searched(q: ListQuery, text: string, sort: MailboxSort | undefined, page: ListPage, columns: ListColumns): Promise<MailboxViewRow[]> {
    const p = containsPattern(text);
    if (text.includes(SEARCH_SEPARATOR)) return this.searchedByField(q, p, sort, page, columns);
    const matches = sql<boolean>`${SEARCH_TEXT} like ${p} escape '\\'`;
    const rowsOf = (ids: SelectQueryBuilder<DB, 'mailboxes', { id: string }>) => this.scoped(this.db.selectFrom('mailboxes').selectAll().where('id', 'in', ids));
    if (!sort) {
      const ids = (await this.ordered(q.where(matches), undefined, page)).clearSelect().select('id');
      return run(rowsOf(ids).orderBy('id'), columns);
    }
    const leading = await this.ordered(q, sort, { ...page, limit: SEARCH_LEADING_ROWS });
    const first = await run(sortedBy(this.db.selectFrom(leading.as('mailboxes')).selectAll().where(matches), sort).limit(page.limit), columns);
    if (first.length === page.limit) return first;
    return run(await this.ordered(rowsOf(q.where(matches).clearSelect().select('id')), sort, page), columns);
  }

  /** The search field by field, every row of the list (a needle holding SEARCH_SEPARATOR). */
  private async searchedByField(q: ListQuery, p: string, sort: MailboxSort | undefined, page: ListPage, columns: ListColumns): Promise<MailboxViewRow[]> {
    const matches = (eb: ExpressionBuilder<DB, 'mailboxes'>) =>
      eb.or([
        sql<boolean>`lower(address) like ${p} escape '\\'`,
        sql<boolean>`lower(coalesce(display_name, '')) like ${p} escape '\\'`,
        sql<boolean>`lower(owner_name) like ${p} escape '\\'`,
        sql<boolean>`lower(owner_email) like ${p} escape '\\'`,
      ]);
    return run(await this.ordered(q.where(matches), sort, page), columns);
  }

  /**
   * A page of a list in the given order: keyset paging from the row `page.after` names (its sort
   * key read once, by id), so a page is an index walk that stops after `limit` rows (migration
   * 0045), whatever the page number. An `after` that names no row of the scope starts over.
   */
  private async ordered(q: ListQuery, sort: MailboxSort | undefined, page: ListPage): Promise<ListQuery> {
    if (!sort) {
      if (page.after) q = q.where('id', '>', page.after);
      return q.orderBy('id').limit(page.limit);
    }
    const desc = sort.startsWith('-');
    const col = sort.endsWith('address') ? 'address' : 'created_at';
    const cmp = desc ? '<' : '>';
    if (page.after) {
      const from = await this.scoped(this.db.selectFrom('mailboxes').select(['address', 'created_at']).where('id', '=', page.after)).executeTakeFirst();
      if (from && col === 'address') q = q.where('address', cmp, from.address);
      else if (from) {
        const at = from.created_at;
        const after = page.after;
        q = q.where((eb) => eb.or([eb('created_at', cmp, at), eb.and([eb('created_at', '=', at), eb('id', cmp, after)])]));
      }
    }
    return sortedBy(q, sort).limit(page.limit);
  }

  /** Live mailboxes of a tenant whose reset destination is `address` (at most `limit`). */
  async resetDependents(tenantId: string, address: string, limit = 1000): Promise<string[]> {
    const rows = await this.scoped(this.db.selectFrom('mailboxes').select('address').where('tenant_id', '=', tenantId).where('reset_destination', '=', address).where('status', '!=', 'deleted'))
      .limit(limit)
      .execute();
    return rows.map((r) => r.address);
  }

  /** The quota allocated to and used by a tenant's mailboxes (the recycle bin's included), optionally without one. */
  async quotaTotals(tenantId: string, exceptMailboxId?: string): Promise<{ allocated: number; used: number }> {
    let q = this.scoped(
      this.db
        .selectFrom('mailboxes')
        .select((eb) => [eb.fn.coalesce(eb.fn.sum<number>('quota_bytes'), eb.lit(0)).as('allocated'), eb.fn.coalesce(eb.fn.sum<number>('used_bytes'), eb.lit(0)).as('used')])
        .where('tenant_id', '=', tenantId),
    );
    if (exceptMailboxId) q = q.where('id', '!=', exceptMailboxId);
    const row = await q.executeTakeFirstOrThrow();
    return { allocated: Number(row.allocated), used: Number(row.used) };
  }

  /**
   * True when a mailbox or alias already uses the address, in ANY tenant: addresses are unique
   * across the appliance. Returns a fact, never another tenant's row.
   */
  async addressTaken(address: string): Promise<boolean> {
    const mb = await this.db.selectFrom('mailboxes').select('id').where('address', '=', address).executeTakeFirst();
    if (mb) return true;
    const al = await this.db.selectFrom('aliases').select('id').where('address', '=', address).executeTakeFirst();
    return !!al;
  }

  // ---- parents (until the domains and tenants repositories take them over) -------------------

  /** A tenant's quota pool (null: no pool, or no such tenant in this scope). */
  async tenantPool(tenantId: string): Promise<number | null> {
    const row = await this.scoped(this.db.selectFrom('tenants').select('quota_bytes').where('id', '=', tenantId), 'id').executeTakeFirst();
    const pool = row?.quota_bytes;
    return pool === null || pool === undefined ? null : Number(pool);
  }

  /**
   * A hosted domain name: its tenant and, for a domain alias, the name of its primary domain
   * (where its addresses live). null when the appliance does not host it. An appliance-wide
   * fact (where an address belongs), never another tenant's row.
   */
  async hostedDomain(name: string): Promise<{ tenantId: string; primaryName: string } | null> {
    const row = await this.db.selectFrom('domains').select(['tenant_id', 'alias_of']).where('name', '=', name).where('status', '!=', 'deleted').executeTakeFirst();
    if (!row) return null;
    if (!row.alias_of) return { tenantId: row.tenant_id, primaryName: name };
    const primary = await this.db.selectFrom('domains').select('name').where('id', '=', row.alias_of).where('tenant_id', '=', row.tenant_id).executeTakeFirst();
    return { tenantId: row.tenant_id, primaryName: primary?.name ?? name };
  }

  /** The name of an active hosted domain of this scope, or undefined (mail client settings). */
  async activeDomainName(name: string): Promise<string | undefined> {
    const row = await this.scoped(this.db.selectFrom('domains').select('name').where('name', '=', name).where('status', '=', 'active')).executeTakeFirst();
    return row?.name;
  }

  /** The recorded `before` of one audit event of a mailbox (what a rollback restores), or undefined. */
  async auditEventOf(mailbox: { id: string; tenant_id: string }, eventId: number): Promise<{ id: number; action: string; before: string | null } | undefined> {
    return this.scoped(
      this.db
        .selectFrom('audit_events')
        .select(['id', 'action', 'before'])
        .where('id', '=', eventId)
        .where('target_type', '=', 'mailbox')
        .where('target_id', '=', mailbox.id)
        .where('tenant_id', '=', mailbox.tenant_id),
    ).executeTakeFirst();
  }

  /** The live forwards of a mailbox (an owner's view), oldest first. */
  async forwardsOf(mailbox: { id: string; tenant_id: string }): Promise<Forward[]> {
    return this.scoped(this.db.selectFrom('forwards').selectAll().where('mailbox_id', '=', mailbox.id).where('tenant_id', '=', mailbox.tenant_id).where('status', '!=', 'removed'))
      .orderBy('created_at')
      .execute();
  }

  /** One live forward of a mailbox, or undefined. */
  async forwardOf(mailbox: { id: string; tenant_id: string }, forwardId: string): Promise<Forward | undefined> {
    return this.scoped(
      this.db.selectFrom('forwards').selectAll().where('id', '=', forwardId).where('mailbox_id', '=', mailbox.id).where('tenant_id', '=', mailbox.tenant_id).where('status', '!=', 'removed'),
    ).executeTakeFirst();
  }

  /** Offboarded mailboxes whose retention date has passed (applied, not undone, not yet deleted). */
  async retentionDue(now: number): Promise<string[]> {
    const rows = await this.scoped(
      this.db
        .selectFrom('offboardings')
        .innerJoin('mailboxes', 'mailboxes.id', 'offboardings.mailbox_id')
        .select(['offboardings.mailbox_id as mailboxId'])
        .where('offboardings.status', '=', 'applied')
        .where('offboardings.undone_at', 'is', null)
        .where('offboardings.retain_until', 'is not', null)
        .where('offboardings.retain_until', '<=', now)
        .where('mailboxes.status', '!=', 'deleted'),
      'mailboxes.tenant_id',
    ).execute();
    return rows.map((r) => r.mailboxId);
  }

  // ---- writes ------------------------------------------------------------------------------

  async insert(row: NewMailbox): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db.insertInto('mailboxes').values(row).execute();
  }

  /** Moves a mailbox from `from` to `to` if it is still in `from` (false when it changed meanwhile). */
  async setStatus(id: string, from: MailboxStatus, to: MailboxStatus, now: number): Promise<boolean> {
    const res = await this.scoped(this.db.updateTable('mailboxes').set({ status: to, updated_at: now }).where('id', '=', id).where('status', '=', from)).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Stores the owner's first (or new) password from a setup link, with the status it leads to; bumps the credential version. */
  async setPassword(id: string, passwordHash: string, status: MailboxStatus, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('mailboxes')
        .set((eb) => ({ password_hash: passwordHash, status, credential_version: eb('credential_version', '+', 1), updated_at: now }))
        .where('id', '=', id),
    ).execute();
  }

  /** Writes settings if the mailbox is unchanged since `seenUpdatedAt` (false otherwise); `revoke` bumps the credential version too. */
  async updateSettings(id: string, seenUpdatedAt: number, set: MailboxSettingsSet, now: number, revoke: boolean): Promise<boolean> {
    const res = await this.scoped(
      this.db
        .updateTable('mailboxes')
        .set((eb) => (revoke ? { ...set, updated_at: now, credential_version: eb('credential_version', '+', 1) } : { ...set, updated_at: now }))
        .where('id', '=', id)
        .where('updated_at', '=', seenUpdatedAt),
    ).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Soft delete: into the recycle bin from `from` (false when it changed meanwhile); `deletedWith` names the domain deleted along. */
  async softDelete(id: string, from: MailboxStatus, now: number, purgeAfter: number, deletedWith: string | null): Promise<boolean> {
    const res = await this.scoped(
      this.db
        .updateTable('mailboxes')
        .set({ status: 'deleted', status_before_delete: from, deleted_at: now, purge_after: purgeAfter, deleted_with: deletedWith, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', from),
    ).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Out of the recycle bin into `status`. */
  async restore(id: string, status: MailboxStatus, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('mailboxes')
        .set({ status, status_before_delete: null, deleted_at: null, purge_after: null, deleted_with: null, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'deleted'),
    ).execute();
  }

  // ---- revocation (the statements of lifecycle.revokeMailboxAccess) --------------------------

  /** Bumps the credential version: new logins, cached verifications and sessions' `isCurrent` fail. */
  async bumpCredentialVersion(id: string, now: number): Promise<void> {
    await this.scoped(
      this.db
        .updateTable('mailboxes')
        .set((eb) => ({ credential_version: eb('credential_version', '+', 1), updated_at: now }))
        .where('id', '=', id),
    ).execute();
  }

  /** Marks the mailbox's open console sessions revoked; returns how many. */
  async revokeConsoleSessions(mailboxId: string, now: number): Promise<number> {
    const res = await this.scoped(
      this.db.updateTable('web_sessions').set({ revoked_at: now }).where('kind', '=', 'mailbox').where('mailbox_id', '=', mailboxId).where('revoked_at', 'is', null),
    ).executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /** Revokes every live app password of the mailbox; returns their ids. */
  async revokeAppPasswords(mailboxId: string, now: number): Promise<string[]> {
    const live = await this.scoped(this.db.selectFrom('app_passwords').select('id').where('mailbox_id', '=', mailboxId).where('revoked_at', 'is', null)).execute();
    if (live.length) await this.scoped(this.db.updateTable('app_passwords').set({ revoked_at: now }).where('mailbox_id', '=', mailboxId).where('revoked_at', 'is', null)).execute();
    return live.map((r) => r.id);
  }

  // ---- the serving layer's credential checks (platform scope) --------------------------------

  /** The mailbox a login names (any status), or undefined. */
  async forLogin(address: string): Promise<LoginMailbox | undefined> {
    return this.scoped(this.db.selectFrom('mailboxes').select(['id', 'tenant_id', 'address', 'status', 'password_hash', 'credential_version']).where('address', '=', address)).executeTakeFirst();
  }

  /** A live app password of the mailbox with this secret hash, or undefined. */
  async liveAppPassword(mailboxId: string, secretHash: string): Promise<{ id: string; scopes: string } | undefined> {
    return this.scoped(
      this.db.selectFrom('app_passwords').select(['id', 'scopes']).where('mailbox_id', '=', mailboxId).where('secret_hash', '=', secretHash).where('revoked_at', 'is', null),
    ).executeTakeFirst();
  }

  /** Records an app password's use: durable before it resolves, its fsync off the serving loop. */
  async touchAppPassword(id: string, now: number): Promise<void> {
    await this.syncedOffLoop((db) => this.scoped(db.updateTable('app_passwords').set({ last_used_at: now }).where('id', '=', id)).execute());
  }

  /** Status and credential version of a mailbox, or undefined. */
  async credentialState(id: string): Promise<Pick<Mailbox, 'status' | 'credential_version'> | undefined> {
    return this.scoped(this.db.selectFrom('mailboxes').select(['status', 'credential_version']).where('id', '=', id)).executeTakeFirst();
  }

  /** True while the app password exists for the mailbox and is not revoked. */
  async appPasswordLive(mailboxId: string, appPasswordId: string): Promise<boolean> {
    const row = await this.scoped(this.db.selectFrom('app_passwords').select('revoked_at').where('id', '=', appPasswordId).where('mailbox_id', '=', mailboxId)).executeTakeFirst();
    return !!row && row.revoked_at === null;
  }
}
