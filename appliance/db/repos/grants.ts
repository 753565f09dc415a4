/**
 * Shared-mailbox grants (issue 19). Tenant-owned: a tenant scope reads and writes its own
 * tenant's grants only, and `insert` refuses a grant whose two mailboxes are not both of the
 * grant's tenant (checked against the mailboxes table in the same statement's transaction).
 * Reads for the serving layer (`liveForMember`, `liveOf`) join the shared mailbox so that a
 * suspended, offboarded or deleted shared mailbox grants nothing.
 */
import type { Insertable, Updateable } from 'kysely';
import { AppError } from '../../core/kernel/errors.js';
import type { MailboxGrantRow, MailboxGrantsTable } from '../tables/grants.table.js';
import type { MailboxStatus } from '../tables/status.js';
import { Repo } from './base.js';
import { preparedRows } from './prepared.js';

export type { MailboxGrantRow } from '../tables/grants.table.js';

/** A grant with the two mailboxes' addresses (what views and the serving layer show). */
export type MailboxGrantJoined = MailboxGrantRow & { mailbox_address: string; member_address: string; mailbox_status: string; member_status: string };

/**
 * Statuses of a shared mailbox that members may reach: active (a converted offboarded mailbox is
 * active again) or pending (a team address created without a password of its own).
 */
export const REACHABLE_STATUSES: MailboxStatus[] = ['active', 'pending'];

function numeric(r: MailboxGrantJoined): MailboxGrantJoined {
  return {
    ...r,
    seen_per_member: Number(r.seen_per_member),
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
    expires_at: r.expires_at === null ? null : Number(r.expires_at),
    last_used_at: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}

export class GrantsRepo extends Repo {
  private joined() {
    return this.scoped(
      this.db
        .selectFrom('mailbox_grants as g')
        .innerJoin('mailboxes as m', 'm.id', 'g.mailbox_id')
        .innerJoin('mailboxes as mm', 'mm.id', 'g.member_mailbox_id')
        .selectAll('g')
        .select(['m.address as mailbox_address', 'mm.address as member_address', 'm.status as mailbox_status', 'mm.status as member_status']),
      'g.tenant_id',
    );
  }

  /** One grant of the scope's tenant; 404 otherwise. */
  async get(id: string): Promise<MailboxGrantJoined> {
    const row = await this.joined().where('g.id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('NotFound', 'grant not found');
    return numeric(row as MailboxGrantJoined);
  }

  async exists(id: string): Promise<boolean> {
    return !!(await this.scoped(this.db.selectFrom('mailbox_grants').select('id').where('id', '=', id), 'tenant_id').executeTakeFirst());
  }

  async find(mailboxId: string, memberMailboxId: string): Promise<MailboxGrantJoined | null> {
    const row = await this.joined().where('g.mailbox_id', '=', mailboxId).where('g.member_mailbox_id', '=', memberMailboxId).executeTakeFirst();
    return row ? numeric(row as MailboxGrantJoined) : null;
  }

  /** Grants on a shared mailbox (its members), oldest first. */
  async ofMailbox(mailboxId: string): Promise<MailboxGrantJoined[]> {
    // compiled once per scope (the ownership answer reads it per request; issue 18)
    const rows = await preparedRows(this.db, 'grants.ofMailbox', this.tenantId, [mailboxId] as const, (id) => this.joined().where('g.mailbox_id', '=', id).orderBy('g.created_at').orderBy('g.id'));
    return rows.map((r) => numeric(r as MailboxGrantJoined));
  }

  /** Grants whose member is this mailbox (the shared mailboxes it can reach, whatever their status). */
  async ofMember(memberMailboxId: string): Promise<MailboxGrantJoined[]> {
    const rows = await this.joined().where('g.member_mailbox_id', '=', memberMailboxId).orderBy('m.address').execute();
    return rows.map((r) => numeric(r as MailboxGrantJoined));
  }

  /** All grants of the scope's tenant (the sharing report), by shared mailbox. */
  async ofTenant(tenantId?: string): Promise<MailboxGrantJoined[]> {
    let q = this.joined();
    if (tenantId !== undefined) q = q.where('g.tenant_id', '=', tenantId);
    const rows = await q.orderBy('m.address').orderBy('mm.address').execute();
    return rows.map((r) => numeric(r as MailboxGrantJoined));
  }

  /** What the serving layer may use now: unexpired grants of the member on reachable shared mailboxes. */
  async liveForMember(memberMailboxId: string, now: number): Promise<MailboxGrantJoined[]> {
    const rows = await this.joined()
      .where('g.member_mailbox_id', '=', memberMailboxId)
      .where('m.status', 'in', REACHABLE_STATUSES)
      .where((eb) => eb.or([eb('g.expires_at', 'is', null), eb('g.expires_at', '>', now)]))
      .orderBy('m.address')
      .execute();
    return rows.map((r) => numeric(r as MailboxGrantJoined));
  }

  async liveOf(mailboxId: string, memberMailboxId: string, now: number): Promise<MailboxGrantJoined | null> {
    const row = await this.joined()
      .where('g.mailbox_id', '=', mailboxId)
      .where('g.member_mailbox_id', '=', memberMailboxId)
      .where('m.status', 'in', REACHABLE_STATUSES)
      .where((eb) => eb.or([eb('g.expires_at', 'is', null), eb('g.expires_at', '>', now)]))
      .executeTakeFirst();
    return row ? numeric(row as MailboxGrantJoined) : null;
  }

  /** Grants that expired at or before `now` (the sweeper removes them and tells the serving layer). */
  async expired(now: number, limit = 500): Promise<MailboxGrantJoined[]> {
    const rows = await this.joined().where('g.expires_at', 'is not', null).where('g.expires_at', '<=', now).limit(limit).execute();
    return rows.map((r) => numeric(r as MailboxGrantJoined));
  }

  /** Inserts a grant after checking that both mailboxes belong to the grant's tenant (404 otherwise). */
  async insert(row: Insertable<MailboxGrantsTable>): Promise<void> {
    this.guardTenant(row.tenant_id);
    const owners = await this.db.selectFrom('mailboxes').select(['id', 'tenant_id']).where('id', 'in', [row.mailbox_id, row.member_mailbox_id]).execute();
    if (owners.length !== (row.mailbox_id === row.member_mailbox_id ? 1 : 2) || owners.some((o) => o.tenant_id !== row.tenant_id)) {
      throw new AppError('NotFound', 'mailbox not found');
    }
    await this.db.insertInto('mailbox_grants').values(row).execute();
  }

  async update(id: string, tenantId: string, set: Updateable<MailboxGrantsTable>): Promise<void> {
    this.guardTenant(tenantId);
    await this.db.updateTable('mailbox_grants').set(set).where('id', '=', id).where('tenant_id', '=', tenantId).execute();
  }

  async delete(id: string, tenantId: string): Promise<void> {
    this.guardTenant(tenantId);
    await this.db.deleteFrom('mailbox_grants').where('id', '=', id).where('tenant_id', '=', tenantId).execute();
  }

  /** Marks a grant used (the stale-grant report); platform or tenant scope. */
  async touch(id: string, now: number): Promise<void> {
    await this.syncedOffLoop((db) => this.scoped(db.updateTable('mailbox_grants').set({ last_used_at: now }).where('id', '=', id)).execute());
  }
}
