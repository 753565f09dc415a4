import { type Kysely, sql } from 'kysely';

// Frozen in time: later changes go into new migrations.
// IMAP \Recent (RFC 3501 2.3.2): per folder, the first UID no session has been told about yet.
// A session that selects the folder (or learns of new messages) claims every UID below
// uid_next by moving this mark; the UIDs it moved past are \Recent in that session only.
// Existing folders start with nothing recent.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('folders')
    .addColumn('recent_uid', 'bigint', (c) => c.notNull().defaultTo(1))
    .execute();
  await sql`update folders set recent_uid = uid_next`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
