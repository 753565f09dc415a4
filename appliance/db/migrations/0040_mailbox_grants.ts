import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// Shared mailboxes and delegated access (issue 19): a mailbox grants another mailbox of the same
// tenant access with rights. One live row per (mailbox, member); removing a grant deletes its row
// (the audit log keeps the before/after). `rights` is a comma-separated list of GRANT_RIGHTS.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('mailbox_grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('mailbox_id', 'text', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('member_mailbox_id', 'text', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('rights', 'text', (c) => c.notNull())
    .addColumn('seen_per_member', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('granted_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('mailbox_grants_pair_idx').on('mailbox_grants').columns(['mailbox_id', 'member_mailbox_id']).unique().execute();
  await db.schema.createIndex('mailbox_grants_member_idx').on('mailbox_grants').column('member_mailbox_id').execute();
  await db.schema.createIndex('mailbox_grants_tenant_idx').on('mailbox_grants').columns(['tenant_id', 'expires_at']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
