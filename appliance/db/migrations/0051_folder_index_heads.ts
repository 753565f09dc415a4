import type { Kysely } from 'kysely';
import { dialectOf } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
// SELECT of a large folder after a start (issue 18): the folder index copy
// (folder_index_snapshots, migration 0053) holds every column of every entry, about 1 MB for
// 100,000 messages, read through SQLite's overflow pages and decoded before the first SELECT
// could answer. SELECT, FETCH FLAGS and flag searches need only the UIDs, MODSEQs and each
// entry's flag list: this table keeps those columns of the same copy (same MODSEQ, written in
// the same transaction), under a third of its size; the rest is read when a command needs it.
// No foreign key, as for the other copies.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('folder_index_heads')
    .addColumn('folder_id', 'integer', (c) => c.primaryKey())
    .addColumn('modseq', 'bigint', (c) => c.notNull())
    .addColumn('entries', 'integer', (c) => c.notNull())
    .addColumn('data', dialectOf(db) === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
