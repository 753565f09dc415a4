/**
 * The console's mail-flow screens and owners' self-service additions, end to end in Debian's
 * Chromium: a message submitted to a domain whose MX points at a closed loopback port stays
 * deferred in Haraka's queue; the operator sees it on the Outbound queue page (age, attempts,
 * last error) and the deferral in the dashboard's last-hour figures; a mailbox owner turns on
 * two-step sign-in, adds an internal forward, and signs in again with a code.
 * Screenshots go to test-artifacts/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../appliance/core/access/totp.js';
import { Appliance } from '../helpers/appliance.js';
import { type DnsServer, startDnsServer } from '../helpers/dns.js';
import { freePorts } from '../helpers/ports.js';

const SHOTS = path.resolve(__dirname, '..', '..', 'test-artifacts', 'screenshots');
const PASSWORD = 'Flow-Passw0rd-long!';
const EMAIL = 'quinn.operator@provider.example';

let app: Appliance;
let dns: DnsServer;
let browser: Browser;
let aliceId = '';
const pageErrors: string[] = [];

const cookieOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');

/** An operator's console session (invite, password, TOTP) made through the API, as cookies for the browser. */
async function operatorCookies(): Promise<Array<{ name: string; value: string; url: string }>> {
  const invite = await app.expectApi<{ setup: { token: string } }>('POST', '/api/v1/principals', { name: 'Quinn Operator', email: EMAIL }, 201);
  await app.expectApi('POST', `/api/v1/principal-setup/${invite.setup.token}`, { password: PASSWORD }, 204);
  const post = (url: string, body: unknown, cookie?: string, csrf?: string) =>
    fetch(`${app.url}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}), ...(csrf ? { 'x-csrf-token': csrf } : {}) },
      body: JSON.stringify(body),
    });
  const login = await post('/api/v1/auth/login', { email: EMAIL, password: PASSWORD });
  expect(login.status).toBe(200);
  const cookie = cookieOf(login);
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const enrol = (await (await post('/api/v1/auth/totp/enrol', {}, cookie, csrfToken)).json()) as { secret: string };
  expect((await post('/api/v1/auth/totp/confirm', { code: await totpCode(enrol.secret, Date.now()) }, cookie, csrfToken)).status).toBe(200);
  return cookie.split('; ').map((c) => ({ name: c.slice(0, c.indexOf('=')), value: c.slice(c.indexOf('=') + 1), url: app.url }));
}

async function newPage(): Promise<{ page: Page; close: () => Promise<void> }> {
  const context = await browser.newContext({ baseURL: app.url, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
  });
  return { page, close: () => context.close() };
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const [closedPort] = await freePorts(1); // nothing listens there: every delivery attempt is refused
  dns = await startDnsServer(
    ['test'],
    [
      { type: 'MX', name: 'unreachable.test', value: 'mx.unreachable.test' },
      { type: 'A', name: 'mx.unreachable.test', value: '127.0.0.1' },
    ],
  );
  app = await Appliance.start({ env: { POSTERN_DNS_RESOLVER: dns.address, POSTERN_OUTBOUND_PORT: String(closedPort), POSTERN_OUTBOUND_RETRY: '10m' } });
  aliceId = (await app.provisionMailbox('alice@flow.test', PASSWORD)).id;
  await app.provisionMailbox('bob@flow.test', PASSWORD);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await dns?.stop();
});

describe('mail flow in the console', () => {
  it('shows a deferred message on the Outbound queue page and in the last-hour figures', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: app.ports.submissions,
      secure: true,
      auth: { user: 'alice@flow.test', pass: PASSWORD },
      tls: { rejectUnauthorized: false },
    });
    await transport.sendMail({ from: 'alice@flow.test', to: 'pat@unreachable.test', subject: 'stuck', text: 'this stays in the queue' });
    // Wait for the first attempt to fail (deferred, next attempt in 10 minutes).
    let entry: { attempts: number; lastError: string | null } | undefined;
    for (let i = 0; i < 60 && !(entry && entry.attempts >= 1 && entry.lastError); i++) {
      await new Promise((r) => setTimeout(r, 500));
      entry = (await app.expectApi<Array<{ attempts: number; lastError: string | null; domain: string }>>('GET', '/api/v1/outbound-queue', undefined, 200)).find(
        (e) => e.domain === 'unreachable.test',
      );
    }
    expect(entry, 'the message is deferred in the queue').toMatchObject({ attempts: 1, sender: 'alice@flow.test', recipients: ['pat@unreachable.test'] });
    expect(entry!.lastError).toBeTruthy();

    const { page, close } = await newPage();
    await page.context().addCookies(await operatorCookies());
    await page.goto('/');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const stats = page.getByTestId('mail-stats');
    await stats.getByText('Deferred messages').waitFor();
    expect(Number(await stats.locator('[data-series="deferred"]').textContent())).toBeGreaterThanOrEqual(1);
    await expect(stats.getByRole('img', { name: /Deferred messages per hour/ }).count()).resolves.toBe(1);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-mail-flow.png'), fullPage: true });

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Outbound queue' }).click();
    await page.getByRole('heading', { name: 'Outbound queue' }).waitFor();
    const table = page.getByRole('table', { name: 'Queued messages' });
    await table.getByText('unreachable.test', { exact: true }).waitFor();
    await table.getByText('alice@flow.test').waitFor();
    expect(await table.getByTestId('queue-attempts').first().textContent()).toBe('1');
    expect(((await table.getByTestId('queue-error').first().textContent()) ?? '').length).toBeGreaterThan(5);
    // The sender's tenant by name (the helper's tenant), its id only on hover.
    await table.getByRole('link', { name: 'E2E tenant' }).waitFor();
    expect(await table.innerText()).not.toMatch(/tnt_[0-9a-f]/);
    await page.screenshot({ path: path.join(SHOTS, 'outbound-queue.png'), fullPage: true });
    // Phone width: the page still renders its table.
    await page.setViewportSize({ width: 375, height: 800 });
    await table.getByText('unreachable.test', { exact: true }).waitFor();
    await close();
  }, 60_000);

  it('a mailbox owner turns on two-step sign-in, adds an internal forward, and signs in with a code', async () => {
    const { page: p, close } = await newPage();
    await p.goto('/login?as=owner');
    await p.getByLabel('Mailbox address', { exact: true }).fill('alice@flow.test');
    await p.getByLabel(/^Password/).fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in to my mailbox' }).click();
    await p.getByRole('heading', { name: 'alice@flow.test' }).waitFor();

    await p.getByRole('button', { name: 'Set up two-step sign-in' }).click();
    const secret = ((await p.getByTestId('owner-totp-secret').textContent()) ?? '').trim();
    expect(secret).toMatch(/^[A-Z2-7]+=*$/);
    await p.getByLabel('Code from the app').fill(await totpCode(secret, Date.now()));
    await p.getByRole('button', { name: 'Confirm' }).click();
    await p.getByTestId('owner-totp-status').getByText('on').waitFor();

    await p.getByLabel('Forward to').fill('bob@flow.test');
    await p.getByRole('button', { name: 'Add forward' }).click();
    const forwards = p.getByRole('table', { name: 'Forwards' });
    await forwards.getByText('bob@flow.test').waitFor();
    await forwards.getByRole('button', { name: 'Remove' }).waitFor();
    // External forwarding is off by the tenant's default policy: the form says so.
    await p.getByText(/forwarding outside it is off/).waitFor();
    await p.screenshot({ path: path.join(SHOTS, 'self-service-2fa-forwards.png'), fullPage: true });

    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.waitForURL(/\/login/);
    await p.goto('/login?as=owner');
    await p.getByLabel('Mailbox address', { exact: true }).fill('alice@flow.test');
    await p.getByLabel(/^Password/).fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in to my mailbox' }).click();
    // Without the code the answer is the same as for a wrong password (issue 13); the form has the code field.
    await p.getByText(/invalid address, password or code/).waitFor();
    await p.getByLabel('Authenticator code').fill(await totpCode(secret, Date.now() + 30_000));
    await p.getByRole('button', { name: 'Sign in to my mailbox' }).click();
    await p.getByRole('heading', { name: 'alice@flow.test' }).waitFor();
    // The forward is recorded with the owner as creator.
    const fwds = await app.expectApi<Array<{ target: string; createdBy: string }>>('GET', `/api/v1/mailboxes/${aliceId}/forwards`, undefined, 200);
    expect(fwds).toEqual([expect.objectContaining({ target: 'bob@flow.test', createdBy: expect.stringMatching(/^mailbox:/) })]);
    await close();
  }, 60_000);

  it('raised no script errors or CSP violations', () => {
    expect(pageErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e))).toEqual([]);
  });
});
