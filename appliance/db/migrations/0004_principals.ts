import type { Kysely } from 'kysely';
import { autoIdColumn } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
// People who administer the appliance (operators: tenant_id null) or one tenant (tenant admins),
// their TOTP recovery codes, and web sessions (principals and mailbox owners).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('principals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.references('tenants.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('role', 'text')
    .addColumn('permissions', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text')
    .addColumn('totp_secret', 'text')
    .addColumn('totp_pending_secret', 'text')
    .addColumn('totp_enabled_at', 'bigint')
    .addColumn('credential_version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('last_login_at', 'bigint')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('principals_email_uq').on('principals').column('email').unique().execute();
  await db.schema.createIndex('principals_tenant_idx').on('principals').column('tenant_id').execute();

  await autoIdColumn(db.schema.createTable('principal_recovery_codes'), 'id', db)
    .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('recovery_codes_principal_idx').on('principal_recovery_codes').column('principal_id').execute();

  await db.schema
    .createTable('web_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('csrf_hash', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('principal_id', 'text')
    .addColumn('mailbox_id', 'text')
    .addColumn('tenant_id', 'text')
    .addColumn('credential_version', 'integer', (c) => c.notNull())
    .addColumn('mfa', 'text', (c) => c.notNull())
    .addColumn('source_ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('web_sessions_token_uq').on('web_sessions').column('token_hash').unique().execute();
  await db.schema.createIndex('web_sessions_principal_idx').on('web_sessions').column('principal_id').execute();
  await db.schema.createIndex('web_sessions_mailbox_idx').on('web_sessions').column('mailbox_id').execute();

  await db.schema.alterTable('setup_tokens').addColumn('principal_id', 'text').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
