/**
 * The console as an agency admin sees it at 1366 px: names, not ids (token names, mailbox
 * addresses, tenant names; ids only on hover), an audit table that fits its card, the domain
 * page in tabs with a breadcrumb naming the tenant and no raw `null`, a dashboard that says "not
 * checked yet" for a never-checked domain and has one mail-flow card, roll-back buttons that say
 * what they put back, and setup pages that name the address and show the password rules first.
 * Debian's Chromium via playwright-core; a full-page screenshot of every page visited goes to
 * test-artifacts/screenshots/names-*.png.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../appliance/core/access/totp.js';
import { ApiClient } from '../../scripts/lib/api-client.js';
import { Appliance } from '../helpers/appliance.js';

const SHOTS = path.resolve(__dirname, '..', '..', 'test-artifacts', 'screenshots');
const EMAIL = 'nora.operator@provider.example';
const PASSWORD = 'Console-Passw0rd-long!';
const ID = /\b(tok|mbx|tnt|dom|prn|als)_[0-9a-f]{6,}/;

let app: Appliance;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
let bot: ApiClient;
let tenantId = '';
let domainId = '';
let mailboxId = '';
let ownerSetupPath = '';

async function shot(name: string, p: Page = page): Promise<void> {
  await p.screenshot({ path: path.join(SHOTS, `names-${name}.png`), fullPage: true });
}

/** Visible text of the cells of every table on the page (closed <details> excluded: innerText). */
const cellTexts = (p: Page) => p.evaluate(() => [...document.querySelectorAll('main td')].map((td) => (td as HTMLElement).innerText.trim()));

/** Main content visible text. */
const mainText = (p: Page) => p.evaluate(() => (document.querySelector('main') as HTMLElement).innerText);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // No scheduled DNS check: the dashboard must show a domain nobody has checked yet, and the
  // scheduler's first pass (one second after boot) would otherwise race the domain's creation.
  app = await Appliance.start({ env: { POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0' } });
  // Everything below is done by a named API token, as an agency's automation would.
  const tok = await app.expectApi<{ token: string }>('POST', '/api/v1/tokens', { name: 'deploy-bot' }, 201);
  bot = new ApiClient(app.url, tok.token);
  tenantId = (await bot.expectApi<{ id: string }>('POST', '/api/v1/tenants', { name: 'Acme Ltd' }, 201)).id;
  domainId = (await bot.expectApi<{ id: string }>('POST', `/api/v1/tenants/${tenantId}/domains`, { name: 'acme-names.test' }, 201)).id;
  const mb = await bot.expectApi<{ id: string; setup: { url: string } }>(
    'POST',
    `/api/v1/domains/${domainId}/mailboxes`,
    { localPart: 'alice', owner: { name: 'Alice Example', email: 'alice@home.example' }, credentialDelivery: 'link' },
    201,
  );
  mailboxId = mb.id;
  ownerSetupPath = new URL(mb.setup.url).pathname;
  await bot.expectApi('PATCH', `/api/v1/mailboxes/${mailboxId}`, { resetDestination: 'alice.backup@home.example', reason: 'new private address' }, 200);
  await bot.expectApi('POST', `/api/v1/mailboxes/${mailboxId}/suspend`, { reason: 'laptop stolen' }, 200);
  await bot.expectApi('POST', `/api/v1/mailboxes/${mailboxId}/resume`, {}, 200);

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync'] });
  const context = await browser.newContext({ baseURL: app.url, viewport: { width: 1366, height: 768 } });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('setup pages', () => {
  it('name the console account and show the password rules before the first attempt', async () => {
    const invite = await app.expectApi<{ setup: { token: string } }>('POST', '/api/v1/principals', { name: 'Nora Operator', email: EMAIL }, 201);
    await page.goto(`/principal-setup/${invite.setup.token}`);
    await page.getByTestId('setup-address').getByText(EMAIL).waitFor();
    const rules = await page.getByTestId('password-rules').innerText();
    expect(rules).toMatch(/at least 12 characters/);
    expect(rules).toContain('"nora.operator", the part of nora.operator@provider.example before the @');
    expect(await mainText(page)).not.toMatch(/mailbox name/i);
    await shot('principal-setup');
    // A password with the part before the @: the reason names it, never "the mailbox name".
    await page.getByLabel('New password').fill('Nora.Operator-2026!');
    await page.getByLabel('Repeat the password').fill('Nora.Operator-2026!');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText(/must not contain "nora.operator"/).waitFor();
    expect(await mainText(page)).not.toMatch(/mailbox name/i);
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.waitForURL(/\/login\?setup=1/);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/enrol$/);
    const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(secret, Date.now()));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('link', { name: /continue/ }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  });

  it('name the mailbox being set up, in a second browser page (the owner’s)', async () => {
    const owner = await browser.newPage({ baseURL: app.url, viewport: { width: 1366, height: 768 } });
    await owner.goto(ownerSetupPath);
    await owner.getByTestId('setup-address').getByText('alice@acme-names.test').waitFor();
    expect(await owner.getByTestId('password-rules').innerText()).toContain('"alice", the part of alice@acme-names.test before the @');
    expect(await owner.locator('main').innerText()).not.toMatch(/mailbox name/i);
    await shot('mailbox-setup', owner);
    await owner.close();
  });
});

describe('names, not ids', () => {
  it('the dashboard: one mail-flow card, a never-checked domain is "not checked yet", recent changes by name', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByRole('heading', { name: 'Recent changes' }).waitFor();
    await page.getByTestId('mail-stats').waitFor();
    expect(await page.getByRole('heading', { name: /mail flow|your mail/i }).count()).toBe(1);
    const pending = page.getByRole('region', { name: 'Domains awaiting verification' });
    expect(await pending.getByRole('row', { name: /acme-names\.test/ }).innerText()).toMatch(/not checked yet/);
    expect(await page.getByTestId('dns-summary').innerText()).toMatch(/no problems found.*1 not checked yet/);
    const recent = await page.getByRole('region', { name: 'Recent audit events' }).innerText();
    expect(recent).toContain('deploy-bot');
    expect(recent).toContain('alice@acme-names.test');
    expect(recent).toContain('Acme Ltd');
    for (const c of await cellTexts(page)) expect(c).not.toMatch(ID);
    await shot('dashboard');
  });

  it('the audit log: token name, mailbox address, tenant name; ids on hover; the table fits its card at 1366 px', async () => {
    await page.goto('/audit');
    const table = page.getByRole('region', { name: 'Audit events' });
    await table.locator('tbody tr').first().waitFor();
    const text = await table.innerText();
    expect(text).toContain('API token deploy-bot');
    expect(text).toContain('mailbox alice@acme-names.test');
    expect(text).toContain('Acme Ltd');
    for (const c of await cellTexts(page)) expect(c).not.toMatch(ID);
    expect(await table.locator(`[title="${mailboxId}"]`).first().innerText()).toBe('alice@acme-names.test');
    // The filter by tenant is a list of tenant names.
    expect(await page.getByLabel('Tenant', { exact: true }).locator('option').allInnerTexts()).toContain('Acme Ltd');
    // Fits: the table does not scroll sideways, the filters stay inside the card, dates stay on one line.
    const fit = await page.evaluate(() => {
      const wrap = document.querySelector('main .table-wrap') as HTMLElement;
      const card = wrap.closest('.card') as HTMLElement;
      const right = card.getBoundingClientRect().right;
      const inputs = [...card.querySelectorAll('.filters input, .filters select')].map((i) => i.getBoundingClientRect().right);
      const when = [...card.querySelectorAll('td[data-label="When"]')].map((td) => td.getBoundingClientRect().height);
      const line = parseFloat(getComputedStyle(card).lineHeight) || 24;
      return { overflow: wrap.scrollWidth - wrap.clientWidth, inputsOut: inputs.filter((r) => r > right + 0.5).length, tallestWhen: Math.max(...when), line };
    });
    expect(fit.overflow).toBeLessThanOrEqual(0);
    expect(fit.inputsOut).toBe(0);
    expect(fit.tallestWhen).toBeLessThan(fit.line * 2.2);
    await shot('audit');
  });

  it('the domain page: tabs, a breadcrumb naming the tenant, no raw null, timeline by name', async () => {
    await page.goto(`/domains/${domainId}`);
    await page.getByRole('heading', { name: 'acme-names.test', level: 1 }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Breadcrumb' }).innerText()).toContain('Acme Ltd');
    const tabs = page.getByRole('navigation', { name: 'Domain sections' });
    const labels = await tabs.getByRole('link').allInnerTexts();
    expect(labels).toEqual(['Overview & DNS', 'Mailboxes', 'Aliases & catch-all', 'DKIM keys', 'Template', 'Timeline', 'Settings & deletion']);
    const heights: Record<string, number> = {};
    for (const [i, label] of labels.entries()) {
      await tabs.getByRole('link', { name: label }).click();
      await page.waitForURL(i === 0 ? /\?tab=dns$/ : new RegExp(`\\?tab=`));
      await page.locator('main .card').first().waitFor();
      await page.waitForLoadState('networkidle');
      const text = await mainText(page);
      expect(text, label).not.toMatch(/\bnull\b|undefined|\[object Object\]/);
      for (const c of await cellTexts(page)) expect(c, label).not.toMatch(ID);
      heights[label] = await page.evaluate(() => document.documentElement.scrollHeight);
      await shot(`domain-${i}-${label.split(' ')[0]!.toLowerCase()}`);
    }
    expect(await page.getByRole('button', { name: 'Delete acme-names.test…' }).count()).toBe(1);
    await tabs.getByRole('link', { name: 'Timeline' }).click();
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    expect(await page.getByRole('region', { name: 'Domain timeline' }).innerText()).toContain('deploy-bot');
    // Each part is its own page now: none is the old 5,400 px scroll.
    for (const [label, hgt] of Object.entries(heights)) expect(hgt, label).toBeLessThan(4000);
  });

  it('the mailbox page: changes by name, and a roll-back button that says what it puts back before doing it', async () => {
    await page.goto(`/mailboxes/${mailboxId}`);
    const card = page.getByTestId('ownership-card');
    await card.waitFor();
    expect(await page.getByRole('navigation', { name: 'Breadcrumb' }).innerText()).toContain('Acme Ltd');
    const text = await card.innerText();
    expect(text).toContain('API token deploy-bot');
    expect(text).not.toMatch(ID);
    const undo = card.getByRole('button', { name: 'Put back: reset destination → alice@home.example…' });
    await undo.click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByRole('heading').innerText()).toBe('Undo “mailbox.update”?');
    expect(await dialog.innerText()).toMatch(/reset destination → alice@home\.example/);
    await shot('mailbox-rollback-dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await app.expectApi<{ resetDestination: string }>('GET', `/api/v1/mailboxes/${mailboxId}`, undefined, 200)).resetDestination).toBe('alice.backup@home.example');
    await shot('mailbox');
  });

  it('the audit filters take names: a mailbox address, a token name (ids still work; an unknown name is said)', async () => {
    await page.goto('/audit');
    const table = page.getByRole('region', { name: 'Audit events' });
    await table.locator('tbody tr').first().waitFor();
    await page.getByLabel('Target', { exact: true }).fill('alice@acme-names.test');
    await page.getByLabel('Actor', { exact: true }).fill('deploy-bot');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByTestId('audit-resolved').waitFor();
    expect(await page.getByTestId('audit-resolved').innerText()).toBe('Showing events of target: mailbox alice@acme-names.test · actor: API token deploy-bot');
    await page.waitForLoadState('networkidle');
    const rows = await table.locator('tbody tr').allInnerTexts();
    expect(rows.length).toBeGreaterThanOrEqual(3); // create, update, suspend, resume…
    for (const r of rows) {
      expect(r).toContain('alice@acme-names.test');
      expect(r).toContain('deploy-bot');
    }
    // The export links carry the resolved ids.
    expect(await page.getByRole('link', { name: 'CSV' }).getAttribute('href')).toContain(`targetId=${mailboxId}`);
    await shot('audit-filtered-by-name');
    // An id is still accepted.
    await page.getByLabel('Actor', { exact: true }).fill('');
    await page.getByLabel('Target', { exact: true }).fill(mailboxId);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForLoadState('networkidle');
    await expect.poll(async () => (await table.locator('tbody tr').allInnerTexts()).every((r) => r.includes('alice@acme-names.test'))).toBe(true);
    // A name nobody has: said, not an empty table.
    await page.getByLabel('Target', { exact: true }).fill('nobody@acme-names.test');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText(/Nothing visible to you is called “nobody@acme-names\.test”/).waitFor();
  });

  it('the domain overview lists the required addresses and where they go; the destination can be chosen there', async () => {
    await page.goto(`/domains/${domainId}`);
    const req = page.getByRole('region', { name: 'Required addresses of the domain' });
    await req.waitFor();
    const rows = await req.locator('tbody tr').allInnerTexts();
    expect(rows.map((r) => r.split(/\s/)[0])).toEqual(['postmaster@acme-names.test', 'abuse@acme-names.test', 'dmarc-reports@acme-names.test']);
    // The domain was made before anyone had an address: its aliases lead to the appliance's
    // postmaster; the default for the tenant is now the operator invited since.
    const dflt = await app.expectApi<{ effective: string; source: string }>('GET', `/api/v1/tenants/${tenantId}/required-addresses`, undefined, 200);
    expect(dflt).toEqual({ chosen: null, effective: EMAIL, source: 'operator' });
    for (const r of rows) expect(r).toMatch(/\talias postmaster@[a-z.]+\.test$/);
    expect(await page.getByTestId('required-destination').innerText()).toContain(`${EMAIL} (default: the operator’s address`);
    await page.getByText('Change where they deliver…').click();
    await shot('domain-required-addresses');
    await page.getByLabel('Deliver postmaster@, abuse@ and report mail to').fill('alice@acme-names.test');
    await page.getByLabel('Reason (recorded in the audit log)').first().fill('Alice reads the reports');
    await page.getByRole('button', { name: 'Save destination' }).click();
    await expect
      .poll(async () => (await page.getByRole('region', { name: 'Required addresses of the domain' }).locator('tbody tr').allInnerTexts()).every((r) => /alias\s+alice@acme-names\.test/.test(r)))
      .toBe(true);
    expect(await page.getByTestId('required-destination').innerText()).toMatch(/alice@acme-names\.test \(the tenant’s choice\)/);
    const api = await app.expectApi<{ chosen: string; source: string }>('GET', `/api/v1/tenants/${tenantId}/required-addresses`, undefined, 200);
    expect(api).toMatchObject({ chosen: 'alice@acme-names.test', source: 'tenant-choice' });
    // The tenant's settings show the same choice.
    await page.goto(`/tenants/${tenantId}?tab=settings`);
    await page.getByRole('heading', { name: 'Required addresses' }).waitFor();
    expect(await page.getByTestId('required-destination').innerText()).toContain('alice@acme-names.test');
    await shot('tenant-settings-required-addresses');
  });

  it('the DNS records say, next to each record, which cannot be published and why', async () => {
    const expected = await app.expectApi<{ records: Array<{ name: string; type: string; unpublishable?: string; broken?: boolean }> }>(
      'GET',
      `/api/v1/domains/${domainId}/dns/expected`,
      undefined,
      200,
    );
    const flagged = expected.records.filter((r) => r.unpublishable);
    expect(flagged.length).toBeGreaterThan(0); // the test appliance is mail.postern.test on 127.0.0.1
    await page.goto(`/domains/${domainId}`);
    const table = page.getByRole('region', { name: 'Expected DNS records' });
    await table.waitFor();
    expect(await page.getByTestId('dns-unpublishable-summary').innerText()).toMatch(new RegExp(`^${flagged.length} records? cannot be published as shown`));
    expect(await table.getByTestId('dns-unpublishable').count()).toBe(flagged.length);
    for (const r of flagged) {
      const row = table
        .locator('tbody tr')
        .filter({ hasText: r.name })
        .filter({ hasText: r.unpublishable!.split(':')[0]! })
        .first();
      const text = await row.innerText();
      expect(text).toContain(r.broken ? 'do not publish' : 'private DNS only');
      expect(text).toMatch(/set POSTERN_[A-Z_]+ to the public host name/);
    }
    await shot('domain-dns-unpublishable');
  });

  it('the tenant header shows the name (the id on hover only) and the offboarding page names who applied it', async () => {
    await page.goto(`/tenants/${tenantId}`);
    const h1 = page.getByRole('heading', { name: 'Acme Ltd', level: 1 });
    await h1.waitFor();
    expect(await h1.getAttribute('title')).toBe(tenantId);
    expect(await mainText(page)).not.toContain(tenantId);
    const leaver = await bot.expectApi<{ id: string }>(
      'POST',
      `/api/v1/domains/${domainId}/mailboxes`,
      { localPart: 'leaver', owner: { name: 'Lee Leaver', email: 'lee@home.example' }, credentialDelivery: 'link' },
      201,
    );
    await bot.expectApi('POST', `/api/v1/mailboxes/${leaver.id}/offboarding/apply`, { reason: 'left the company' }, 200);
    await page.goto(`/mailboxes/${leaver.id}/offboarding`);
    await page.getByRole('heading', { name: 'Undo' }).waitFor();
    const text = await mainText(page);
    expect(text).toMatch(/offboarded .* by deploy-bot/);
    expect(text).not.toMatch(ID);
    await shot('offboarding-applied');
  });

  it('the tenant, queue and approvals pages show no id-only cell', async () => {
    // A forward and a send-as grant made by the named token: their "created by" is its name.
    await bot.expectApi('POST', `/api/v1/domains/${domainId}/mailboxes`, { localPart: 'bob', owner: { name: 'Bob Example', email: 'bob@home.example' }, credentialDelivery: 'link' }, 201);
    await bot.expectApi('POST', `/api/v1/mailboxes/${mailboxId}/forwards`, { target: 'bob@acme-names.test' }, 201);
    await bot.expectApi('POST', `/api/v1/mailboxes/${mailboxId}/send-as`, { address: 'bob@acme-names.test' }, 201);
    await page.goto(`/mailboxes/${mailboxId}`);
    for (const name of ['Forwards', 'Send-as grants']) {
      const region = page.getByRole('region', { name });
      await region.waitFor();
      expect(await region.innerText(), name).toContain('deploy-bot');
      expect(await region.innerText(), name).not.toMatch(ID);
    }
    const tenantTabs = ['domains', 'mailboxes', 'aliases', 'forwarding', 'admins', 'tokens', 'bulk', 'templates', 'bin', 'settings'].map(
      (t) => [`/tenants/${tenantId}?tab=${t}`, 'Acme Ltd', `tenant-${t}`] as const,
    );
    for (const [url, heading, name] of [
      ...tenantTabs,
      ['/queue', 'Outbound queue', 'queue'],
      ['/approvals', /approv/i, 'approvals'],
      ['/tenants', 'Tenants', 'tenants'],
      ['/people', 'People', 'people'],
    ] as const) {
      await page.goto(url);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      for (const c of await cellTexts(page)) expect(c, url).not.toMatch(ID);
      await shot(name);
    }
    expect(pageErrors).toEqual([]);
  });
});
