/**
 * SORT and THREAD on a large folder (issue 16: "what webmails call on every page view"):
 * builds one mailbox with N messages through the real ingest path on a fresh data dir, starts
 * the real IMAP server on loopback and times, over IMAPS, SELECT, SORT (REVERSE DATE),
 * SORT (SUBJECT), SORT (DISPLAYFROM), THREAD=REFERENCES and THREAD=ORDEREDSUBJECT on ALL, and
 * ESORT RETURN (PARTIAL 1:50) as a webmail page uses it. Each command runs twice: "first" (no
 * sort keys cached in the process) and "again".
 *
 *   node dist/scripts/bench/imap-sort-large.js [--messages 100000]
 *
 * Postern only: the 1,200-message folder is compared with Dovecot in the main bench (case-imap).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../appliance/config.js';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { hashPassword } from '../../appliance/core/access/passwords.js';
import { openSqlite } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { startImapServer } from '../../appliance/imap/server.js';
import { createLogger } from '../../appliance/logger.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { createDefaultFolders } from '../../appliance/mailstore/folders.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { ImapClient } from './imap-client.js';

const WORDS = ['budget', 'lunch', 'release', 'invoice', 'meeting', 'report', 'party', 'travel', 'review', 'plan', 'draft', 'update'];

function message(i: number, user: string): Buffer {
  // Threads of up to 8 messages: every 8th starts one, the others reply to the previous one.
  const root = i - (i % 8);
  const subject = `${i % 8 ? 'Re: ' : ''}${WORDS[root % WORDS.length]} ${Math.floor(root / 8)}`;
  const refs = i % 8 ? `References: ${Array.from({ length: i % 8 }, (_, k) => `<m${root + k}@bench>`).join(' ')}\r\nIn-Reply-To: <m${i - 1}@bench>\r\n` : '';
  const date = new Date(Date.UTC(2024, 0, 1) + ((i * 7919) % 100_000) * 60_000).toUTCString().replace('GMT', '+0000');
  return Buffer.from(
    `From: "Sender ${i % 97}" <s${i % 97}@example.org>\r\nTo: ${user}\r\nSubject: ${subject}\r\nDate: ${date}\r\nMessage-ID: <m${i}@bench>\r\n${refs}\r\nbody ${i}\r\n`,
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const n = argv[0] === '--messages' ? Number(argv[1]) : 100_000;
  if (!Number.isInteger(n) || n < 1) throw new Error('--messages takes a positive whole number');
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-sortbench-'));
  try {
    const config = loadConfig({ POSTERN_DATA_DIR: dir, POSTERN_LOG_LEVEL: 'silent' });
    const logger = createLogger('silent', { pretty: false });
    const { db, close } = openSqlite(path.join(dir, 'postern.db'));
    await migrateToLatest(db);
    const blobs = await FileBlobStore.open(path.join(dir, 'blobs'));
    const store = new SqlMailStore({ db, blobs, maxMessageBytes: config.maxMessageBytes });
    const now = Date.now();
    const user = 'bench@sort.bench';
    const password = 'sort bench password';
    await db.insertInto('tenants').values({ id: 'tnt_bench', name: 'Bench', created_at: now, updated_at: now }).execute();
    await db.insertInto('domains').values({ id: 'dom_bench', tenant_id: 'tnt_bench', name: 'sort.bench', created_at: now, updated_at: now }).execute();
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('mailboxes')
        .values({ id: 'mbx_bench', tenant_id: 'tnt_bench', domain_id: 'dom_bench', local_part: 'bench', address: user, status: 'active', quota_bytes: 1e12, password_hash: await hashPassword(password), owner_name: 'Bench', owner_email: 'owner@example.net', reset_destination: 'owner@example.net', created_at: now, updated_at: now })
        .execute();
      await createDefaultFolders(trx, 'mbx_bench', now);
    });
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const i = next++;
        await store.ingest.ingest(message(i, user), [{ mailboxId: 'mbx_bench', folder: 'INBOX' }], { enforceQuota: false });
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    console.log(`ingested ${n} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=sort.bench', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cfg = Object.freeze({ ...config, ports: { ...config.ports, imap: 0, imaps: 0 } });
    const server = await startImapServer({ config: cfg, logger, store, credentials: new CredentialService(db, logger), tls: { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') } });
    const c = await ImapClient.connect(server.ports.imaps, 600_000);
    await c.login(user, password);
    const time = async (label: string, cmd: string) => {
      const out: string[] = [];
      for (const run of ['first', 'again']) {
        const t = performance.now();
        const r = await c.command(cmd, { keep: true });
        if (r.status !== 'OK') throw new Error(`${cmd}: ${r.status} ${r.text}`);
        out.push(`${run} ${(performance.now() - t).toFixed(0)} ms`);
      }
      console.log(`${label.padEnd(44)} ${out.join(', ')}`);
    };
    await time(`SELECT INBOX (${n})`, 'EXAMINE INBOX');
    await time('SORT (REVERSE DATE) UTF-8 ALL', 'SORT (REVERSE DATE) UTF-8 ALL');
    await time('SORT (SUBJECT) UTF-8 ALL', 'SORT (SUBJECT) UTF-8 ALL');
    await time('SORT (DISPLAYFROM) UTF-8 ALL', 'SORT (DISPLAYFROM) UTF-8 ALL');
    await time('SORT RETURN (PARTIAL 1:50) (REVERSE ARRIVAL)', 'SORT RETURN (PARTIAL 1:50) (REVERSE ARRIVAL) UTF-8 ALL');
    await time('SORT (REVERSE DATE) UTF-8 UNSEEN', 'SORT (REVERSE DATE) UTF-8 UNSEEN');
    await time('THREAD REFERENCES UTF-8 ALL', 'THREAD REFERENCES UTF-8 ALL');
    await time('THREAD ORDEREDSUBJECT UTF-8 ALL', 'THREAD ORDEREDSUBJECT UTF-8 ALL');
    await c.logout();
    await server.close();
    await store.queue.drain();
    await close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
