/**
 * A mailbox for tools that run the mail store without the control plane (the SORT/THREAD
 * benchmark, the IMAP fuzzer): its tenant and domain when missing, the mailbox row and the
 * default folders, in one transaction. The appliance itself creates mailboxes through the core.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { createDefaultFolders } from './folders.js';

export interface StandaloneMailbox {
  tenantId: string;
  domainId: string;
  domain: string;
  mailboxId: string;
  localPart: string;
  passwordHash: string;
  quotaBytes: number;
}

export async function provisionMailbox(db: Kysely<DB>, m: StandaloneMailbox, now = Date.now()): Promise<void> {
  if (!(await db.selectFrom('tenants').select('id').where('id', '=', m.tenantId).executeTakeFirst())) {
    await db.insertInto('tenants').values({ id: m.tenantId, name: m.tenantId, created_at: now, updated_at: now }).execute();
  }
  if (!(await db.selectFrom('domains').select('id').where('id', '=', m.domainId).executeTakeFirst())) {
    await db.insertInto('domains').values({ id: m.domainId, tenant_id: m.tenantId, name: m.domain, created_at: now, updated_at: now }).execute();
  }
  await db
    .insertInto('mailboxes')
    .values({
      id: m.mailboxId,
      tenant_id: m.tenantId,
      domain_id: m.domainId,
      local_part: m.localPart,
      address: `${m.localPart}@${m.domain}`,
      status: 'active',
      quota_bytes: m.quotaBytes,
      password_hash: m.passwordHash,
      owner_name: m.localPart,
      owner_email: `owner@${m.domain}`,
      reset_destination: `owner@${m.domain}`,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await createDefaultFolders(db, m.mailboxId, now);
}
