import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// IMAP SAVEDATE (RFC 8514): when a message was saved into its folder (delivery, APPEND, COPY,
// MOVE), epoch milliseconds; entries saved before this migration have none (FETCH SAVEDATE NIL).
// SORT/THREAD keys (RFC 5256, 5957) of a stored message as a small JSON document, written at
// ingest; rows from before this migration get theirs computed from `meta` when first sorted.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('folder_messages').addColumn('saved_at', 'bigint').execute();
  await db.schema.alterTable('messages').addColumn('sort_keys', 'text').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
