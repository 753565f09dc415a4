import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// Where a tenant's required addresses (postmaster@, abuse@, the DMARC/TLS-RPT report address of
// every domain) deliver: a mailbox or alias of the tenant, or an outside address; null: the
// tenant's contact (its first administrator), else the operator's address.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants').addColumn('role_mail_to', 'text').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
