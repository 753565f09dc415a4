import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('app_passwords')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('mailbox_id', 'text', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull()) // JSON array: "imap", "smtp"
    .addColumn('secret_hash', 'text', (c) => c.notNull()) // sha256 hex of the generated secret (high entropy)
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('app_passwords_mailbox_idx').on('app_passwords').column('mailbox_id').execute();
  await db.schema.createIndex('app_passwords_secret_uq').on('app_passwords').column('secret_hash').unique().execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
