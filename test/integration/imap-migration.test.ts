/**
 * IMAP migration (issue 20) against a real Dovecot (Debian's dovecot-imapd, private on
 * loopback): a varied corpus (multipart, 8-bit, a 30 MB message, over 3,000 small messages,
 * nested and non-ASCII folder names, a localized Trash, server-declared special uses,
 * keywords, \Seen/\Flagged) is copied through the one ingest path and read back from Postern's
 * own IMAP server with imapflow: counts, flags, internal dates and bytes match. A second run
 * copies nothing; a source connection killed mid-folder resumes without duplicates; a source
 * folder whose UIDVALIDITY changed is matched by Message-ID; a wrong password fails clearly and
 * its credential is wiped (as after done and cancelled; only an interrupted job keeps it).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoreDeps } from '../../appliance/core/deps.js';
import { makeActor, TENANT_PERMISSIONS, type Actor } from '../../appliance/core/kernel/authz.js';
import { cancelMigration, getMigration, listMigrations, MigrationRunner, runMigration, startMigration, type MigrationDeps, type MigrationView } from '../../appliance/core/migration/index.js';
import { jobFinished } from '../helpers/migration.js';
import { startDovecot, type Dovecot, type DovecotUser } from '../helpers/dovecot.js';
import { imapflow, startImapEnv, testCertificate, type ImapTestEnv } from './imap-harness.js';

const SOURCE: DovecotUser = { user: 'alice', password: 'source secret 1' };
const ADDRESS = 'alice@migrated.test';
const PASS = 'a long enough passphrase';
/** 2,100 small INBOX messages + 600 (Bulk) + 300 (Restart) + 26 others: 3,026 messages cross the migration in this file. */
const SMALL = 2100;
const BULK = 600;
const BIG = 30 * 1024 * 1024;

const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures/mail', name));

function message(i: number, folder: string, extra = ''): Buffer {
  return Buffer.from(
    `From: Sender ${i} <s${i}@old.example>\r\nTo: ${ADDRESS}\r\nSubject: ${folder} message ${i}\r\nMessage-ID: <${folder.replace(/\W/g, '')}-${i}@old.example>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nBody ${i} ${extra}\r\n`,
  );
}

function eightBit(): Buffer {
  return Buffer.concat([
    Buffer.from('From: =?UTF-8?Q?J=C3=BCrgen?= <j@old.example>\r\nTo: alice@old.example\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <eightbit@old.example>\r\nMIME-Version: 1.0\r\n'),
    Buffer.from('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln — ½ € ✓\r\n', 'utf8'),
  ]);
}

function bigMessage(): Buffer {
  const head =
    'From: big@old.example\r\nTo: alice@old.example\r\nSubject: thirty megabytes\r\nMessage-ID: <big@old.example>\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n';
  const line = `${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx'.slice(0, 76)}\r\n`;
  return Buffer.from(head + line.repeat(Math.ceil((BIG - head.length) / line.length)));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Seen {
  key: string;
  flags: string;
  date: number;
  size: number;
  sha: string;
}

/** Every message of a folder as (Message-ID, flags, internal date, size, sha256 of the bytes), sorted. */
async function snapshot(c: ImapFlow, folder: string): Promise<Seen[]> {
  const box = await c.mailboxOpen(folder, { readOnly: true });
  if (!box.exists) return [];
  const out: Seen[] = [];
  for await (const m of c.fetch('1:*', { uid: true, flags: true, internalDate: true, size: true, source: true, envelope: true })) {
    const flags = [...(m.flags ?? [])]
      .filter((f) => f !== '\\Recent')
      .sort()
      .join(' ');
    out.push({ key: m.envelope?.messageId ?? `uid${m.uid}`, flags, date: new Date(m.internalDate!).getTime(), size: m.size!, sha: sha(m.source!) });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

async function append(c: ImapFlow, folder: string, items: Array<{ raw: Buffer; flags?: string[]; date?: Date }>): Promise<void> {
  for (const it of items) await c.append(folder, it.raw, it.flags ?? [], it.date);
}

describe('IMAP migration from a real Dovecot', () => {
  let env: ImapTestEnv;
  let dovecot: Dovecot;
  let runner: MigrationRunner;
  let deps: MigrationDeps;
  let actor: Actor;
  let mailboxId: string;
  let jobId: string;
  const timings: Record<string, number> = {};

  const finished = (id: string) => jobFinished(runner, id);

  /** The sealed credential column itself (not the view): null once wiped. */
  const storedSecret = async (id: string) => (await env.core.db.selectFrom('imap_migrations').select('source_secret').where('id', '=', id).executeTakeFirstOrThrow()).source_secret;

  const source = (over: Partial<DovecotUser> = {}) => ({ host: '127.0.0.1', port: dovecot.imapsPort, tls: 'implicit' as const, user: SOURCE.user, password: over.password ?? SOURCE.password });

  beforeAll(async () => {
    const t0 = Date.now();
    env = await startImapEnv();
    const mbx = await env.core.createMailbox(ADDRESS, PASS, { quotaBytes: 2 * 1024 ** 3 });
    mailboxId = mbx.id;
    const tenant = await env.core.db.selectFrom('mailboxes').select('tenant_id').where('id', '=', mailboxId).executeTakeFirstOrThrow();
    actor = makeActor({ kind: 'token', tenantId: tenant.tenant_id, principalId: 'tok_migration_test', permissions: TENANT_PERMISSIONS, origin: { sourceIp: '127.0.0.9' } });
    dovecot = await startDovecot([SOURCE], testCertificate());
    const c = dovecot.client(SOURCE);
    await c.connect();
    for (const f of ['Sent Items', 'Drafts', 'Spam', 'Papierkorb', 'Projekte', 'Projekte.Größe 2024', 'Clients', 'Clients.Archive', 'Big']) await c.mailboxCreate(f).catch(() => undefined);
    const inbox = Array.from({ length: SMALL }, (_, i) => ({
      raw: message(i, 'inbox'),
      flags: [i % 3 === 0 ? '\\Seen' : '', i % 7 === 0 ? '\\Flagged' : '', i % 11 === 0 ? '$Label1' : '', i % 13 === 0 ? 'Project-X' : ''].filter(Boolean),
      date: new Date(Date.UTC(2020, 0, 1) + i * 3_600_000),
    }));
    inbox.push(
      { raw: fixture('multipart-attachment.eml'), flags: ['\\Answered'], date: new Date('2019-05-05T05:05:05Z') },
      { raw: fixture('nested-rfc822.eml'), flags: [], date: new Date('2019-06-06T06:06:06Z') },
      { raw: eightBit(), flags: ['\\Seen'], date: new Date('2018-01-02T03:04:05Z') },
    );
    await append(c, 'INBOX', inbox);
    await append(
      c,
      'Sent Items',
      [0, 1, 2, 3, 4].map((i) => ({ raw: message(i, 'sent'), flags: ['\\Seen'] })),
    );
    await append(c, 'Drafts', [{ raw: message(0, 'draft'), flags: ['\\Draft'] }]);
    await append(c, 'Spam', [{ raw: fixture('utf8-headers.eml') }]);
    await append(
      c,
      'Papierkorb',
      [0, 1].map((i) => ({ raw: message(i, 'trash'), flags: ['\\Seen', '\\Deleted'] })),
    );
    await append(
      c,
      'Projekte.Größe 2024',
      [0, 1, 2].map((i) => ({ raw: message(i, 'projekte'), flags: ['Project-X'] })),
    );
    await append(c, 'Clients.Archive', [{ raw: message(0, 'clients') }]);
    await append(c, 'Big', [{ raw: bigMessage(), flags: ['\\Flagged'], date: new Date('2021-02-03T04:05:06Z') }]);
    await c.logout();
    timings.setup = Date.now() - t0;
    deps = { ...createCoreDeps(env.core.db, env.core.config), migrations: null };
    runner = new MigrationRunner(deps, {
      store: env.core.store,
      logger: env.core.logger,
      source: { tls: { ca: testCertificate().cert }, maxMessageBytes: env.core.config.maxMessageBytes },
      perHost: 2,
    });
    deps.migrations = runner;
    await runner.start();
  }, 180_000);

  afterAll(async () => {
    console.log('imap-migration timings (ms):', JSON.stringify(timings));
    await runner?.stop();
    await dovecot?.stop();
    await env?.close();
  });

  it('copies every folder: special uses mapped, names decoded, flags, keywords, dates and bytes equal', async () => {
    const t0 = Date.now();
    const started = await startMigration(actor, deps, mailboxId, { source: source() });
    jobId = started.id;
    expect(started.state).toBe('queued');
    expect(JSON.stringify(started)).not.toContain(SOURCE.password);
    expect(await finished(jobId)).toBe('done');
    timings.firstRun = Date.now() - t0;
    const job = await getMigration(actor, deps, jobId);
    expect(job.error).toBeNull();
    expect(job.credentialsHeld).toBe(false); // wiped when the job ended
    expect(await storedSecret(jobId)).toBeNull();
    const targets = Object.fromEntries(job.progress.folders.map((f) => [f.source, f.target]));
    expect(targets).toMatchObject({
      INBOX: 'INBOX',
      'Sent Items': 'Sent',
      Drafts: 'Drafts',
      Spam: 'Junk',
      Papierkorb: 'Trash',
      'Projekte.Größe 2024': 'Projekte/Größe 2024',
      'Clients.Archive': 'Clients/Archive',
      Big: 'Big',
    });
    const expected = SMALL + 3 + 5 + 1 + 1 + 2 + 3 + 1 + 1;
    expect(job.progress.messages).toBe(expected);
    expect(job.progress.totalMessages).toBe(expected);
    expect(job.progress.bytes).toBe(job.progress.totalBytes);
    expect(job.progress.folders.every((f) => f.done && f.copied === f.total)).toBe(true);
    expect(job.report).toMatchObject({ run: 1, state: 'done', copied: expected, skipped: [], deduplicated: 0 });

    const src = dovecot.client(SOURCE);
    const dst = imapflow(env, ADDRESS, PASS);
    await src.connect();
    await dst.connect();
    try {
      for (const [from, to] of Object.entries(targets)) {
        const [a, b] = [await snapshot(src, from), await snapshot(dst, to)];
        expect(b.length, `${from} -> ${to}`).toBe(a.length);
        expect(b, `${from} -> ${to}`).toEqual(a);
      }
    } finally {
      await src.logout();
      await dst.logout();
    }
    const audit = await env.core.db.selectFrom('audit_events').select(['action', 'after', 'source_ip']).where('target_id', '=', mailboxId).orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['mailbox.migration.start', 'mailbox.migration.done']);
    expect(audit[0]!.source_ip).toBe('127.0.0.9');
    expect(JSON.parse(audit[1]!.after!)).toMatchObject({ migrationId: jobId, copied: expected });
    expect(audit.map((a) => a.after).join()).not.toContain(SOURCE.password);
  }, 180_000);

  it('a second run copies nothing; it needs the credential again, which the ended job no longer holds', async () => {
    await expect(runMigration(actor, deps, jobId)).rejects.toMatchObject({ code: 'Invalid' });
    const t0 = Date.now();
    const done = finished(jobId);
    expect((await runMigration(actor, deps, jobId, { password: SOURCE.password })).state).toBe('queued');
    expect(await done).toBe('done');
    timings.secondRun = Date.now() - t0;
    const job = await getMigration(actor, deps, jobId);
    expect(job.report).toMatchObject({ run: 2, copied: 0, bytes: 0 });
    expect(job.runs).toBe(2);
  }, 60_000);

  it('a source connection cut mid-folder reconnects and resumes without duplicates', async () => {
    const c = dovecot.client(SOURCE);
    await c.connect();
    await c.mailboxCreate('Bulk');
    await append(
      c,
      'Bulk',
      Array.from({ length: BULK }, (_, i) => ({ raw: message(i, 'bulk', 'x'.repeat(2000)) })),
    );
    await c.logout();
    let killed = 0;
    const onProgress = (id: string, folder: string, copied: number) => {
      if (id === jobId && folder === 'Bulk' && copied >= 200 && !killed) {
        for (const pid of dovecot.sessionPids()) process.kill(pid, 'SIGKILL');
        killed = 1;
      }
    };
    runner.events.on('progress', onProgress);
    const t0 = Date.now();
    const done = finished(jobId);
    await runMigration(actor, deps, jobId, { password: SOURCE.password });
    expect(await done).toBe('done');
    runner.events.off('progress', onProgress);
    timings.cutRun = Date.now() - t0;
    expect(killed).toBe(1);
    const job = await getMigration(actor, deps, jobId);
    expect(job.report!.reconnects).toBeGreaterThanOrEqual(1);
    expect(job.report!.copied).toBe(BULK);
    const dst = imapflow(env, ADDRESS, PASS);
    await dst.connect();
    try {
      const got = await snapshot(dst, 'Bulk');
      expect(got.length).toBe(BULK);
      expect(new Set(got.map((g) => g.key)).size).toBe(BULK);
    } finally {
      await dst.logout();
    }
  }, 120_000);

  it('a stopped runner (the appliance shutting down) leaves the job interrupted; a new runner resumes it on run without duplicates', async () => {
    const c = dovecot.client(SOURCE);
    await c.connect();
    await c.mailboxCreate('Restart');
    await append(
      c,
      'Restart',
      Array.from({ length: 300 }, (_, i) => ({ raw: message(i, 'restart') })),
    );
    await c.logout();
    let stopping: Promise<void> | null = null;
    const onProgress = (id: string, folder: string, copied: number) => {
      if (id === jobId && folder === 'Restart' && copied >= 100 && !stopping) stopping = runner.stop();
    };
    runner.events.on('progress', onProgress);
    const ended = finished(jobId);
    await runMigration(actor, deps, jobId, { password: SOURCE.password });
    expect(await ended).toBe('interrupted');
    await stopping;
    const mid = await getMigration(actor, deps, jobId);
    expect(mid).toMatchObject({ state: 'interrupted', credentialsHeld: true }); // it resumes: the one state that keeps the credential
    expect(await storedSecret(jobId)).toMatch(/^enc:v1:/);
    expect(mid.progress.folders.find((f) => f.source === 'Restart')!.copied).toBeLessThan(300);
    runner = new MigrationRunner(deps, { store: env.core.store, logger: env.core.logger, source: { tls: { ca: testCertificate().cert }, maxMessageBytes: env.core.config.maxMessageBytes } });
    deps.migrations = runner;
    await runner.start();
    const done = finished(jobId);
    await runMigration(actor, deps, jobId);
    expect(await done).toBe('done');
    const job = await getMigration(actor, deps, jobId);
    expect(job.progress.folders.find((f) => f.source === 'Restart')).toMatchObject({ copied: 300, total: 300, done: true });
    expect(await storedSecret(jobId)).toBeNull(); // the resumed run ended: wiped
    const dst = imapflow(env, ADDRESS, PASS);
    await dst.connect();
    const got = await snapshot(dst, 'Restart');
    await dst.logout();
    expect(got.length).toBe(300);
    expect(new Set(got.map((g) => g.key)).size).toBe(300);
  }, 60_000);

  it('a source folder whose UIDVALIDITY changed is matched by Message-ID: only the new message is copied', async () => {
    const c = dovecot.client(SOURCE);
    await c.connect();
    await c.mailboxDelete('Projekte.Größe 2024');
    await c.mailboxCreate('Projekte.Größe 2024');
    await append(
      c,
      'Projekte.Größe 2024',
      [0, 1, 2, 3].map((i) => ({ raw: message(i, 'projekte'), flags: ['Project-X'] })),
    );
    await c.logout();
    const done = finished(jobId);
    await runMigration(actor, deps, jobId, { password: SOURCE.password });
    expect(await done).toBe('done');
    const job = await getMigration(actor, deps, jobId);
    expect(job.report).toMatchObject({ copied: 1, deduplicated: 3 });
    expect(job.report!.folders.find((f) => f.source === 'Projekte.Größe 2024')).toMatchObject({ uidValidityChanged: true, copied: 1 });
    const dst = imapflow(env, ADDRESS, PASS);
    await dst.connect();
    expect((await snapshot(dst, 'Projekte/Größe 2024')).length).toBe(4);
    await dst.logout();
  }, 60_000);

  it('a wrong password fails the job with the source refusal and wipes its credential; a retry needs it again; the job lists and cancels', async () => {
    const job = await startMigration(actor, deps, mailboxId, { source: source({ password: 'wrong' }), folders: ['INBOX'] });
    expect(await storedSecret(job.id)).toMatch(/^enc:v1:/); // sealed while the job is queued
    expect(await finished(job.id)).toBe('failed');
    const failed = await getMigration(actor, deps, job.id);
    expect(failed.error).toMatch(/refused the login of alice/);
    expect(failed.error).not.toContain('wrong');
    expect(failed.progress.messages).toBe(0);
    expect(failed.credentialsHeld).toBe(false); // no credential outlives the run that needed it
    expect(await storedSecret(job.id)).toBeNull();
    await expect(runMigration(actor, deps, job.id)).rejects.toMatchObject({ code: 'Invalid', message: expect.stringMatching(/give the source password \(password\) again/) });
    const list: MigrationView[] = await listMigrations(actor, deps, mailboxId);
    expect(list.map((j) => j.id)).toEqual([job.id, jobId]);
    const cancelled = await cancelMigration(actor, deps, job.id);
    expect(cancelled).toMatchObject({ state: 'cancelled', credentialsHeld: false });
    expect(await storedSecret(job.id)).toBeNull();
  }, 60_000);

  it('cancelling a queued job wipes the credential it was given', async () => {
    const job = await startMigration(actor, { ...deps, migrations: null }, mailboxId, { source: source(), folders: ['INBOX'] }); // recorded, not handed to the runner
    expect(await storedSecret(job.id)).toMatch(/^enc:v1:/);
    const cancelled = await cancelMigration(actor, deps, job.id);
    expect(cancelled).toMatchObject({ state: 'cancelled', credentialsHeld: false });
    expect(await storedSecret(job.id)).toBeNull();
  }, 60_000);
});
