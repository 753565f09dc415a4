import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// IMAP APPEND (issue 18): a message's index rows are committed while its blob's fsync still
// runs (the two no longer wait for each other); the message is acknowledged only after both.
// A crash in between may leave rows whose blob never reached the disk: each such blob is listed
// here in the same transaction as its rows, and the row is removed once the blob is durable.
// Recovery at boot (mailstore/store.ts `recoverUnsyncedBlobs`) checks every blob still listed:
// present with its full size, it is synced and kept; missing or short, its messages are removed
// (expunged, quota released) so no row is ever served without its bytes.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('unsynced_blobs')
    .addColumn('blob_id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
