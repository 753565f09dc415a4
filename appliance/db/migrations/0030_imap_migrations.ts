import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// IMAP migration jobs (issue 20): one job per mailbox copying from another provider's IMAP
// server. The source secret (password or OAuth2 access token) is sealed (secret-box) and wiped
// when the job ends; per source folder, the UIDVALIDITY seen and the highest UID copied make a
// re-run incremental and a dropped connection resumable.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('imap_migrations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('mailbox_id', 'text', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('source_host', 'text', (c) => c.notNull())
    .addColumn('source_port', 'integer', (c) => c.notNull())
    .addColumn('source_tls', 'text', (c) => c.notNull())
    .addColumn('source_user', 'text', (c) => c.notNull())
    .addColumn('source_auth', 'text', (c) => c.notNull())
    .addColumn('source_secret', 'text')
    .addColumn('folders', 'text')
    .addColumn('messages', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('total_messages', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('total_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('runs', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('report', 'text')
    .addColumn('error', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_from', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('imap_migrations_mailbox_idx').on('imap_migrations').columns(['mailbox_id', 'created_at']).execute();
  await db.schema.createIndex('imap_migrations_state_idx').on('imap_migrations').column('state').execute();
  await db.schema
    .createTable('imap_migration_folders')
    .addColumn('migration_id', 'text', (c) => c.notNull().references('imap_migrations.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('uid_validity', 'bigint')
    .addColumn('last_uid', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('copied', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('total_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('imap_migration_folders_pk', ['migration_id', 'source'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
