import type { Kysely } from 'kysely';
import { autoIdColumn } from '../dialect.js';

// Frozen in time: later changes go into new migrations.
export async function up(db: Kysely<any>): Promise<void> {
  await autoIdColumn(db.schema.createTable('folders'), 'id', db)
    .addColumn('mailbox_id', 'text', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('special_use', 'text')
    .addColumn('uid_validity', 'bigint', (c) => c.notNull())
    .addColumn('uid_next', 'bigint', (c) => c.notNull().defaultTo(1))
    .addColumn('highest_modseq', 'bigint', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('folders_mailbox_name_uq').on('folders').columns(['mailbox_id', 'name']).unique().execute();

  await db.schema
    .createTable('subscriptions')
    .addColumn('mailbox_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('subscriptions_pk', ['mailbox_id', 'name'])
    .execute();

  await autoIdColumn(db.schema.createTable('messages'), 'id', db)
    .addColumn('blob_id', 'text', (c) => c.notNull())
    .addColumn('header_prefix', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('meta', 'text', (c) => c.notNull())
    .addColumn('refs', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('messages_blob_idx').on('messages').column('blob_id').execute();
  await db.schema.createIndex('messages_refs_idx').on('messages').column('refs').where('refs', '=', 0).execute();

  await db.schema
    .createTable('folder_messages')
    .addColumn('folder_id', 'integer', (c) => c.notNull().references('folders.id'))
    .addColumn('uid', 'bigint', (c) => c.notNull())
    .addColumn('message_id', 'integer', (c) => c.notNull().references('messages.id'))
    .addColumn('flags', 'text', (c) => c.notNull())
    .addColumn('modseq', 'bigint', (c) => c.notNull())
    .addColumn('internal_date', 'bigint', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('folder_messages_pk', ['folder_id', 'uid'])
    .execute();
  await db.schema.createIndex('folder_messages_modseq_idx').on('folder_messages').columns(['folder_id', 'modseq']).execute();
  await db.schema.createIndex('folder_messages_message_idx').on('folder_messages').column('message_id').execute();

  await db.schema
    .createTable('folder_expunges')
    .addColumn('folder_id', 'integer', (c) => c.notNull())
    .addColumn('uid', 'bigint', (c) => c.notNull())
    .addColumn('modseq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('folder_expunges_idx').on('folder_expunges').columns(['folder_id', 'modseq']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
