import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// IMAP SAVEDATE (RFC 8514): when a message was saved into its folder (delivery, APPEND, COPY,
// MOVE), epoch milliseconds. Entries saved before this migration have none (FETCH SAVEDATE NIL).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('folder_messages').addColumn('saved_at', 'bigint').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
