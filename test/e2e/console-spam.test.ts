/**
 * Spam defence on a plain-Node machine without rspamd/redis (issue 15): the appliance boots,
 * says that inbound mail is unscanned (log line, /readyz detail, console health card, metric)
 * and delivers mail unscanned; tenant admins still set the spam policy and lists in the console
 * (Debian's Chromium), the mailbox page shows the owner's lists and the owner edits them in
 * self-service. Screenshots go to test-artifacts/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../appliance/core/access/totp.js';
import { Appliance } from '../helpers/appliance.js';
import { storedMessages } from '../helpers/stored.js';
import { swaks } from '../helpers/swaks.js';

const SHOTS = path.resolve(__dirname, '..', '..', 'test-artifacts', 'screenshots');
const PASSWORD = 'Spam-Console-Passw0rd!';
const EMAIL = 'sam.operator@provider.example';

let app: Appliance;
let browser: Browser;
let mailbox: { id: string; tenantId: string };
const pageErrors: string[] = [];

const cookieOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');

async function operatorCookies(): Promise<Array<{ name: string; value: string; url: string }>> {
  const invite = await app.expectApi<{ setup: { token: string } }>('POST', '/api/v1/principals', { name: 'Sam Operator', email: EMAIL }, 201);
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
  return cookie.split('; ').map((c) => ({ name: c.slice(0, c.indexOf('=')), value: c.slice(c.indexOf('=') + 1), url: app.url }));
}

async function newPage(): Promise<{ page: Page; close: () => Promise<void> }> {
  const context = await browser.newContext({ baseURL: app.url, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  return { page, close: () => context.close() };
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // Scanning on, but neither rspamd nor redis-server can be found: a plain-Node machine.
  app = await Appliance.start({ env: { POSTERN_SPAM: 'true', PATH: '/nonexistent' } });
  mailbox = await app.provisionMailbox('carla@plain.test', PASSWORD);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('spam defence in the console, without a scanner installed', () => {
  it('boots, says inbound mail is unscanned, and delivers it unscanned', async () => {
    const r = await app.readyz();
    expect(r.status).toBe(200);
    expect(r.body.components.spam.ok).toBe(true);
    expect(r.body.components.spam.detail).toMatch(/rspamd and redis-server not installed: inbound mail is unscanned \(install with: apt-get install -y rspamd redis-server\)/);
    expect(app.logs.join('')).toMatch(/"event":"spam.unavailable"/);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/postern_spam_scanner_up\{process="rspamd"\} 0/);
    const sent = await swaks(['--server', `127.0.0.1:${app.ports.smtp}`, '--from', 'x@example.org', '--to', 'carla@plain.test', '--header', 'Subject: unscanned-one']);
    expect(sent.exitCode, sent.output).toBe(0);
    expect(storedMessages(app.dataDir, 'carla@plain.test')[0]!.raw).toMatch(/^X-Spam-Status: unscanned \(scanner off or not installed\)$/m);
  });

  it('an admin sets the tenant policy and a block entry; the mailbox page and the owner show the owner’s lists', async () => {
    const { page, close } = await newPage();
    await page.context().addCookies(await operatorCookies());
    await page.goto('/');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByText(/inbound mail is unscanned/).waitFor();
    await page.getByTestId('spam-stats').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-spam-unscanned.png'), fullPage: true });

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Spam' }).click();
    await page.getByRole('heading', { name: 'Spam defence' }).waitFor();
    await page.getByRole('link', { name: 'E2E tenant' }).click();
    await page.getByText('In force: the appliance defaults').first().waitFor();
    await page
      .getByLabel(/^Junk score/)
      .first()
      .fill('4.5');
    await page
      .getByLabel(/^Greylisting/)
      .first()
      .check();
    await page
      .getByLabel(/^Reason/)
      .first()
      .fill('console test');
    await page.getByRole('button', { name: 'Save spam policy' }).first().click();
    await page
      .getByText(/In force: the organisation’s policy/)
      .first()
      .waitFor();
    const policy = await app.expectApi<{ junkScore: number; greylisting: boolean; scope: string }>('GET', `/api/v1/tenants/${mailbox.tenantId}/spam-policy`, undefined, 200);
    expect(policy).toMatchObject({ junkScore: 4.5, greylisting: true, scope: 'tenant' });

    await page.getByLabel('Sender address, domain or IP network').first().fill('198.51.100.0/24');
    await page.getByRole('button', { name: 'Add to list' }).first().click();
    await page.getByRole('table', { name: 'Organisation-wide allow and block lists' }).getByText('198.51.100.0/24').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'spam-policy.png'), fullPage: true });

    await app.expectApi('POST', `/api/v1/mailboxes/${mailbox.id}/spam-lists`, { kind: 'allow', value: 'friend@example.org', reason: 'a friend' }, 201);
    await page.goto(`/mailboxes/${mailbox.id}`);
    await page.getByRole('table', { name: 'Spam allow and block lists of this mailbox' }).getByText('friend@example.org').waitFor();
    await close();

    const { page: owner, close: closeOwner } = await newPage();
    await owner.goto('/login?as=owner');
    await owner.getByLabel('Mailbox address', { exact: true }).fill('carla@plain.test');
    await owner.getByLabel(/^Password/).fill(PASSWORD);
    await owner.getByRole('button', { name: 'Sign in to my mailbox' }).click();
    await owner.getByRole('heading', { name: 'carla@plain.test' }).waitFor();
    const own = owner.getByRole('table', { name: 'Senders I allow or block' });
    await own.getByText('friend@example.org').waitFor();
    await owner.getByLabel('Sender address, domain or IP network').fill('pest@example.org');
    await owner.getByRole('button', { name: 'Add to list' }).click();
    await own.getByText('pest@example.org').waitFor();
    await owner.screenshot({ path: path.join(SHOTS, 'self-service-spam-lists.png'), fullPage: true });
    await closeOwner();
    const lists = await app.expectApi<Array<{ value: string; kind: string; createdBy: string }>>('GET', `/api/v1/mailboxes/${mailbox.id}/spam-lists`, undefined, 200);
    expect(lists.map((e) => `${e.kind}:${e.value}`).sort()).toEqual(['allow:friend@example.org', 'block:pest@example.org']);
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
