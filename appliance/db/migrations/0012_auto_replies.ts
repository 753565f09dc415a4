import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
export async function up(db: Kysely<any>): Promise<void> {
  // Who got an auto-reply from which address, so each sender gets at most one per period (RFC 3834 §2).
  await db.schema
    .createTable('auto_replies')
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('auto_replies_pk', ['address', 'sender'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
