import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// The last TOTP time step a principal logged in with: a code is accepted once (no replay).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('principals').addColumn('totp_last_step', 'bigint').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
