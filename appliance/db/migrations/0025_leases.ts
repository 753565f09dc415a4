import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// Leases (issue 17): one row per scheduled job; the node holding an unexpired lease runs the
// job. `fence` grows by one whenever another node takes the lease over (a fencing counter);
// `ran_at` is the job's last run anywhere in the cluster, so a node that takes over knows
// whether a run is due. Times are milliseconds since the epoch (the nodes' clocks).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('fence', 'bigint', (c) => c.notNull())
    .addColumn('ran_at', 'bigint', (c) => c.notNull())
    .addColumn('acquired_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
