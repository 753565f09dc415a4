import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// Pooled tenant quota, domain aliases, the recycle bin (two-step deletion) of mailboxes and
// domains with the state to restore.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants').addColumn('quota_bytes', 'bigint').execute();

  await db.schema.alterTable('domains').addColumn('alias_of', 'text').execute();
  await db.schema.alterTable('domains').addColumn('deleted_at', 'bigint').execute();
  await db.schema.alterTable('domains').addColumn('purge_after', 'bigint').execute();
  await db.schema.alterTable('domains').addColumn('status_before_delete', 'text').execute();

  await db.schema.alterTable('mailboxes').addColumn('deleted_at', 'bigint').execute();
  await db.schema.alterTable('mailboxes').addColumn('purge_after', 'bigint').execute();
  await db.schema.alterTable('mailboxes').addColumn('status_before_delete', 'text').execute();
  await db.schema.alterTable('mailboxes').addColumn('deleted_with', 'text').execute();

  await db.schema.alterTable('aliases').addColumn('deleted_with', 'text').execute();

  await db.schema
    .createTable('deletion_intents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('impact', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('confirmed_at', 'bigint')
    .execute();
  await db.schema.createIndex('deletion_intents_target_idx').on('deletion_intents').columns(['target_type', 'target_id']).execute();
  await db.schema.createIndex('mailboxes_purge_idx').on('mailboxes').column('purge_after').execute();
  await db.schema.createIndex('domains_purge_idx').on('domains').column('purge_after').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
