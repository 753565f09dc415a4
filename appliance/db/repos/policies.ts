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
import type { AccessPolicyRow, MailboxFlagsTable } from '../tables/resets.table.js';
import { Repo } from './base.js';
import { preparedRows } from './prepared.js';

export type MailboxFlagsRow = Selectable<MailboxFlagsTable>;

export class PoliciesRepo extends Repo {
  /** The tenant's stored policy, or undefined when it never set one (the defaults apply). */
  async policy(tenantId: string): Promise<AccessPolicyRow | undefined> {
    // compiled once per scope (the ownership answer reads it per request; issue 18)
    const rows = await preparedRows(this.db, 'policies.policy', this.tenantId, [tenantId] as const, (tenant) =>
      this.scoped(this.db.selectFrom('access_policies').selectAll().where('tenant_id', '=', tenant)),
    );
    return rows[0];
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
    const rows = await preparedRows(this.db, 'policies.mailboxFlags', this.tenantId, [mailboxId] as const, (id) =>
      this.scoped(this.db.selectFrom('mailbox_flags').selectAll().where('mailbox_id', '=', id)),
    );
    return rows[0];
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

  /** A tenant's status, or undefined when it does not exist (in this scope). */
  async tenantStatus(id: string): Promise<string | undefined> {
    const row = await this.scoped(this.db.selectFrom('tenants').select('status').where('id', '=', id), 'id').executeTakeFirst();
    return row?.status;
  }
}
