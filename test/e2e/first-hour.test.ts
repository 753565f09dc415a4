/**
 * A new operator's first hour, end to end on the real appliance (Haraka, IMAP, control plane):
 * the first-boot operator link dies once an operator exists; no listener names its software;
 * real mail clients (msmtp, mbsync) configured only from the served autoconfig document send
 * and read mail; and postmaster@/abuse@/report addresses (and a bare <postmaster>) are accepted
 * over SMTP and stored where the tenant's contact reads them.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { findStored } from '../helpers/stored.js';
import { swaks } from '../helpers/swaks.js';

const XML_CHECK = path.join(__dirname, '..', 'helpers', 'xml_check.py');
const PASSWORD = 'Sturdy-Passw0rd!';

function xmlCheck(kind: string, doc: string): any {
  return JSON.parse(execFileSync('python3', [XML_CHECK, kind], { input: doc, encoding: 'utf8' }));
}

/** The first line a server sends, and optionally the replies to a few commands (SMTP-style). */
async function dialogue(port: number, commands: string[] = [], imap = false): Promise<string[]> {
  const sock = connect(port, '127.0.0.1');
  sock.setEncoding('utf8');
  let buffer = '';
  const waiters: Array<(reply: string) => void> = [];
  sock.on('data', (d: string) => {
    buffer += d;
    for (;;) {
      const m = imap ? /^(\* |[A-Z0-9]+ ).*\r\n/m.exec(buffer) : /^(\d{3}) .*\r?\n/m.exec(buffer);
      if (!m) break;
      const end = m.index + m[0].length;
      waiters.shift()?.(buffer.slice(0, end).trim());
      buffer = buffer.slice(end);
    }
  });
  const next = () => new Promise<string>((resolve) => waiters.push(resolve));
  const out = [await next()];
  for (const c of commands) {
    const p = next();
    sock.write(`${c}\r\n`);
    out.push(await p);
  }
  sock.destroy();
  return out;
}

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

describe('first boot: the operator setup link', () => {
  it('a link logged at a boot without token answers 410 after a restart with POSTERN_BOOTSTRAP_TOKEN, and boot says so', async () => {
    const first = await Appliance.start({ env: { POSTERN_BOOTSTRAP_TOKEN: '' } });
    try {
      const url = /(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/operator-setup\/psu_[A-Za-z0-9_-]+)/.exec(first.logs.join(''))?.[1];
      expect(url, 'the setup link is logged').toBeTruthy();
      await first.stop({ keepData: true });
      const second = await Appliance.start({ dataDir: first.dataDir, ports: first.ports });
      try {
        const revoked = second.logs
          .join('')
          .split('\n')
          .filter((l) => l.includes('operator.bootstrap'));
        expect(revoked).toHaveLength(1);
        expect(revoked[0]).toMatch(/every open operator setup link revoked/);
        expect(revoked[0]).toMatch(/revokedLinks\W+1\b/);
        const res = await fetch(url!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'late' }) });
        expect(res.status).toBe(410);
        const audit = await second.expectApi<Array<{ action: string }>>('GET', '/api/v1/audit/events?action=operator.setup_link.revoke', undefined, 200);
        expect(audit).toHaveLength(1);
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
    }
  }, 90_000);
});

describe('the operator’s first hour', () => {
  let app: Appliance;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'postern-first-hour-'));
    // Clients reach the appliance at 127.0.0.1 on the listen ports (no NAT in the test).
    app = await Appliance.start({ env: { POSTERN_PUBLIC_HOSTNAME: '127.0.0.1' } });
    await app.provisionMailbox('alice@first.test', PASSWORD);
    await app.provisionMailbox('contact@first.test', PASSWORD);
    await app.provisionMailbox('ops@first.test', PASSWORD);
    // The tenant's contact (its administrator) and the operator, as people with addresses.
    await app.expectApi('POST', `/api/v1/tenants/${app.tenantId}/principals`, { name: 'Tenant Contact', email: 'contact@first.test' }, 201);
    await app.expectApi('POST', '/api/v1/principals', { name: 'Operator', email: 'ops@first.test' }, 201);
    await app.ensureDomain('second.test');
  }, 120_000);
  afterAll(async () => {
    await app?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('no listener names its software or version', async () => {
    const smtp = await dialogue(app.ports.smtp, ['EHLO client.test', 'MAIL FROM:<x@client.test>', 'RCPT TO:<alice@first.test>', 'DATA']);
    expect(smtp[0]).toBe('220 mx.postern.test ESMTP');
    expect(smtp[4]).toBe('354 Start mail input; end with <CRLF>.<CRLF>');
    const sub = await dialogue(app.ports.submission);
    expect(sub[0]).toBe('220 mx.postern.test ESMTP');
    const imap = await dialogue(app.ports.imap, ['a1 ID NIL'], true);
    expect(imap[0]).toMatch(/^\* OK \[CAPABILITY [^\]]+\] mx\.postern\.test IMAP ready$/);
    expect(imap[1]).toBe('* ID NIL');
    for (const line of [...smtp, ...sub, ...imap]) expect(line.replaceAll('mx.postern.test', '<host>').replaceAll('127.0.0.1', '<ip>')).not.toMatch(/haraka|postern|node|\d+\.\d+\.\d+|make my day/i);
    for (const url of ['/healthz', '/', '/api/v1/tenants', '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@first.test', '/nope.js']) {
      const res = await fetch(`${app.url}${url}`);
      expect(res.headers.get('server'), url).toBeNull();
      expect(res.headers.get('x-powered-by'), url).toBeNull();
    }
  });

  it('msmtp and mbsync, configured only from the autoconfig document, send and read mail', async () => {
    const res = await fetch(`${app.url}/mail/config-v1.1.xml?emailaddress=alice@first.test`, { headers: { host: 'autoconfig.first.test' } });
    expect(res.status).toBe(200);
    const doc = xmlCheck('autoconfig', await res.text());
    const smtp = doc.outgoing.find((s: { socketType: string }) => s.socketType === 'SSL');
    const imap = doc.incoming.find((s: { socketType: string }) => s.socketType === 'SSL');
    expect(smtp).toMatchObject({ type: 'smtp', hostname: '127.0.0.1', port: String(app.ports.submissions), username: 'alice@first.test' });
    expect(imap).toMatchObject({ type: 'imap', hostname: '127.0.0.1', port: String(app.ports.imaps), username: 'alice@first.test' });

    const cert = path.join(app.dataDir, 'tls', 'cert.pem');
    const msmtprc = path.join(work, 'msmtprc');
    writeFileSync(
      msmtprc,
      [
        'account first',
        `host ${smtp.hostname}`,
        `port ${smtp.port}`,
        'tls on',
        `tls_starttls ${smtp.socketType === 'STARTTLS' ? 'on' : 'off'}`,
        // The appliance's self-signed certificate is for mx.postern.test; the test reaches 127.0.0.1.
        'tls_certcheck off',
        'auth on',
        `user ${smtp.username}`,
        `password ${PASSWORD}`,
        `from ${smtp.username}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const subject = `msmtp-from-autoconfig-${Date.now()}`;
    const sent = await run('msmtp', ['-C', msmtprc, '-a', 'first', 'alice@first.test'], `From: alice@first.test\r\nTo: alice@first.test\r\nSubject: ${subject}\r\n\r\nsent by msmtp\r\n`);
    expect(sent.code, sent.out).toBe(0);
    await expect.poll(() => !!findStored(app.dataDir, 'alice@first.test', subject), { timeout: 10_000 }).toBe(true);

    const maildir = path.join(work, 'maildir');
    mkdirSync(maildir);
    const mbsyncrc = path.join(work, 'mbsyncrc');
    writeFileSync(
      mbsyncrc,
      [
        'IMAPAccount first',
        `Host ${imap.hostname}`,
        `Port ${imap.port}`,
        `User ${imap.username}`,
        `Pass ${PASSWORD}`,
        `SSLType ${imap.socketType === 'SSL' ? 'IMAPS' : 'STARTTLS'}`,
        `CertificateFile ${cert}`,
        '',
        'IMAPStore remote',
        'Account first',
        '',
        'MaildirStore local',
        `Path ${maildir}/`,
        `Inbox ${maildir}/INBOX`,
        '',
        'Channel first',
        'Far :remote:',
        'Near :local:',
        'Patterns INBOX',
        'Create Near',
        'Sync Pull',
        // Sync state beside the test's maildir, never in ~/.mbsync.
        'SyncState *',
        '',
      ].join('\n'),
    );
    const synced = await run('mbsync', ['-c', mbsyncrc, 'first']);
    expect(synced.code, synced.out).toBe(0);
    const files = execFileSync('grep', ['-rl', subject, path.join(maildir, 'INBOX')], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(files).toHaveLength(1);
    expect(readFileSync(files[0]!, 'utf8')).toContain('sent by msmtp');
  });

  it('the owner downloads an Apple profile from the self-service area', async () => {
    const login = await fetch(`${app.url}/api/v1/self/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: 'alice@first.test', password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const settings = (await (await fetch(`${app.url}/api/v1/self/mail-settings`, { headers: { cookie } })).json()) as { incoming: unknown[]; mobileconfigUrl: string };
    expect(settings.incoming[0]).toEqual({ protocol: 'imap', host: '127.0.0.1', port: app.ports.imaps, socket: 'SSL' });
    const res = await fetch(`${app.url}${settings.mobileconfigUrl}`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/x-apple-aspen-config/);
    const profile = xmlCheck('mobileconfig', await res.text());
    expect(profile).toMatchObject({ PayloadType: 'Configuration', PayloadVersion: 1 });
    expect(profile.accounts[0]).toMatchObject({
      PayloadType: 'com.apple.mail.managed',
      EmailAccountType: 'EmailTypeIMAP',
      EmailAddress: 'alice@first.test',
      IncomingMailServerHostName: '127.0.0.1',
      IncomingMailServerPortNumber: app.ports.imaps,
      IncomingMailServerUseSSL: true,
      OutgoingMailServerPortNumber: app.ports.submissions,
      OutgoingMailServerUsername: 'alice@first.test',
    });
    expect((await fetch(`${app.url}${settings.mobileconfigUrl}`)).status).toBe(401);
  });

  it('the self-service page shows what to type into a mail client, and the profile downloads (Chromium)', async () => {
    const shots = path.resolve(__dirname, '..', '..', 'test-artifacts', 'screenshots');
    mkdirSync(shots, { recursive: true });
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync'],
    });
    try {
      const context = await browser.newContext({ baseURL: app.url, viewport: { width: 1366, height: 900 }, acceptDownloads: true });
      const p = await context.newPage();
      p.setDefaultTimeout(10_000);
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(e.message));
      await p.goto('/login?as=owner');
      await p.getByLabel('Mailbox address', { exact: true }).fill('alice@first.test');
      await p.getByLabel(/^Password/).fill(PASSWORD);
      await p.getByRole('button', { name: 'Sign in to my mailbox' }).click();
      await p.getByRole('heading', { name: 'Mail client settings' }).waitFor();
      expect(await p.getByTestId('mail-username').textContent()).toBe('alice@first.test');
      const card = p.locator('section', { has: p.getByRole('heading', { name: 'Mail client settings' }) });
      const text = (await card.textContent()) ?? '';
      expect(text).toContain(`port ${app.ports.imaps} · SSL/TLS`);
      expect(text).toContain(`port ${app.ports.submission} · STARTTLS`);
      await card.screenshot({ path: path.join(shots, 'self-mail-client-settings.png') });
      const [download] = await Promise.all([p.waitForEvent('download'), p.getByTestId('mobileconfig').click()]);
      expect(download.suggestedFilename()).toBe('alice@first.test.mobileconfig');
      const profile = xmlCheck('mobileconfig', readFileSync((await download.path())!, 'utf8'));
      expect(profile.accounts[0].EmailAddress).toBe('alice@first.test');
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('postmaster@, abuse@, the report address and a bare <postmaster> are accepted and stored', async () => {
    const domain = await app.expectApi<{ requiredAddresses: Array<{ address: string; deliversTo: string[] }> }>('GET', `/api/v1/domains/${await app.ensureDomain('second.test')}`, undefined, 200);
    expect(domain.requiredAddresses.map((r) => r.address)).toEqual(['postmaster@second.test', 'abuse@second.test', 'dmarc-reports@second.test']);
    for (const r of domain.requiredAddresses) expect(r.deliversTo).toEqual(['contact@first.test']);

    for (const to of ['postmaster@second.test', 'abuse@second.test', 'dmarc-reports@second.test']) {
      const subject = `Report Domain: second.test Submitter: reporter.example ${to}`;
      const r = await swaks([
        '--server',
        '127.0.0.1',
        '--port',
        String(app.ports.smtp),
        '--from',
        'noreply-dmarc@reporter.example',
        '--to',
        to,
        '--header',
        `Subject: ${subject}`,
        '--body',
        '<feedback><report_metadata/></feedback>',
      ]);
      expect(r.exitCode, r.output).toBe(0);
      expect(findStored(app.dataDir, 'contact@first.test', subject), to).toBeTruthy();
    }
    // RFC 5321 §4.5.1: <postmaster> without a domain reaches the appliance's postmaster, the operator.
    const bare = await dialogue(app.ports.smtp, ['EHLO client.test', 'MAIL FROM:<x@client.test>', 'RCPT TO:<postmaster>', 'DATA', 'Subject: bare postmaster\r\n\r\nhello\r\n.']);
    expect(bare[3]).toMatch(/^250 /);
    expect(bare[5]).toMatch(/^250 /);
    await expect.poll(() => !!findStored(app.dataDir, 'ops@first.test', 'bare postmaster'), { timeout: 10_000 }).toBe(true);
    // first.test was created before the tenant had a contact: its postmaster@ leads to the
    // appliance's postmaster, which is the operator's mailbox here (never a forward to ourselves).
    const early = await swaks([
      '--server',
      '127.0.0.1',
      '--port',
      String(app.ports.smtp),
      '--from',
      'someone@client.test',
      '--to',
      'postmaster@first.test',
      '--header',
      'Subject: early domain postmaster',
    ]);
    expect(early.exitCode, early.output).toBe(0);
    expect(findStored(app.dataDir, 'ops@first.test', 'early domain postmaster')).toBeTruthy();

    const own = await app.expectApi<{ receivesFor: Array<{ address: string; required: boolean }> }>(
      'GET',
      `/api/v1/mailboxes/${(await app.expectApi<Array<{ id: string; address: string }>>('GET', `/api/v1/tenants/${app.tenantId}/mailboxes?q=contact`, undefined, 200))[0]!.id}/ownership`,
      undefined,
      200,
    );
    expect(own.receivesFor).toEqual(
      expect.arrayContaining([
        { address: 'postmaster@second.test', required: true },
        { address: 'dmarc-reports@second.test', required: true },
      ]),
    );
  });
});
