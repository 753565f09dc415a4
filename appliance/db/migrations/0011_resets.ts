import type { Kysely } from 'kysely';
import { autoIdColumn } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('access_policies')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('reset_link_to_caller', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reset_revokes_app_passwords', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('reset_rate_per_hour', 'integer', (c) => c.notNull().defaultTo(3))
    .addColumn('emergency_high_value', 'text', (c) => c.notNull().defaultTo('operator'))
    .addColumn('external_forwarding', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('stale_forward_days', 'integer', (c) => c.notNull().defaultTo(90))
    .addColumn('offboarding_undo_days', 'integer', (c) => c.notNull().defaultTo(30))
    .addColumn('updated_by', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('mailbox_flags')
    .addColumn('mailbox_id', 'text', (c) => c.primaryKey().references('mailboxes.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('high_value', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reason', 'text')
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('resets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('mailbox_id', 'text', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('delivery', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'bigint', (c) => c.notNull())
    .addColumn('verification_method', 'text')
    .addColumn('verification_evidence', 'text')
    .addColumn('destination', 'text')
    .addColumn('new_destination', 'text')
    .addColumn('requires_operator', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('approved_by', 'text')
    .addColumn('approved_at', 'bigint')
    .addColumn('setup_link_id', 'text')
    .addColumn('delivery_state', 'text')
    .addColumn('completed_at', 'bigint')
    .execute();
  await db.schema.createIndex('resets_mailbox_idx').on('resets').columns(['mailbox_id', 'requested_at']).execute();
  await db.schema.createIndex('resets_link_idx').on('resets').column('setup_link_id').execute();

  await autoIdColumn(db.schema.createTable('mailbox_recovery_codes'), 'id', db)
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('mailbox_id', 'text', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mailbox_recovery_codes_mailbox_idx').on('mailbox_recovery_codes').column('mailbox_id').execute();

  await db.schema
    .createTable('offboardings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('mailbox_id', 'text', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('convert_to', 'text', (c) => c.notNull())
    .addColumn('options', 'text', (c) => c.notNull())
    .addColumn('event_ids', 'text', (c) => c.notNull())
    .addColumn('auto_reply', 'text')
    .addColumn('retain_until', 'bigint')
    .addColumn('applied_by', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'bigint', (c) => c.notNull())
    .addColumn('undo_until', 'bigint', (c) => c.notNull())
    .addColumn('undone_at', 'bigint')
    .execute();
  await db.schema.createIndex('offboardings_mailbox_idx').on('offboardings').column('mailbox_id').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
