/**
 * Shared mailboxes in the console (Debian's Chromium) and the CLI (issue 19), against the real
 * appliance: an admin grants a colleague access to info@ from the mailbox page (member picked by
 * address, rights, per-member read marks, reason), sees it on the ownership card, on the
 * colleague's page and in the tenant's sharing report, then revokes it with a reason; the
 * `postern access` commands do the same from a shell. Screenshots go to test-artifacts/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../appliance/core/access/totp.js';
import { Appliance } from '../helpers/appliance.js';
import { cliJson, runCli } from '../helpers/cli.js';

const SHOTS = path.resolve(__dirname, '..', '..', 'test-artifacts', 'screenshots');
const PASSWORD = 'Access-Console-Passw0rd!';
const EMAIL = 'olga.operator@provider.example';

let app: Appliance;
let browser: Browser;
let page: Page;
let info: { id: string; tenantId: string };
let amy: { id: string };
const pageErrors: string[] = [];

const cookieOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');

/** An operator's console session (with the TOTP the console requires of operators). */
async function operatorCookies(): Promise<Array<{ name: string; value: string; url: string }>> {
  const invite = await app.expectApi<{ setup: { token: string } }>('POST', '/api/v1/principals', { name: 'Olga Operator', email: EMAIL }, 201);
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

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `access-${name}.png`), fullPage: true });

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  app = await Appliance.start({ env: { POSTERN_SPAM: 'false', POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0' } });
  info = await app.provisionMailbox('info@share.test', null);
  amy = await app.provisionMailbox('amy@share.test');
  await app.provisionMailbox('ben@share.test');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync'] });
  const context = await browser.newContext({ baseURL: app.url, viewport: { width: 1280, height: 900 } });
  await context.addCookies(await operatorCookies());
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('shared mailboxes in the console', () => {
  it('grants a colleague access from the mailbox page, by address, with rights and a reason', async () => {
    await page.goto(`/mailboxes/${info.id}`);
    const access = page.getByTestId('access-section');
    await access.waitFor();
    expect(await access.innerText()).toContain('Nobody else has access.');
    await access.getByLabel('Member (mailbox address)').fill('amy@share.test');
    await access.getByLabel('Send as this address').check();
    await access.getByLabel('Read marks (\\Seen)').selectOption('member');
    await access.getByLabel('Reason', { exact: true }).fill('support rota, ticket 4711');
    await access.getByRole('button', { name: 'Grant access' }).click();
    await page.getByTestId('access-section').getByRole('link', { name: 'amy@share.test' }).waitFor();
    const row = page.getByTestId('access-section').locator('tbody tr').first();
    const text = await row.innerText();
    expect(text).toMatch(/Read, Mark read \(\\Seen\), Send as this address/);
    expect(text).toMatch(/per member/);
    expect(text).toMatch(/Olga Operator/); // who granted it, by name
    expect(text).not.toMatch(/mbx_|prn_/);
    const grants = await app.expectApi<Array<{ member: string; rights: string[]; seenPerMember: boolean; reason: string }>>('GET', `/api/v1/mailboxes/${info.id}/access`, undefined, 200);
    expect(grants).toEqual([expect.objectContaining({ member: 'amy@share.test', rights: ['read', 'seen', 'send'], seenPerMember: true, reason: 'support rota, ticket 4711' })]);
    // The ownership card lists the people with access next to the owner of record.
    expect(await page.getByTestId('ownership-access').innerText()).toMatch(/amy@share\.test — Read, Mark read \(\\Seen\), Send as this address/);
    await shot('mailbox');
  });

  it("shows the shared mailbox on the colleague's page and in the tenant's sharing report", async () => {
    await page.goto(`/mailboxes/${amy.id}`);
    const reach = page.getByTestId('shared-access');
    await reach.getByRole('link', { name: 'info@share.test' }).waitFor();
    await page.goto(`/tenants/${info.tenantId}?tab=sharing`);
    const report = page.getByTestId('sharing-report');
    await report.getByRole('link', { name: 'info@share.test' }).first().waitFor();
    expect(await report.innerText()).toMatch(/1 shared mailboxes · 1 members/);
    expect(await report.innerText()).toMatch(/amy@share\.test — Read, Mark read/);
    await shot('sharing-report');
  });

  it('revokes the access after a confirmation that names both mailboxes, with a reason', async () => {
    await page.goto(`/mailboxes/${info.id}`);
    await page.getByRole('button', { name: 'Revoke access of amy@share.test' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke access?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('amy@share.test → info@share.test');
    await dialog.getByLabel(/Reason/).fill('rota ended');
    await dialog.getByRole('button', { name: 'Revoke access' }).click();
    await page.getByTestId('access-section').getByText('Nobody else has access.').waitFor();
    expect(await app.expectApi('GET', `/api/v1/mailboxes/${info.id}/access`, undefined, 200)).toEqual([]);
    const events = await app.expectApi<Array<{ action: string; reason: string | null }>>('GET', `/api/v1/audit/events?targetId=${info.id}&action=mailbox.access.*`, undefined, 200);
    expect(events.map((e) => [e.action, e.reason])).toEqual([
      ['mailbox.access.grant', 'support rota, ticket 4711'],
      ['mailbox.access.revoke', 'rota ended'],
    ]);
    expect(pageErrors).toEqual([]);
  });
});

describe('postern access', () => {
  it('grants, lists, changes, reports and revokes by address', async () => {
    const granted = await runCli(app, ['access', 'grant', 'info@share.test', 'ben@share.test', '--rights', 'read,seen', '--reason', 'holiday cover', '--expires', '30d']);
    expect(granted.stderr).toBe('');
    expect(granted.code).toBe(0);
    expect(granted.stdout).toMatch(/ben@share\.test may now reach info@share\.test/);
    const list = cliJson(await runCli(app, ['access', 'list', 'info@share.test', '--json']));
    expect(list).toEqual([expect.objectContaining({ member: 'ben@share.test', rights: ['read', 'seen'] })]);
    const reach = await runCli(app, ['access', 'list', 'ben@share.test', '--reachable']);
    expect(reach.stdout).toMatch(/info@share\.test\s+read,seen/);
    const changed = await runCli(app, ['access', 'change', 'info@share.test', 'ben@share.test', '--rights', 'read', '--expires', 'never']);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toMatch(/rights:\s+read\n/);
    const report = await runCli(app, ['access', 'report', 'E2E tenant']);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/1 shared mailbox\(es\), 1 grant\(s\)/);
    expect(report.stdout).toMatch(/info@share\.test \(pending\)/);
    const bad = await runCli(app, ['access', 'grant', 'info@share.test', 'ben@share.test', '--rights', 'read,root', '--reason', 'x']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown rights root/);
    const revoked = await runCli(app, ['access', 'revoke', 'info@share.test', 'ben@share.test', '--reason', 'back from holiday']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/ben@share\.test no longer reaches info@share\.test/);
    expect(cliJson(await runCli(app, ['access', 'list', 'info@share.test', '--json']))).toEqual([]);
  }, 90_000); // nine CLI processes (each a Node start) on a shared machine
});
