import type { Kysely } from 'kysely';
import { dialectOf } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
// IMAP on large folders (issue 18): the first SELECT of a folder after a start read every entry
// row (with its sort keys: 30 MB for 100,000 messages) and built an object per row. The folder
// index (mailstore/folder-index.ts) now keeps a compact copy of a large folder's entries here,
// as of one MODSEQ (like Dovecot's dovecot.index): a start reads that one row and catches up
// from the change journal. No foreign key: folder ids are never reused (autoincrement), and a
// copy that does not match the folder's rows is ignored.
// The search index's "which messages have a complete text" check reads (message_id, complete)
// from an index instead of the text rows themselves.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('folder_index_snapshots')
    .addColumn('folder_id', 'integer', (c) => c.primaryKey())
    .addColumn('modseq', 'bigint', (c) => c.notNull())
    .addColumn('entries', 'integer', (c) => c.notNull())
    .addColumn('data', dialectOf(db) === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('message_text_complete_idx').on('message_text').columns(['message_id', 'complete']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
