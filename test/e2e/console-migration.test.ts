/**
 * Bringing mail in from the console (issue 20), in Debian's Chromium against the real appliance
 * and a private Dovecot holding an old provider's account (five folders, Maildir++ on disk, IMAPS
 * on loopback with a certificate the appliance trusts through NODE_EXTRA_CA_CERTS):
 *  - the mailbox page's "Migrate mail in" card starts a job; its progress bar and folder bars
 *    follow it (polling) until it is done; the export links are there;
 *  - the tenant's Migrations tab takes a CSV of source accounts; the batch page shows the plan
 *    (a wrong password reported before anything runs, sizes), applies it and follows the batch
 *    and each mailbox to the report.
 * Screenshots go to test-artifacts/screenshots/.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../appliance/core/access/totp.js';
import { SourceDovecot, sourceCertificate, type SourceCorpus } from '../../scripts/bench/source-dovecot.js';
import { Appliance } from '../helpers/appliance.js';
import { cliJson, runCli } from '../helpers/cli.js';

const SHOTS = path.resolve(__dirname, '..', '..', 'test-artifacts', 'screenshots');
const PASSWORD = 'Migration-Console-Passw0rd!';
const EMAIL = 'mia.operator@provider.example';
const SOURCE_USER = 'dora@old-provider.test';
const SOURCE_PASSWORD = 'Old-Provider-Passw0rd';

let dir: string;
let app: Appliance;
let browser: Browser;
let source: SourceDovecot;
let corpus: SourceCorpus;
let dora: { id: string; tenantId: string };
const pageErrors: string[] = [];

const cookieOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');

let cookies: Array<{ name: string; value: string; url: string }> | null = null;

/** The operator's console session (invited, set up and TOTP-enrolled once). */
async function operatorCookies(): Promise<Array<{ name: string; value: string; url: string }>> {
  if (cookies) return cookies;
  const invite = await app.expectApi<{ setup: { token: string } }>('POST', '/api/v1/principals', { name: 'Mia Operator', email: EMAIL }, 201);
  await app.expectApi('POST', `/api/v1/principal-setup/${invite.setup.token}`, { password: PASSWORD }, 204);
  const post = (url: string, body: unknown, cookie?: string, csrf?: string) =>
    fetch(`${app.url}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}), ...(csrf ? { 'x-csrf-token': csrf } : {}) },
      body: JSON.stringify(body),
    });
  const login = await post('/api/v1/auth/login', { email: EMAIL, password: PASSWORD });
  const cookie = cookieOf(login);
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const enrol = (await (await post('/api/v1/auth/totp/enrol', {}, cookie, csrfToken)).json()) as { secret: string };
  expect((await post('/api/v1/auth/totp/confirm', { code: await totpCode(enrol.secret, Date.now()) }, cookie, csrfToken)).status).toBe(200);
  cookies = cookie.split('; ').map((c) => ({ name: c.slice(0, c.indexOf('=')), value: c.slice(c.indexOf('=') + 1), url: app.url }));
  return cookies;
}

async function newPage(): Promise<{ page: Page; close: () => Promise<void> }> {
  const context = await browser.newContext({ baseURL: app.url, viewport: { width: 1280, height: 1000 } });
  await context.addCookies(await operatorCookies());
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  return { page, close: () => context.close() };
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(path.join(tmpdir(), 'postern-console-mig-'));
  chmodSync(dir, 0o755);
  const cert = sourceCertificate(dir);
  ({ source, corpus } = await SourceDovecot.start({ workDir: path.join(dir, 'source'), user: SOURCE_USER, password: SOURCE_PASSWORD, ...cert, messages: 30 }));
  app = await Appliance.start({ env: { NODE_EXTRA_CA_CERTS: cert.certFile, POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0', POSTERN_SPAM: 'false' }, readyTimeoutMs: 90_000 });
  dora = await app.provisionMailbox('dora@acme.test', PASSWORD);
  await app.provisionMailbox('emil@acme.test', PASSWORD);
  await app.provisionMailbox('fritz@acme.test', PASSWORD);
  await app.provisionMailbox('greta@acme.test', PASSWORD);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await source?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('migration in the console', () => {
  it('starts a migration on the mailbox page and follows it to done, folder by folder', async () => {
    const { page, close } = await newPage();
    try {
      await page.goto(`/mailboxes/${dora.id}`);
      await page.getByText('Migrate mail in').click();
      const card = page.getByTestId('migrate-in-card');
      await card.getByLabel('Source IMAP server').fill('127.0.0.1');
      await card.getByLabel('Port').fill(String(source.ports.imaps));
      await card.getByLabel('Login at the old provider').fill(SOURCE_USER);
      await card.getByLabel('Password', { exact: true }).fill(SOURCE_PASSWORD);
      await card.getByRole('button', { name: 'Start migration' }).click();
      const job = page.getByTestId('migration-job').first();
      await expect.poll(async () => job.getAttribute('data-state'), { timeout: 60_000, interval: 250 }).toBe('done');
      await expect.poll(async () => job.innerText()).toContain(`${corpus.messages} of ${corpus.messages} messages`);
      const text = await job.innerText();
      for (const [folder, n] of Object.entries(corpus.perFolder)) {
        expect(text).toContain(`${n} of ${n}`);
        expect(text).toContain(folder.split('/').pop()!);
      }
      expect(text).not.toContain(SOURCE_PASSWORD);
      expect(await page.getByTestId('export-mbox').getAttribute('href')).toBe(`/api/v1/mailboxes/${dora.id}/export?format=mbox`);
      expect(await page.getByTestId('export-maildir').getAttribute('href')).toBe(`/api/v1/mailboxes/${dora.id}/export?format=maildir`);
      await page.screenshot({ path: path.join(SHOTS, 'migration-mailbox.png'), fullPage: true });
      // The ended job holds no password any more: "Run again" asks for it, then copies what is new (nothing).
      const again = job.getByLabel(`Source password for ${SOURCE_USER}`);
      expect(await again.getAttribute('placeholder')).toBe('source password (required)');
      await job.getByRole('button', { name: 'Run again (copy what is new)' }).click();
      await expect.poll(async () => page.locator('.toast').allInnerTexts()).toContainEqual(expect.stringContaining('was wiped when the last run ended: enter it again'));
      expect(await job.getAttribute('data-state')).toBe('done');
      await again.fill(SOURCE_PASSWORD);
      await job.getByRole('button', { name: 'Run again (copy what is new)' }).click();
      await expect
        .poll(async () => (await app.expectApi<Array<{ runs: number; state: string }>>('GET', `/api/v1/mailboxes/${dora.id}/migrations`, undefined, 200))[0], { timeout: 60_000, interval: 250 })
        .toMatchObject({ runs: 2, state: 'done' });
    } finally {
      await close();
    }
  }, 120_000);

  it('plans a CSV batch (a wrong password reported before anything runs), applies it and shows the report', async () => {
    const { page, close } = await newPage();
    try {
      await page.goto(`/tenants/${dora.tenantId}?tab=migrations`);
      const port = source.ports.imaps;
      const csv = [
        'address,source_host,source_port,tls,user,password',
        `emil@acme.test,127.0.0.1,${port},implicit,${SOURCE_USER},${SOURCE_PASSWORD}`,
        `fritz@acme.test,127.0.0.1,${port},implicit,${SOURCE_USER},not-the-password`,
      ].join('\n');
      await page.getByLabel('CSV file of source accounts').setInputFiles({ name: 'acme.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await page.getByLabel('Batch name').fill('ACME onboarding');
      await page.getByRole('button', { name: 'Upload and check the sources' }).click();
      await page.waitForURL(/\/migration-batches\//);
      await expect.poll(async () => page.getByTestId('batch-state').innerText(), { timeout: 30_000 }).toBe('planned');
      expect(await page.getByTestId('plan-summary').innerText()).toContain('1 of 2 sources ok · 1 bad credentials');
      const rows = page.locator('table').filter({ hasText: 'fritz@acme.test' });
      expect(await rows.innerText()).toContain('bad credentials');
      expect(await rows.innerText()).toContain(`${corpus.messages} messages`);
      await page.screenshot({ path: path.join(SHOTS, 'migration-batch-plan.png'), fullPage: true });
      await page.getByRole('button', { name: /Apply: migrate 1 mailbox/ }).click();
      await page.locator('dialog').getByRole('button', { name: 'Apply' }).click();
      await expect.poll(async () => page.getByTestId('batch-state').innerText(), { timeout: 60_000, interval: 250 }).toBe('applied');
      const report = await page.getByTestId('batch-report').innerText();
      expect(report).toMatch(/Done\s+1/);
      expect(report).toMatch(/Skipped \(check failed\)\s+1/);
      expect(report).toContain(`${corpus.messages} messages`);
      expect(await page.getByLabel('Batch progress').getAttribute('value')).toBe('100');
      expect(await page.getByLabel('Migration of emil@acme.test').getAttribute('value')).toBe('100');
      expect(await page.content()).not.toContain(SOURCE_PASSWORD);
      await page.screenshot({ path: path.join(SHOTS, 'migration-batch-report.png'), fullPage: true });
    } finally {
      await close();
    }
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('restores the migrated mail from a backup on the mailbox page, and offers the tenant export on the tenant page', async () => {
    // dora's mail (migrated above) is backed up, then deleted from her INBOX over IMAP.
    const backupDir = path.join(dir, 'backup');
    const backup = await runCli(app, ['backup', '--out', backupDir, '--data-dir', app.dataDir]);
    expect(backup.code, backup.stderr).toBe(0);
    const { ImapFlow } = await import('imapflow');
    const c = new ImapFlow({ host: '127.0.0.1', port: app.ports.imaps, secure: true, auth: { user: 'dora@acme.test', pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });
    await c.connect();
    const inbox = await c.mailboxOpen('INBOX');
    const before = inbox.exists;
    expect(before).toBeGreaterThan(0);
    await c.messageDelete('1:*');
    expect(c.mailbox && c.mailbox.exists).toBe(0);
    const { page, close } = await newPage();
    try {
      await page.goto(`/mailboxes/${dora.id}`);
      await page.getByText('Restore from a backup').click();
      const card = page.getByTestId('restore-card');
      await card.getByLabel('Backup directory on the appliance').fill(backupDir);
      await card.getByLabel('Only this folder').fill('INBOX');
      await card.getByRole('button', { name: 'Restore' }).click();
      await expect.poll(async () => page.getByTestId('restore-result').innerText(), { timeout: 30_000 }).toContain(`${before} message(s) restored`);
      await page.screenshot({ path: path.join(SHOTS, 'restore-mailbox.png'), fullPage: true });
      const status = await c.status('INBOX', { messages: true });
      expect(status && status.messages).toBe(before);
      await page.goto(`/tenants/${dora.tenantId}?tab=settings`);
      const href = await page.getByTestId('tenant-export-mbox').getAttribute('href');
      expect(href).toBe(`/api/v1/tenants/${dora.tenantId}/export?format=mbox`);
      const res = await page.request.get(href!);
      expect(res.status()).toBe(200);
      const tar = await res.body();
      expect(tar.subarray(257, 262).toString()).toBe('ustar'); // a tar archive
    } finally {
      await close();
      await c.logout();
    }
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('does the same from the CLI: postern import batch plan --wait, apply, status', async () => {
    const file = path.join(dir, 'greta.csv');
    writeFileSync(
      file,
      `address,source_host,source_port,tls,user,password\ngreta@acme.test,127.0.0.1,${source.ports.imaps},implicit,${SOURCE_USER},${SOURCE_PASSWORD}\nnobody@acme.test,127.0.0.1,${source.ports.imaps},implicit,${SOURCE_USER},x\n`,
    );
    const plan = await runCli(app, ['import', 'batch', 'plan', dora.tenantId, '--csv', file, '--name', 'From the CLI', '--wait']);
    expect(plan.code, plan.stderr).toBe(1); // one row has no mailbox here
    expect(plan.stdout).toContain('NO MAILBOX');
    expect(plan.stdout).toMatch(/greta@acme\.test.*ok.*30 msgs/);
    expect(plan.stdout + plan.stderr).not.toContain(SOURCE_PASSWORD);
    const id = /\((mgb_[0-9a-f]+)\)/.exec(plan.stdout)![1]!;
    expect((await runCli(app, ['import', 'batch', 'apply', id])).code).toBe(0);
    await expect.poll(async () => cliJson(await runCli(app, ['import', 'batch', 'status', id, '--json'])).state, { timeout: 60_000, interval: 500 }).toBe('applied');
    const status = cliJson(await runCli(app, ['import', 'batch', 'status', id, '--json']));
    expect(status.report).toMatchObject({ done: 1, skipped: 1, messages: corpus.messages });
  }, 120_000);
});
