/**
 * The real domain core over a fresh temporary data dir: migrated SQLite, the blob store (the
 * folder, or S3 when `env` has `startS3().env`), the mail store, the credential module and the
 * recipient router. For tests of IMAP and of the store; nothing here is a fake.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../appliance/config.js';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { hashPassword } from '../../appliance/core/access/passwords.js';
import { RecipientRouter } from '../../appliance/core/delivery/routing.js';
import { createLogger } from '../../appliance/logger.js';
import { openBlobStore } from '../../appliance/mailstore/blobstore.js';
import { createDefaultFolders } from '../../appliance/mailstore/folders.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { openTestDatabase } from './database.js';

export type TestCore = Awaited<ReturnType<typeof createTestCore>>;

export async function createTestCore(env: Record<string, string> = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'postern-core-'));
  const config = loadConfig({ POSTERN_DATA_DIR: dataDir, POSTERN_LOG_LEVEL: process.env.POSTERN_TEST_LOG_LEVEL ?? 'silent', ...env });
  const logger = createLogger(config.logLevel, { pretty: false });
  const { db, close: closeDb } = await openTestDatabase(path.join(dataDir, 'postern.db'));
  const blobs = await openBlobStore(config.storage, path.join(dataDir, 'blobs')); // POSTERN_BLOB_STORE=s3 in env: S3
  const store = new SqlMailStore({ db, blobs, maxMessageBytes: config.maxMessageBytes });
  const credentials = new CredentialService(db, logger);
  const router = new RecipientRouter(db);
  let tenantId: string | null = null;
  let seq = 0;

  async function ensureDomain(domain: string): Promise<{ tenantId: string; domainId: string }> {
    const now = Date.now();
    if (!tenantId) {
      tenantId = `tnt_test${Date.now().toString(36)}`;
      await db.insertInto('tenants').values({ id: tenantId, name: 'Test tenant', created_at: now, updated_at: now }).execute();
    }
    const existing = await db.selectFrom('domains').select('id').where('name', '=', domain).executeTakeFirst();
    if (existing) return { tenantId, domainId: existing.id };
    const domainId = `dom_test${++seq}`;
    await db.insertInto('domains').values({ id: domainId, tenant_id: tenantId, name: domain, created_at: now, updated_at: now }).execute();
    return { tenantId, domainId };
  }

  return {
    dataDir,
    config,
    logger,
    db,
    blobs,
    store,
    credentials,
    router,
    /** Creates an active mailbox with its default folders and the given password. */
    async createMailbox(address: string, password: string, opts: { quotaBytes?: number } = {}) {
      const [local, domain] = address.toLowerCase().split('@') as [string, string];
      const { tenantId: t, domainId } = await ensureDomain(domain);
      const id = `mbx_test${++seq}`;
      const now = Date.now();
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('mailboxes')
          .values({
            id,
            tenant_id: t,
            domain_id: domainId,
            local_part: local,
            address: `${local}@${domain}`,
            status: 'active',
            quota_bytes: opts.quotaBytes ?? config.defaultQuotaBytes,
            password_hash: await hashPassword(password),
            owner_name: 'Test Owner',
            owner_email: 'owner@example.net',
            reset_destination: 'owner@example.net',
            created_at: now,
            updated_at: now,
          })
          .execute();
        await createDefaultFolders(trx, id, now);
      });
      return { id, address: `${local}@${domain}` };
    },
    /** Delivers raw bytes to an address through the router and the one ingest path (as SMTP does). */
    async deliver(address: string, raw: Buffer, opts: { folder?: string } = {}) {
      const r = await router.resolve(address, raw.length);
      if (!r.ok) throw new Error(`cannot deliver to ${address}: ${r.refusal}`);
      return store.ingest.ingest(
        raw,
        r.mailboxes.map((m) => ({ mailboxId: m.id, folder: opts.folder ?? 'INBOX', prefix: `Delivered-To: ${address}\r\n` })),
        { enforceQuota: false },
      );
    },
    async close() {
      await store.queue.drain();
      await closeDb();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A folder of at least `entries` messages made quickly: a quarter appended (`msg(i)`), the rest
 * copies of them within the folder (no ingest per copy). Returns the folder.
 */
export async function folderOfCopies(core: TestCore, mailboxId: string, name: string, entries: number, msg: (i: number) => Buffer) {
  const folder = await core.store.createFolder(mailboxId, name);
  const quarter = Math.ceil(entries / 4);
  await core.store.appendMany(
    mailboxId,
    name,
    Array.from({ length: quarter }, (_, i) => ({ raw: msg(i) })),
  );
  const uids = Array.from({ length: quarter }, (_, i) => i + 1);
  for (let k = 0; k < 3; k++) await core.store.copyMessages(folder.id, uids, folder.id);
  await core.store.queue.drain();
  return folder;
}
