import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// The mailbox lists at 10,000 mailboxes a tenant (issue 18): a page is an ordered walk of an
// index that stops after `limit` rows, for the default order (id) and the sorts the API offers
// (address, creation time) and the status filter, per tenant and per domain, instead of sorting the whole tenant; and
// the setup links of one mailbox (the ownership answer).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('mailboxes_tenant_id_idx').on('mailboxes').columns(['tenant_id', 'id']).execute();
  await db.schema.createIndex('mailboxes_tenant_status_idx').on('mailboxes').columns(['tenant_id', 'status', 'id']).execute();
  await db.schema.createIndex('mailboxes_tenant_address_idx').on('mailboxes').columns(['tenant_id', 'address']).execute();
  await db.schema.createIndex('mailboxes_tenant_created_idx').on('mailboxes').columns(['tenant_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('mailboxes_domain_id_idx').on('mailboxes').columns(['domain_id', 'id']).execute();
  // the ownership answer's live setup links of one mailbox (a scan of every link before)
  await db.schema.createIndex('setup_tokens_mailbox_idx').on('setup_tokens').columns(['mailbox_id', 'expires_at']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
