import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// Bulk IMAP migration (issue 20): a CSV of source accounts becomes a migration batch of a
// tenant. Each row names a target mailbox (by address) and its source account; the plan
// test-logs-in to every source and records what it found (bad credentials, folder sizes); apply
// starts one IMAP migration job (imap_migrations) per good row with bounded concurrency. The
// row's source secret is sealed (secret-box) and wiped once its job holds it (or the batch ends).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('migration_batches')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('concurrency', 'integer', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('checked', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_from', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('applied_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('migration_batches_tenant_idx').on('migration_batches').columns(['tenant_id', 'created_at']).execute();
  await db.schema
    .createTable('migration_batch_items')
    .addColumn('batch_id', 'text', (c) => c.notNull().references('migration_batches.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('row_no', 'integer', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('mailbox_id', 'text')
    .addColumn('source_host', 'text', (c) => c.notNull())
    .addColumn('source_port', 'integer', (c) => c.notNull())
    .addColumn('source_tls', 'text', (c) => c.notNull())
    .addColumn('source_user', 'text', (c) => c.notNull())
    .addColumn('source_secret', 'text')
    .addColumn('check_state', 'text', (c) => c.notNull())
    .addColumn('check_error', 'text')
    .addColumn('source_messages', 'bigint')
    .addColumn('source_bytes', 'bigint')
    .addColumn('source_folders', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('migration_id', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('migration_batch_items_pk', ['batch_id', 'row_no'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
