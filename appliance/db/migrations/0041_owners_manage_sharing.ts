import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// Shared mailboxes (issue 19): the tenant access policy says whether mailbox owners may manage
// their own sharing (IMAP SETACL/DELETEACL); off by default (grants are an admin's decision).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('access_policies')
    .addColumn('owners_manage_sharing', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
