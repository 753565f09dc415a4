import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// Shared limits (issue 17): rate windows of the login throttle and the send limiter when several
// nodes share one database, and the control plane's idempotency keys.
// rate_windows: one row per key, a sliding-window counter (the count of the current fixed window
// `window_start`, the previous window's count, and a lock or trust deadline `until`).
// idempotency_keys: the first answer to a POST with an Idempotency-Key, sealed (it may hold a
// secret shown once), kept until `expires_at`.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_windows')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull())
    .addColumn('prev_n', 'bigint', (c) => c.notNull())
    .addColumn('until', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rate_windows_window').on('rate_windows').column('window_start').execute();
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('status', 'integer')
    .addColumn('content_type', 'text')
    .addColumn('payload', 'text')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idempotency_keys_expiry').on('idempotency_keys').column('expires_at').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
