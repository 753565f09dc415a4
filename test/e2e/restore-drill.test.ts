/**
 * The restore drill: a real appliance under SMTP (swaks) and IMAP APPEND load, `postern backup`
 * taken during the load, then restored into a new data dir and booted: every message
 * acknowledged before the backup started is there and readable over IMAP, and the audit chain
 * verifies. A corrupt backup is refused, a second backup copies only the new blobs, and a
 * point-in-time restore brings a deleted message back into the live appliance (an open IMAP
 * session sees it) without touching the other mailbox.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { cliJson, runCli } from '../helpers/cli.js';
import { swaks } from '../helpers/swaks.js';

const ENV = { POSTERN_SPAM: 'false', POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0' };
const PASSWORD = 'Sturdy-Passw0rd!';
const SMTP_BOX = 'drill.smtp@restore-drill.test';
const IMAP_BOX = 'drill.imap@restore-drill.test';

let app: Appliance;
let restored: Appliance | null = null;
const work = mkdtempSync(path.join(tmpdir(), 'postern-drill-'));
const backupDir = path.join(work, 'backup');

interface Ack {
  subject: string;
  mailbox: string;
  at: number;
}

const imap = (a: Appliance, user: string) => new ImapFlow({ host: '127.0.0.1', port: a.ports.imaps, secure: true, auth: { user, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });

/** Runs SMTP and IMAP APPEND load until `stop()`; returns every acknowledged message with its ack time. */
function startLoad() {
  let running = true;
  const acks: Ack[] = [];
  let seq = 0;
  const smtpWorker = async (w: number) => {
    while (running) {
      const subject = `drill-smtp-${w}-${++seq}`;
      const r = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'load@elsewhere.test', '--to', SMTP_BOX, '--header', `Subject: ${subject}`, '--body', `body of ${subject}`]);
      if (r.exitCode === 0) acks.push({ subject, mailbox: SMTP_BOX, at: Date.now() });
    }
  };
  const imapWorker = async () => {
    const c = imap(app, IMAP_BOX);
    await c.connect();
    while (running) {
      const subject = `drill-imap-${++seq}`;
      await c.append('INBOX', Buffer.from(`From: me@restore-drill.test\r\nTo: ${IMAP_BOX}\r\nSubject: ${subject}\r\n\r\nappended ${subject}\r\n`), ['\\Seen']);
      acks.push({ subject, mailbox: IMAP_BOX, at: Date.now() });
    }
    await c.logout();
  };
  const done = Promise.all([smtpWorker(1), smtpWorker(2), imapWorker()]);
  return {
    acks,
    async stop() {
      running = false;
      await done;
    },
  };
}

async function subjects(a: Appliance, user: string, folder = 'INBOX'): Promise<Map<string, string>> {
  const c = imap(a, user);
  await c.connect();
  await c.mailboxOpen(folder);
  const out = new Map<string, string>();
  if (c.mailbox && c.mailbox.exists > 0) for await (const m of c.fetch('1:*', { envelope: true, source: true })) out.set(m.envelope!.subject!, m.source!.toString('utf8'));
  await c.logout();
  return out;
}

beforeAll(async () => {
  app = await Appliance.start({ env: ENV });
  await app.provisionMailbox(SMTP_BOX, PASSWORD);
  await app.provisionMailbox(IMAP_BOX, PASSWORD);
}, 60_000);

afterAll(async () => {
  await restored?.stop();
  await app?.stop();
  execFileSync('rm', ['-rf', work]);
});

const snapshotNames = () => readdirSync(path.join(backupDir, 'snapshots')).filter((n) => !n.startsWith('.'));

describe('restore drill', () => {
  let firstSnapshot = '';
  let before: Ack[] = [];

  it('backs up during SMTP and APPEND load; the restored appliance has every message acknowledged before the backup, and its audit chain verifies', async () => {
    const load = startLoad();
    while (load.acks.length < 15) await new Promise((r) => setTimeout(r, 50));
    const startedAt = Date.now();
    before = load.acks.filter((a) => a.at < startedAt);
    const t0 = Date.now();
    const backup = await runCli(app, ['backup', '--out', backupDir, '--data-dir', app.dataDir, '--json']);
    const backupMs = Date.now() - t0;
    // Keep the load going a little after the snapshot, then stop.
    while (load.acks.length < before.length + 10) await new Promise((r) => setTimeout(r, 50));
    await load.stop();
    expect(backup.code, backup.stderr).toBe(0);
    const summary = cliJson(backup);
    firstSnapshot = summary.snapshot;
    expect(summary.blobs).toBeGreaterThanOrEqual(before.length);
    expect(summary.blobsCopied).toBe(summary.blobs);
    console.log(`backup under load: ${summary.blobs} blobs, ${backupMs} ms (${before.length} messages acknowledged before it, ${load.acks.length} in all)`);

    const target = path.join(work, 'restored-data');
    const t1 = Date.now();
    const r = await runCli(app, ['restore', '--from', backupDir, '--snapshot', firstSnapshot, '--data-dir', target, '--json']);
    expect(r.code, r.stderr).toBe(0);
    console.log(`restore: ${Date.now() - t1} ms`);
    restored = await Appliance.start({ env: ENV, dataDir: target });
    const got = new Map([...(await subjects(restored, SMTP_BOX))].concat([...(await subjects(restored, IMAP_BOX))]));
    const missing = before.filter((a) => !got.has(a.subject));
    expect(missing).toEqual([]);
    for (const a of before) expect(got.get(a.subject)).toContain(a.subject.startsWith('drill-smtp') ? `body of ${a.subject}` : `appended ${a.subject}`);
    const verify = await restored.api('GET', '/api/v1/audit/verify');
    expect(verify.status).toBe(200);
    expect(verify.body.ok).toBe(true);
    await restored.stop();
    restored = null;
  }, 240_000);

  it('a second backup copies only the blobs that are new', async () => {
    const first = JSON.parse(readFileSync(path.join(backupDir, 'snapshots', firstSnapshot, 'manifest.json'), 'utf8'));
    const known = new Set(first.blobs.map((b: { id: string }) => b.id));
    const r = await runCli(app, ['backup', '--out', backupDir, '--data-dir', app.dataDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const second = cliJson(r);
    const m = JSON.parse(readFileSync(path.join(backupDir, 'snapshots', second.snapshot, 'manifest.json'), 'utf8'));
    const fresh = m.blobs.filter((b: { id: string }) => !known.has(b.id)).length;
    expect(fresh).toBeGreaterThan(0); // the load went on after the first snapshot
    expect(second.blobsCopied).toBe(fresh);
    expect(second.blobsReused).toBe(m.blobs.length - fresh);
    expect(snapshotNames().sort()).toEqual([firstSnapshot, second.snapshot].sort());
    expect(readFileSync(path.join(backupDir, 'LATEST'), 'utf8').trim()).toBe(second.snapshot);
  }, 60_000);

  it('refuses a corrupt backup, a missing blob and a non-empty target, leaving the target untouched', async () => {
    const manifest = JSON.parse(readFileSync(path.join(backupDir, 'snapshots', firstSnapshot, 'manifest.json'), 'utf8'));
    const blob = manifest.blobs[0].id as string;
    const corrupt = path.join(work, 'corrupt');
    cpSync(backupDir, corrupt, { recursive: true });
    const file = path.join(corrupt, 'blobs', blob.slice(0, 2), blob);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x20;
    writeFileSync(file, bytes);
    const target = path.join(work, 'never');
    const bad = await runCli(app, ['restore', '--from', corrupt, '--snapshot', firstSnapshot, '--data-dir', target]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`corrupt backup: blob ${blob} does not match its checksum`));
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes('restoring'))).toEqual([]);

    execFileSync('rm', [file]);
    const gone = await runCli(app, ['restore', '--from', corrupt, '--snapshot', firstSnapshot, '--data-dir', target]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(new RegExp(`corrupt backup: blob ${blob} is missing`));

    const db = path.join(corrupt, 'snapshots', firstSnapshot, 'database.sqlite');
    const dbBytes = readFileSync(db);
    dbBytes[5000] = dbBytes[5000]! ^ 0xff;
    writeFileSync(db, dbBytes);
    const badDb = await runCli(app, ['restore', '--from', corrupt, '--snapshot', firstSnapshot, '--data-dir', target]);
    expect(badDb.stderr).toMatch(/corrupt backup: the database snapshot does not match its checksum/);

    writeFileSync(path.join(corrupt, 'snapshots', firstSnapshot, 'manifest.json'), '{"format":"postern-backup","version":1}');
    const badManifest = await runCli(app, ['restore', '--from', corrupt, '--snapshot', firstSnapshot, '--data-dir', target]);
    expect(badManifest.stderr).toMatch(/does not match its checksum \(corrupt backup\)/);
    expect(existsSync(target)).toBe(false);

    const busy = await runCli(app, ['restore', '--from', backupDir, '--data-dir', app.dataDir]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/is not empty/);
  }, 60_000);

  it('point-in-time: restores a deleted message into the live appliance; an open IMAP session sees it; the other mailbox is untouched', async () => {
    const victim = before.find((a) => a.mailbox === SMTP_BOX)!;
    const c = imap(app, SMTP_BOX);
    await c.connect();
    await c.mailboxOpen('INBOX');
    // SEARCH SUBJECT matches substrings (drill-smtp-1-1 in drill-smtp-1-10): pick the exact one.
    const uids: number[] = [];
    for await (const m of c.fetch('1:*', { envelope: true, uid: true })) if (m.envelope?.subject === victim.subject) uids.push(m.uid);
    expect(uids).toHaveLength(1);
    await c.messageDelete(uids, { uid: true });
    expect((await subjects(app, SMTP_BOX)).has(victim.subject)).toBe(false);
    const otherBefore = await subjects(app, IMAP_BOX);
    const existsBefore = c.mailbox ? c.mailbox.exists : 0;
    const seen = new Promise<number>((resolve) => c.on('exists', (d: { count: number }) => resolve(d.count)));
    const idle = c.idle();

    const r = await runCli(app, ['restore', '--from', backupDir, '--snapshot', firstSnapshot, '--mailbox', SMTP_BOX, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = cliJson(r);
    expect(res.restored).toBe(1);
    expect(res.skipped).toBeGreaterThan(0);
    expect(await Promise.race([seen, new Promise((_, reject) => setTimeout(() => reject(new Error('no EXISTS')), 5000))])).toBe(existsBefore + 1);
    await c.logout().catch(() => undefined);
    void idle.catch(() => undefined);

    const now = await subjects(app, SMTP_BOX);
    expect(now.get(victim.subject)).toContain(`body of ${victim.subject}`);
    expect(await subjects(app, IMAP_BOX)).toEqual(otherBefore);
    const again = cliJson(await runCli(app, ['restore', '--from', backupDir, '--snapshot', firstSnapshot, '--mailbox', SMTP_BOX, '--json']));
    expect(again.restored).toBe(0);
    const events = await app.api('GET', '/api/v1/audit/events?action=mailbox.restore_backup');
    expect(events.body.length).toBe(2);
    expect(events.body[0].after).toMatchObject({ snapshot: firstSnapshot, restored: 1 });
  }, 60_000);

  it('postern export streams a mailbox archive to a file (Maildir, read back by Python)', async () => {
    const out = path.join(work, 'export.tar');
    const r = await runCli(app, ['export', '--mailbox', IMAP_BOX, '--format', 'maildir', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = cliJson(r);
    const dir = path.join(work, 'export');
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('tar', ['-xf', out, '-C', dir]);
    const read = JSON.parse(execFileSync('python3', [path.join(__dirname, '..', 'helpers', 'read_mailbox.py'), 'maildir', path.join(dir, IMAP_BOX, 'Maildir')], { encoding: 'utf8' }));
    const inbox = await subjects(app, IMAP_BOX);
    expect(read.INBOX).toHaveLength(inbox.size);
    expect(summary.messages).toBeGreaterThanOrEqual(inbox.size);
    expect(read.INBOX.every((m: { flags: string }) => m.flags === 'S')).toBe(true);
  }, 60_000);
});
