/**
 * IMAP migration with an OAuth2 access token (XOAUTH2, as Google and Microsoft require) against
 * a real Dovecot (Debian's dovecot-imapd, private on loopback) whose oauth2 passdb asks a token
 * introspection endpoint (RFC 7662) the test runs on 127.0.0.1; passwords keep working in the
 * same Dovecot (the test fills it with a password login). A valid token copies the mailbox:
 * folders, flags, keywords, internal dates and bytes equal, read back from Postern's own IMAP
 * server. An expired or revoked token fails the job as an authentication failure with a clear
 * message; the failed job's credential is wiped, so a retry needs a fresh token, which then
 * copies the mailbox.
 */
import { createHash } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoreDeps } from '../../appliance/core/deps.js';
import { makeActor, TENANT_PERMISSIONS, type Actor } from '../../appliance/core/kernel/authz.js';
import { getMigration, MigrationRunner, runMigration, startMigration, type MigrationDeps } from '../../appliance/core/migration/index.js';
import { jobFinished } from '../helpers/migration.js';
import { startDovecot, startTokenIntrospection, type Dovecot, type DovecotUser, type TokenIntrospection } from '../helpers/dovecot.js';
import { imapflow, startImapEnv, testCertificate, type ImapTestEnv } from './imap-harness.js';

const SOURCE: DovecotUser = { user: 'alice@old.example', password: 'alice source password' };
const PASS = 'a long enough passphrase';
const INBOX = 60;

function message(i: number, folder: string): Buffer {
  return Buffer.from(
    `From: Sender ${i} <s${i}@old.example>\r\nTo: ${SOURCE.user}\r\nSubject: ${folder} ${i}\r\nMessage-ID: <${folder}-${i}@old.example>\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000\r\n\r\nBody ${i} ${'x'.repeat(i * 37)}\r\n`,
  );
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Every message of a folder as Message-ID, flags, internal date, size and sha256, sorted. */
async function snapshot(c: ImapFlow, folder: string): Promise<string[]> {
  const box = await c.mailboxOpen(folder, { readOnly: true });
  if (!box.exists) return [];
  const out: string[] = [];
  for await (const m of c.fetch('1:*', { flags: true, internalDate: true, size: true, source: true, envelope: true })) {
    const flags = [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort();
    out.push([m.envelope?.messageId, flags.join(' '), new Date(m.internalDate!).getTime(), m.size, sha(m.source!)].join('|'));
  }
  return out.sort();
}

describe('IMAP migration with an OAuth2 access token (XOAUTH2) from a real Dovecot', () => {
  let env: ImapTestEnv;
  let dovecot: Dovecot;
  let issuer: TokenIntrospection;
  let runner: MigrationRunner;
  let deps: MigrationDeps;
  let actor: Actor;
  const mailboxes: Record<string, string> = {};

  const finished = (id: string) => jobFinished(runner, id);

  const source = (accessToken: string) => ({ host: '127.0.0.1', port: dovecot.imapsPort, tls: 'implicit' as const, user: SOURCE.user, accessToken });

  /** The sealed credential column itself (not the view): null once wiped. */
  const storedSecret = async (id: string) => (await env.core.db.selectFrom('imap_migrations').select('source_secret').where('id', '=', id).executeTakeFirstOrThrow()).source_secret;

  async function expectCopied(address: string): Promise<void> {
    const src = dovecot.client(SOURCE); // a password login into the same Dovecot
    const dst = imapflow(env, address, PASS);
    await src.connect();
    await dst.connect();
    try {
      for (const [from, to] of [
        ['INBOX', 'INBOX'],
        ['Archive.2023', 'Archive/2023'],
      ] as const) {
        const [a, b] = [await snapshot(src, from), await snapshot(dst, to)];
        expect(a.length).toBeGreaterThan(0);
        expect(b, `${from} -> ${to}`).toEqual(a);
      }
    } finally {
      await src.logout();
      await dst.logout();
    }
  }

  beforeAll(async () => {
    env = await startImapEnv();
    for (const local of ['alice', 'bob', 'carol']) {
      const mbx = await env.core.createMailbox(`${local}@oauth.test`, PASS);
      mailboxes[local] = mbx.id;
    }
    const tenant = await env.core.db.selectFrom('mailboxes').select('tenant_id').where('id', '=', mailboxes.alice!).executeTakeFirstOrThrow();
    actor = makeActor({ kind: 'token', tenantId: tenant.tenant_id, principalId: 'tok_xoauth2_test', permissions: TENANT_PERMISSIONS, origin: { sourceIp: '127.0.0.9' } });
    issuer = await startTokenIntrospection();
    dovecot = await startDovecot([SOURCE], testCertificate(), { oauth2: { introspectionUrl: issuer.url } });
    const c = dovecot.client(SOURCE);
    await c.connect();
    await c.mailboxCreate('Archive.2023');
    for (let i = 0; i < INBOX; i++) await c.append('INBOX', message(i, 'inbox'), i % 2 ? ['\\Seen'] : ['$Label1'], new Date(Date.UTC(2023, 5, 1) + i * 86_400_000));
    for (let i = 0; i < 7; i++) await c.append('Archive.2023', message(i, 'archive'), ['\\Seen', '\\Answered']);
    await c.logout();
    deps = { ...createCoreDeps(env.core.db, env.core.config), migrations: null };
    runner = new MigrationRunner(deps, { store: env.core.store, logger: env.core.logger, source: { tls: { ca: testCertificate().cert }, maxMessageBytes: env.core.config.maxMessageBytes } });
    deps.migrations = runner;
    await runner.start();
  }, 120_000);

  afterAll(async () => {
    await runner?.stop();
    await dovecot?.stop();
    await issuer?.close();
    await env?.close();
  });

  it('the source takes a token over XOAUTH2 (imapflow) and refuses a password given as a token', async () => {
    const probe = new ImapFlow({
      host: '127.0.0.1',
      port: dovecot.imapsPort,
      secure: true,
      auth: { user: SOURCE.user, accessToken: issuer.issue(SOURCE.user) },
      tls: { ca: testCertificate().cert },
      logger: false,
    });
    await probe.connect();
    expect(probe.authenticated).toBeTruthy();
    expect((probe as unknown as { authCapabilities: Map<string, boolean> }).authCapabilities.get('AUTH=XOAUTH2')).toBe(true);
    await probe.logout();
    const job = await startMigration(actor, deps, mailboxes.carol!, { source: source(SOURCE.password) });
    expect(await finished(job.id)).toBe('failed');
    expect((await getMigration(actor, deps, job.id)).error).toMatch(/refused the OAuth2 access token of alice@old\.example/);
  }, 30_000);

  it('a valid token copies the mailbox; the token is checked by the introspection endpoint, never shown, and wiped at the end', async () => {
    const token = issuer.issue(SOURCE.user);
    const before = issuer.asked.active;
    const started = await startMigration(actor, deps, mailboxes.alice!, { source: source(token) });
    expect(started.source.auth).toBe('xoauth2');
    expect(JSON.stringify(started)).not.toContain(token);
    expect(await finished(started.id)).toBe('done');
    expect(issuer.asked.active).toBeGreaterThan(before); // Dovecot asked the endpoint about this token
    const job = await getMigration(actor, deps, started.id);
    expect(job).toMatchObject({ state: 'done', error: null, credentialsHeld: false, progress: { messages: INBOX + 7, totalMessages: INBOX + 7 } });
    expect(await storedSecret(started.id)).toBeNull();
    await expectCopied('alice@oauth.test');
    const audit = await env.core.db.selectFrom('audit_events').select(['action', 'after']).where('target_id', '=', mailboxes.alice!).orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['mailbox.migration.start', 'mailbox.migration.done']);
    expect(JSON.parse(audit[0]!.after!)).toMatchObject({ auth: 'xoauth2', user: SOURCE.user });
    expect(audit.map((a) => a.after).join()).not.toContain(token);
  }, 60_000);

  it('an expired token fails the job as an authentication failure; the credential is wiped; a fresh token copies the mailbox', async () => {
    const expired = issuer.issue(SOURCE.user, -60_000);
    const started = await startMigration(actor, deps, mailboxes.bob!, { source: source(expired) });
    expect(await finished(started.id)).toBe('failed');
    const failed = await getMigration(actor, deps, started.id);
    expect(failed.error).toMatch(/^the source refused the OAuth2 access token of alice@old\.example \(expired, revoked or not for this account\)/);
    expect(failed.error).not.toContain(expired);
    console.log(`xoauth2: an expired token is reported as: ${failed.error}`);
    expect(failed).toMatchObject({ credentialsHeld: false, progress: { messages: 0 } });
    expect(await storedSecret(started.id)).toBeNull();
    // The failed run wiped the token: a retry needs a fresh one.
    await expect(runMigration(actor, deps, started.id)).rejects.toMatchObject({ code: 'Invalid', message: expect.stringMatching(/fresh OAuth2 access token/) });
    const done = finished(started.id);
    expect((await runMigration(actor, deps, started.id, { accessToken: issuer.issue(SOURCE.user) })).state).toBe('queued');
    expect(await done).toBe('done');
    expect(await getMigration(actor, deps, started.id)).toMatchObject({ state: 'done', runs: 2, credentialsHeld: false, error: null, progress: { messages: INBOX + 7 } });
    expect(await storedSecret(started.id)).toBeNull();
    await expectCopied('bob@oauth.test');
  }, 60_000);

  it('a revoked token is refused the same way', async () => {
    const token = issuer.issue(SOURCE.user);
    issuer.revoke(token);
    const job = await startMigration(actor, deps, mailboxes.carol!, { source: source(token), folders: ['INBOX'] });
    expect(await finished(job.id)).toBe('failed');
    const failed = await getMigration(actor, deps, job.id);
    expect(failed.error).toMatch(/refused the OAuth2 access token of alice@old\.example/);
    expect(failed.credentialsHeld).toBe(false);
  }, 30_000);
});
