import type { Kysely } from 'kysely';
import { dialectOf } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
// SORT/THREAD on large folders (issue 18): the first SORT after a start read the sort keys of
// every entry row (one JSON text each, ~190 bytes, spread over the folder's rows: about a second
// for 100,000 messages with a cold page cache) and parsed each. The store now keeps a compact
// copy of a large folder's sort keys in one row (mailstore/sort-keys.ts, by message id; a
// message's keys never change, so a copy is never wrong, only incomplete: keys it lacks are read
// as before). No foreign key: folder ids are never reused, as for folder_index_snapshots.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('folder_sort_keys')
    .addColumn('folder_id', 'integer', (c) => c.primaryKey())
    .addColumn('entries', 'integer', (c) => c.notNull())
    .addColumn('data', dialectOf(db) === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
