import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// Shared mailboxes (issue 19): \Seen kept per member where a grant says `seen_per_member` (a
// delegate reads the boss's mail without marking it read for the boss). One row per (member,
// folder entry) the member has seen; the shared flags of the entry are left alone. Rows of
// expunged entries are removed with them; a row whose entry is gone counts for nothing.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('member_seen')
    .addColumn('member_mailbox_id', 'text', (c) => c.notNull())
    .addColumn('folder_id', 'integer', (c) => c.notNull())
    .addColumn('uid', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('member_seen_pk', ['member_mailbox_id', 'folder_id', 'uid'])
    .execute();
  await db.schema.createIndex('member_seen_folder_idx').on('member_seen').columns(['folder_id', 'uid']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
