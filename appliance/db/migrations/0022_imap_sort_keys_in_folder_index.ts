import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// SORT/THREAD keys (RFC 5256, 5957) also on each folder entry: SORT and THREAD of a large
// folder read them from the narrow folder_messages rows in UID order instead of joining every
// `messages` row (whose metadata document lies in front of the keys). Copied with the entry on
// COPY/MOVE; existing entries get their message's keys here.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('folder_messages').addColumn('sort_keys', 'text').execute();
  await db
    .updateTable('folder_messages')
    .set((eb: any) => ({ sort_keys: eb.selectFrom('messages').select('messages.sort_keys').whereRef('messages.id', '=', 'folder_messages.message_id') }))
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
