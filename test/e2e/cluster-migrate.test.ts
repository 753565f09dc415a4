/**
 * `postern migrate` end to end: a real single-node appliance (SQLite + blob folder) receives mail
 * over SMTP and gets flags and a copy into another folder over IMAP; stopped, its data dir is
 * moved into a private PostgreSQL 15 and s3rver by the CLI; a second run copies nothing; a node
 * on PostgreSQL + S3 then serves the same mail (count, flags, bytes) to imapflow.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { Appliance } from '../helpers/appliance.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { swaks } from '../helpers/swaks.js';

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');
const PASSWORD = 'Sturdy-Passw0rd!';
const MAILBOXES = ['alice@move.test', 'bob@move.test'];
const QUIET = { POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0', POSTERN_SPAM: 'false' };

interface Seen {
  folder: string;
  uid: number;
  flags: string[];
  sha: string;
  size: number;
}

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Every message of every folder as imapflow sees it: uid, flags, sha256 of BODY[]. */
async function snapshot(port: number, user: string): Promise<Seen[]> {
  const c = new ImapFlow({ host: '127.0.0.1', port, secure: true, auth: { user, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });
  await c.connect();
  const out: Seen[] = [];
  try {
    for (const box of await c.list()) {
      const lock = await c.getMailboxLock(box.path);
      try {
        if (c.mailbox && c.mailbox.exists === 0) continue;
        for await (const m of c.fetch('1:*', { uid: true, flags: true, source: true }))
          out.push({ folder: box.path, uid: m.uid, flags: [...(m.flags ?? [])].sort(), sha: createHash('sha256').update(m.source!).digest('hex'), size: m.source!.length });
      } finally {
        lock.release();
      }
    }
  } finally {
    await c.logout();
  }
  return out.sort((a, b) => a.folder.localeCompare(b.folder) || a.uid - b.uid);
}

describe('postern migrate: a single node into PostgreSQL + S3', () => {
  let dataDir: string;
  let pgServer: TestPostgres;
  let s3: TestS3;
  let databaseUrl: string;
  const before = new Map<string, Seen[]>();
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'postern-move-src-'));
    [pgServer, s3] = await Promise.all([startPostgres(), startS3()]);
    databaseUrl = await pgServer.createDatabase('move');
    env = { POSTERN_DATABASE_URL: databaseUrl, ...s3.env, POSTERN_DATA_DIR: dataDir };
  }, 120_000);

  afterAll(async () => {
    await Promise.all([pgServer?.destroy(), s3?.stop()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('populates a single node over SMTP and IMAP; migrate refuses while it runs', async () => {
    const app = await Appliance.start({ dataDir, env: QUIET });
    try {
      for (const address of MAILBOXES) await app.provisionMailbox(address, PASSWORD);
      for (let i = 0; i < 6; i++)
        for (const to of MAILBOXES) {
          const r = await swaks([
            '--server',
            `127.0.0.1:${app.ports.smtp}`,
            '--from',
            'sender@elsewhere.test',
            '--to',
            to,
            '--header',
            `Subject: move ${i}`,
            '--body',
            `message ${i} for ${to}\n${'x'
              .repeat(70)
              .concat('\n')
              .repeat(i * 10)}`,
          ]);
          expect(r.exitCode, r.output).toBe(0);
        }
      const c = new ImapFlow({ host: '127.0.0.1', port: app.ports.imaps, secure: true, auth: { user: MAILBOXES[0]!, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });
      await c.connect();
      await c.mailboxOpen('INBOX');
      await c.messageFlagsAdd('1:3', ['\\Seen']);
      await c.messageFlagsAdd('2', ['\\Flagged', '$Important']);
      await c.messageCopy('4:5', 'Archive');
      await c.logout();
      for (const address of MAILBOXES) before.set(address, await snapshot(app.ports.imaps, address));
      expect(before.get(MAILBOXES[0]!)!.length).toBe(8);
      const refused = await cli(['migrate', '--data-dir', dataDir], env);
      expect(refused.code, refused.stdout + refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/appliance is running .*stop it first/);
    } finally {
      await app.stop({ keepData: true });
    }
  }, 120_000);

  it('moves the stopped node into PostgreSQL and S3 and verifies it; a second run copies nothing', async () => {
    const first = await cli(['migrate', '--data-dir', dataDir, '--batch-size', '7'], env);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(/blobs: 12\/12/);
    expect(first.stdout).toMatch(/verified: the target holds the same data/);
    const again = await cli(['migrate', '--data-dir', dataDir, '--json'], env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const report = JSON.parse(again.stdout);
    expect(report).toMatchObject({ ok: true, resumed: true, copiedNow: { rows: 0, blobs: 0 }, blobsVerified: 12, mailboxes: 2, messages: 14 });
    expect(report.tables.find((t: { table: string }) => t.table === 'messages')).toMatchObject({ source: 12, target: 12 });
    // The serial sequences moved past the copied ids: a new folder row gets a fresh id.
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query("select nextval(pg_get_serial_sequence('folders', 'id')) as next, (select max(id) from folders) as max");
      expect(Number(rows[0].next)).toBeGreaterThan(Number(rows[0].max));
    } finally {
      await client.end();
    }
  }, 180_000);

  it('refuses a target that holds other data', async () => {
    const otherUrl = await pgServer.createDatabase('other');
    const other = openPostgres(otherUrl);
    try {
      await migrateToLatest(other.db);
      await other.db.insertInto('tenants').values({ id: 'tnt_someoneelse', name: 'Someone else', created_at: Date.now(), updated_at: Date.now() }).execute();
    } finally {
      await other.close();
    }
    const r = await cli(['migrate', '--data-dir', dataDir], { ...env, POSTERN_DATABASE_URL: otherUrl });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/target database is not empty \(rows in .*tenants.*\)/);
  }, 60_000);

  it('a node on PostgreSQL + S3 serves the same mail over IMAP', async () => {
    const nodeDir = await mkdtemp(path.join(tmpdir(), 'postern-move-node-'));
    const node = await Appliance.start({ dataDir: nodeDir, env: { ...QUIET, POSTERN_DATABASE_URL: databaseUrl, ...s3.env, POSTERN_NODE_ID: 'node-a' } });
    try {
      for (const address of MAILBOXES) expect(await snapshot(node.ports.imaps, address)).toEqual(before.get(address));
    } finally {
      await node.stop();
    }
  }, 120_000);
});
