import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// Mailbox owners' TOTP for the self-service console login (secret pending until confirmed; the
// last accepted time step, so a code is accepted once).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('mailbox_totp')
    .addColumn('mailbox_id', 'text', (c) => c.primaryKey().references('mailboxes.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('secret', 'text')
    .addColumn('pending_secret', 'text')
    .addColumn('enabled_at', 'bigint')
    .addColumn('last_step', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
