import { type Kysely, sql } from 'kysely';

// Frozen in time: later changes go into new migrations.
// The mailbox list's `?q=` at 10,000 mailboxes a tenant (issue 18): the four searched fields
// (address, display name, owner name, owner email), lower-cased and joined by U+001F, in an
// index beside the tenant and the list's order. A search walks this index alone (SQLite answers
// the expression from the index, never reading a row) and stops after a page of matches, then
// reads that page's rows by id. Plain SQL on both engines; no trigger: the engine keeps the
// index with every write, a bulk creation pays one more index entry per mailbox (the trigram
// index taken out of 0057 paid dozens). The same expression is in repos/mailboxes.ts.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('mailboxes_search_text_idx')
    .on('mailboxes')
    .expression(sql`"tenant_id", "id", "status", (lower("address") || '\u001f' || lower(coalesce("display_name", '')) || '\u001f' || lower("owner_name") || '\u001f' || lower("owner_email"))`)
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
