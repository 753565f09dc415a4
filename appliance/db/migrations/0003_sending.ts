import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('send_as_grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('mailbox_id', 'text', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('send_as_mailbox_idx').on('send_as_grants').columns(['mailbox_id', 'address']).unique().execute();

  await db.schema
    .createTable('forwards')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('mailbox_id', 'text', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('external', 'integer', (c) => c.notNull())
    .addColumn('keep_copy', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('reason', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('forwards_mailbox_idx').on('forwards').column('mailbox_id').execute();

  await db.schema
    .createTable('outbound_routes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text')
    .addColumn('domain_id', 'text')
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('tls', 'text', (c) => c.notNull()) // opportunistic | required | implicit
    .addColumn('auth_user', 'text')
    .addColumn('auth_pass', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('mailboxes').addColumn('send_blocked_at', 'bigint').execute();
  await db.schema.alterTable('mailboxes').addColumn('send_blocked_reason', 'text').execute();
  await db.schema.alterTable('mailboxes').addColumn('send_limit_per_hour', 'integer').execute();
  await db.schema.alterTable('mailboxes').addColumn('rcpt_limit_per_hour', 'integer').execute();
  await db.schema.alterTable('tenants').addColumn('send_limit_per_hour', 'integer').execute();
  await db.schema.alterTable('tenants').addColumn('rcpt_limit_per_hour', 'integer').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
