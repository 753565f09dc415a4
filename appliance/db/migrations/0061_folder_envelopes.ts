import type { Kysely } from 'kysely';
import { dialectOf } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
// FETCH 1:* (FLAGS ENVELOPE) of a large folder (issue 18, thirteenth round): after a restart with a
// cold page cache the store read every message's row (its whole meta JSON, ~1.6 KB, the rows
// spread between the search index's rows: 8 MB read from disk for 1,200 messages) to answer with
// the envelopes. The store now keeps a compact copy of a large folder's ENVELOPE texts in one row
// (mailstore/envelope-copy.ts, by message id; a message never changes, so a copy is never wrong,
// only incomplete: what it lacks is read from the rows as before). No foreign key: folder ids are
// never reused, as for folder_sort_keys.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('folder_envelopes')
    .addColumn('folder_id', 'integer', (c) => c.primaryKey())
    .addColumn('entries', 'integer', (c) => c.notNull())
    .addColumn('data', dialectOf(db) === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
