import type { Kysely } from 'kysely';
import { dialectOf, isWithoutRowid, withoutRowid } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
// IMAP APPEND (issue 18): every APPEND lists its blob in `unsynced_blobs` (0054) and a later
// transaction unlists it. On SQLite that table had a rowid and a text primary key: two b-trees,
// two pages written to the WAL by each insert and each delete. As a WITHOUT ROWID table it is
// one. The rows listed at the time are copied (they are blobs whose rows await recovery); the
// copy, the drop and the rename are one transaction, and a table already rebuilt is left alone
// (a crash after the rebuild but before the migration was recorded runs it again). PostgreSQL
// (no rowid) is unchanged.
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) !== 'sqlite' || (await isWithoutRowid(db, 'unsynced_blobs'))) return;
  await db.transaction().execute(async (trx) => {
    await withoutRowid(
      trx.schema
        .createTable('unsynced_blobs_0055')
        .addColumn('blob_id', 'text', (c) => c.primaryKey())
        .addColumn('created_at', 'bigint', (c) => c.notNull()),
      trx,
    ).execute();
    await trx
      .insertInto('unsynced_blobs_0055')
      .columns(['blob_id', 'created_at'])
      .expression((eb) => eb.selectFrom('unsynced_blobs').select(['blob_id', 'created_at']))
      .execute();
    await trx.schema.dropTable('unsynced_blobs').execute();
    await trx.schema.alterTable('unsynced_blobs_0055').renameTo('unsynced_blobs').execute();
  });
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
