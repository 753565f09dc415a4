import type { Kysely } from 'kysely';
import { dialectOf } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
// FETCH 1:* (FLAGS ENVELOPE) and SEARCH SUBJECT/FROM/TO/CC/BCC of a large folder after a restart
// (issue 18, fourteenth round): the store read every message's row (~1.6 KB of meta JSON each,
// 5.6-8.6 MB of a cold database file for 1,200 messages) for the envelopes and the header
// fields. A large folder's envelope copy (mailstore/envelope-copy.ts) is kept in chunks keyed by
// the smallest message id they hold: new messages are added as a chunk of their own (a write,
// never a read), chunks are merged by a command that read them all. A message never changes, so
// a chunk is never wrong, only incomplete. No foreign key: folder ids are never reused.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('folder_envelope_chunks')
    .addColumn('folder_id', 'integer', (c) => c.notNull())
    .addColumn('chunk', 'bigint', (c) => c.notNull())
    .addColumn('entries', 'integer', (c) => c.notNull())
    .addColumn('data', dialectOf(db) === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
    .addPrimaryKeyConstraint('folder_envelope_chunks_pk', ['folder_id', 'chunk'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
