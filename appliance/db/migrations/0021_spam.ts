import type { Kysely } from 'kysely';
import { realType } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
// Spam policy (issue 15): one row per tenant (scope 'tenant', scope_id = tenant id) and optional
// per-domain overrides (scope 'domain', scope_id = domain id); allow and block lists at tenant
// level (mailbox_id null) or mailbox level.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('spam_policies')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('scope_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('junk_score', realType(db), (c) => c.notNull())
    .addColumn('reject_score', realType(db), (c) => c.notNull())
    .addColumn('greylisting', 'integer', (c) => c.notNull())
    .addColumn('fail_mode', 'text', (c) => c.notNull())
    .addColumn('owner_lists', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('updated_by', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('spam_policies_pk', ['scope', 'scope_id'])
    .execute();
  await db.schema
    .createTable('spam_lists')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('mailbox_id', 'text', (c) => c.references('mailboxes.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('value_type', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('spam_lists_tenant').on('spam_lists').columns(['tenant_id', 'mailbox_id']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
