import type { Kysely } from 'kysely';
import { autoIdColumn } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
// Portfolio (issue 7): bulk batches and their items, versioned domain templates, the settings
// a domain runs with (and the template version applied), DNS check snapshots.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('batches')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('approval_ref', 'text')
    .addColumn('state', 'text', (c) => c.notNull()) // planned | applying | applied | failed | rolling-back | rolled-back
    .addColumn('mode', 'text') // all-or-nothing | valid-rows (set at apply)
    .addColumn('input', 'text', (c) => c.notNull()) // JSON: the normalized rows
    .addColumn('input_hash', 'text', (c) => c.notNull())
    .addColumn('plan', 'text', (c) => c.notNull()) // JSON: the last plan
    .addColumn('allow_unverified', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('approved_rows', 'text') // JSON array of row numbers approved at apply
    .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('applied_at', 'bigint')
    .addColumn('rolled_back_at', 'bigint')
    .execute();
  await db.schema.createIndex('batches_request_idx').on('batches').columns(['tenant_id', 'request_id']).unique().execute();

  await db.schema
    .createTable('batch_items')
    .addColumn('batch_id', 'text', (c) => c.notNull().references('batches.id'))
    .addColumn('row_no', 'integer', (c) => c.notNull())
    .addColumn('mailbox_id', 'text')
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull()) // created | failed | rolled-back
    .addColumn('error', 'text')
    .addColumn('alias_ids', 'text') // JSON array
    .addColumn('setup_link_id', 'text')
    .addColumn('destination', 'text')
    .addColumn('delivered_at', 'bigint')
    .addColumn('delivery_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('batch_items_pk', ['batch_id', 'row_no'])
    .execute();
  await db.schema.createIndex('batch_items_mailbox_idx').on('batch_items').column('mailbox_id').execute();

  await db.schema
    .createTable('domain_templates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text') // null: a platform default
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('latest_version', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('domain_templates_tenant_idx').on('domain_templates').columns(['tenant_id', 'name']).execute();

  await db.schema
    .createTable('domain_template_versions')
    .addColumn('template_id', 'text', (c) => c.notNull().references('domain_templates.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull()) // JSON
    .addColumn('note', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('domain_template_versions_pk', ['template_id', 'version'])
    .execute();

  await db.schema
    .createTable('domain_settings')
    .addColumn('domain_id', 'text', (c) => c.primaryKey().references('domains.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull()) // JSON: what the domain runs with
    .addColumn('template_id', 'text')
    .addColumn('template_version', 'integer')
    .addColumn('applied_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await autoIdColumn(db.schema.createTable('dns_snapshots'), 'id', db)
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('checked_at', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull()) // ok | degraded | failing
    .addColumn('records', 'text', (c) => c.notNull()) // JSON
    .addColumn('template_id', 'text')
    .addColumn('template_version', 'integer')
    .execute();
  await db.schema.createIndex('dns_snapshots_domain_idx').on('dns_snapshots').columns(['domain_id', 'checked_at']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
