/**
 * The tenant access policy (`access_policies`, one row per tenant once set) and the high-value
 * flag of mailboxes (`mailbox_flags`). Tenant-owned: a tenant scope reads and writes its own
 * tenant's rows only.
 *
 * Below them, the few look-ups on tenants and mailboxes that the access services need (the
 * live tenant or mailbox of this scope, a mailbox by id or address in any status). They belong
 * to the tenants and mailboxes aggregates and are kept here under these names until those
 * repositories offer them.
 */
import type { Selectable } from 'kysely';
import { notFound } from '../../core/kernel/errors.js';
import type { Mailbox, Tenant } from '../tables/control.table.js';
import type { AccessPolicyRow, MailboxFlagsTable } from '../tables/resets.table.js';
import { Repo } from './base.js';

export type MailboxFlagsRow = Selectable<MailboxFlagsTable>;

export class PoliciesRepo extends Repo {
  /** The tenant's stored policy, or undefined when it never set one (the defaults apply). */
  async policy(tenantId: string): Promise<AccessPolicyRow | undefined> {
    return this.scoped(this.db.selectFrom('access_policies').selectAll().where('tenant_id', '=', tenantId)).executeTakeFirst();
  }

  /** Stores the tenant's whole policy (insert or replace). */
  async savePolicy(row: AccessPolicyRow): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db
      .insertInto('access_policies')
      .values(row)
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ ...row }))
      .execute();
  }

  async mailboxFlags(mailboxId: string): Promise<MailboxFlagsRow | undefined> {
    return this.scoped(this.db.selectFrom('mailbox_flags').selectAll().where('mailbox_id', '=', mailboxId)).executeTakeFirst();
  }

  /** Stores a mailbox's flags (insert or replace). */
  async saveMailboxFlags(row: MailboxFlagsRow): Promise<void> {
    this.guardTenant(row.tenant_id);
    await this.db
      .insertInto('mailbox_flags')
      .values(row)
      .onConflict((oc) =>
        oc
          .column('mailbox_id')
          .doUpdateSet({ ...row })
          .where('mailbox_flags.tenant_id', '=', row.tenant_id),
      )
      .execute();
  }

  // ---- look-ups on tenants and mailboxes (see the file comment) -----------------------------------

  /** A live (not deleted) tenant of this scope, or NotFound. */
  async liveTenant(id: string): Promise<Tenant> {
    const row = await this.scoped(this.db.selectFrom('tenants').selectAll().where('id', '=', id).where('status', '!=', 'deleted'), 'id').executeTakeFirst();
    if (!row) throw notFound('tenant');
    return row;
  }

  /** A tenant's status, or undefined when it does not exist (in this scope). */
  async tenantStatus(id: string): Promise<string | undefined> {
    const row = await this.scoped(this.db.selectFrom('tenants').select('status').where('id', '=', id), 'id').executeTakeFirst();
    return row?.status;
  }

  /** A live (not deleted) mailbox of this scope, or NotFound. */
  async liveMailbox(id: string): Promise<Mailbox> {
    const row = await this.scoped(this.db.selectFrom('mailboxes').selectAll().where('id', '=', id).where('status', '!=', 'deleted')).executeTakeFirst();
    if (!row) throw notFound('mailbox');
    return row;
  }

  /** A mailbox of this scope in any status (deleted included), or undefined. */
  async anyMailbox(id: string): Promise<Mailbox | undefined> {
    return this.scoped(this.db.selectFrom('mailboxes').selectAll().where('id', '=', id)).executeTakeFirst();
  }

  /** A mailbox of this scope by address, in any status, or undefined. */
  async anyMailboxByAddress(address: string): Promise<Mailbox | undefined> {
    return this.scoped(this.db.selectFrom('mailboxes').selectAll().where('address', '=', address)).executeTakeFirst();
  }
}
