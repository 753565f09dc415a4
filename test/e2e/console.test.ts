/**
 * The web console end to end: the built appliance serves web/dist, and Debian's Chromium
 * (driven by playwright-core; never a downloaded browser) goes through the flows an admin
 * does: accept an invitation, enrol TOTP, sign in with TOTP, create a tenant, a domain and a
 * mailbox, read the ownership card, see server validation errors next to the field, suspend
 * with a confirmation naming the mailbox, see the audit event and a verified chain; and a
 * mailbox owner signs in to self-service. Screenshots go to test-artifacts/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../appliance/core/access/totp.js';
import { Appliance } from '../helpers/appliance.js';

const SHOTS = path.resolve(__dirname, '..', '..', 'test-artifacts', 'screenshots');
const EMAIL = 'olivia.operator@provider.example';
const PASSWORD = 'Console-Passw0rd-long!';

let app: Appliance;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
let totpSecret = '';

async function shot(name: string, p: Page = page): Promise<void> {
  await p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  app = await Appliance.start();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ baseURL: app.url, viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('serving', () => {
  it('serves the console at / and any console path with a strict CSP; the API keeps JSON 404s', async () => {
    for (const p of ['/', '/tenants/abc', '/login']) {
      const res = await fetch(`${app.url}${p}`);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      const html = await res.text();
      expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
      expect(html).not.toMatch(/<script(?![^>]*src=)[^>]*>/);
    }
    const api = await fetch(`${app.url}/api/v1/no-such-thing`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('NotFound');
    expect((await fetch(`${app.url}/favicon.ico`)).status).toBe(404);
    expect((await fetch(`${app.url}/assets/../../package.json`)).status).toBe(404);
  });

  it('keeps the first load under 300 KB of compressed JavaScript', async () => {
    const html = await (await fetch(`${app.url}/`)).text();
    const scripts = [...html.matchAll(/src="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
    let total = 0;
    for (const s of scripts) {
      const res = await fetch(`${app.url}${s}`);
      expect(res.headers.get('cache-control')).toContain('immutable');
      const { gzipSync } = await import('node:zlib');
      total += gzipSync(Buffer.from(await res.arrayBuffer())).length;
    }
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThan(300 * 1024);
  });
});

describe('an operator in the browser', () => {
  it('accepts the invitation, enrols TOTP and saves recovery codes', async () => {
    const invite = await app.expectApi<{ setup: { token: string } }>('POST', '/api/v1/principals', { name: 'Olivia Operator', email: EMAIL }, 201);
    await page.goto(`/principal-setup/${invite.setup.token}`);
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.waitForURL(/\/login\?setup=1/);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/enrol$/);
    totpSecret = (await page.getByTestId('totp-secret').textContent())!.trim();
    expect(totpSecret).toMatch(/^[A-Z2-7]+=*$/);
    await expect(page.getByRole('img', { name: /QR code/ }).isVisible()).resolves.toBe(true);
    await shot('totp-enrolment');
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(totpSecret, Date.now()));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    expect(await page.getByRole('list', { name: 'Recovery codes' }).locator('li').count()).toBe(10);
    await page.getByRole('link', { name: /continue/ }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    // No secret ends up in web storage.
    expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
  });

  it('signs out, and signs in again with password and TOTP', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login\?out=1/);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel(/^Password/).fill(PASSWORD);
    // The enrolment used the current 30 s step; a code is accepted once, so use the next step's (±1 step is valid).
    await page.getByLabel('Authenticator code').fill(await totpCode(totpSecret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByText('Appliance:').waitFor();
    await page.getByText(/^Audit chain:/).waitFor();
    await page.getByTestId('metrics').getByText('Outbound queue').waitFor();
    await shot('dashboard');
  });

  let mailboxUrl = '';
  let domainUrl = '';
  let tenantUrl = '';
  let setupUrl = '';

  it('creates a tenant, a domain with its DNS records, and a mailbox with its owner', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tenants' }).click();
    await page.getByLabel('Tenant name').fill('Acme Ltd');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByRole('heading', { name: 'Acme Ltd' }).waitFor();
    tenantUrl = page.url().split('?')[0]!;
    await page.getByLabel('Domain name').fill('acme-console.test');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('heading', { name: 'acme-console.test', level: 1 }).waitFor();
    const dnsTable = page.getByRole('region', { name: 'Expected DNS records' });
    await dnsTable.waitFor();
    expect(await dnsTable.locator('tbody tr').count()).toBeGreaterThanOrEqual(4);
    const zone = (await page.getByLabel('BIND zone snippet').textContent()) ?? '';
    expect(zone).toMatch(/^acme-console\.test\. 3600 IN MX \d+ /m);
    expect(zone).toContain('_dmarc.acme-console.test.');
    await shot('domain');
    domainUrl = page.url();
    // The domain page is split in tabs: mailboxes (and the new-mailbox form) have their own.
    await page.getByRole('navigation', { name: 'Domain sections' }).getByRole('link', { name: 'Mailboxes' }).click();
    await page.getByRole('heading', { name: 'New mailbox' }).waitFor();

    // A server validation error appears next to its field.
    await page.getByLabel('Local part (before the @)').fill('not valid!');
    await page.getByLabel('Owner of record: name').fill('Alice Example');
    await page.getByLabel('Owner of record: email').fill('alice.owner@client.example');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    const localPart = page.getByLabel('Local part (before the @)');
    await expect.poll(() => localPart.getAttribute('aria-invalid')).toBe('true');
    const errId = ((await localPart.getAttribute('aria-describedby')) ?? '').split(' ').pop()!;
    expect(await page.locator(`[id="${errId}"]`).textContent()).toMatch(/not a valid local part/);

    await localPart.fill('alice');
    await page.getByLabel('Business owner: name').fill('Bob Boss');
    await page.getByLabel('Business owner: email').fill('bob.boss@client.example');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    const created = page.getByRole('status').filter({ hasText: 'single-use setup link' });
    await created.waitFor();
    setupUrl = (await created.locator('code').textContent())!.trim();
    expect(setupUrl).toMatch(/\/setup\/[\w-]+$/);
    await created.getByRole('link', { name: 'alice@acme-console.test' }).click();
    await page.getByRole('heading', { name: 'alice@acme-console.test', level: 1 }).waitFor();
    mailboxUrl = page.url();
  });

  it('checks DNS and shows a status per record, the template and the timeline', async () => {
    await page.goto(domainUrl);
    await page.getByRole('button', { name: 'Check DNS now' }).click();
    await page.locator('[data-testid=dns-status][data-checked]').waitFor({ timeout: 20_000 });
    const statuses = await page.getByRole('region', { name: 'Expected DNS records' }).locator('tbody tr td[data-label="Status"] .badge').allTextContents();
    expect(statuses.length).toBeGreaterThanOrEqual(4);
    // "not published": a record no DNS server may carry (its note beside the value says why).
    for (const s of statuses) expect(['ok', 'missing', 'wrong', 'conflict', 'error', 'not checked', 'not published']).toContain(s);
    // The history table is fetched after the check's own answer is shown: wait for its first row.
    const historyRows = page.getByRole('region', { name: 'DNS check history' }).locator('tbody tr');
    await historyRows.first().waitFor({ timeout: 20_000 });
    expect(await historyRows.count()).toBeGreaterThanOrEqual(1);
    await shot('domain-dns-checked');
    const tabs = page.getByRole('navigation', { name: 'Domain sections' });
    await tabs.getByRole('link', { name: 'Template' }).click();
    await page.getByRole('heading', { name: 'Template' }).waitFor();
    await tabs.getByRole('link', { name: 'Timeline' }).click();
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await page.goto(mailboxUrl);
  });

  it('shows the ownership card without scrolling', async () => {
    const card = page.getByTestId('ownership-card');
    await card.waitFor();
    const text = (await card.textContent()) ?? '';
    expect(text).toContain('Alice Example');
    expect(text).toContain('Bob Boss');
    expect(text).toContain('alice.owner@client.example');
    expect(text).toMatch(/Who can reset it/);
    expect(text).toMatch(/mailbox\.create/);
    const box = (await card.boundingBox())!;
    expect(box.y + box.height).toBeLessThanOrEqual(800);
    await shot('mailbox');
  });

  it('suspends the mailbox after a confirmation that names it', async () => {
    await page.getByRole('button', { name: 'Suspend' }).click();
    const dialog = page.getByRole('dialog', { name: 'Suspend this mailbox?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('alice@acme-console.test');
    await dialog.getByLabel(/Reason/).fill('console e2e');
    await dialog.getByRole('button', { name: 'Suspend' }).click();
    await page.locator('.title-row .badge', { hasText: 'suspended' }).waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('dialog', { name: 'Resume this mailbox?' }).getByRole('button', { name: 'Resume' }).click();
    // exact: the ownership card now also has "Put back: status → suspended…" (a roll-back button).
    await page.getByRole('button', { name: 'Suspend', exact: true }).waitFor();
  });

  it('runs an admin reset: the link goes to the reset destination, the admin never sees a password', async () => {
    await page.getByLabel('Delivery').selectOption('email');
    await page.getByLabel('Reason for the reset').fill('owner locked out, ticket 881');
    await page.getByRole('button', { name: 'Send reset link' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset this mailbox?' });
    expect(await dialog.textContent()).toContain('alice@acme-console.test');
    await dialog.getByRole('button', { name: 'Reset' }).click();
    await page.getByText(/^Reset (issued|completed|pending)/).waitFor();
    const row = page.getByRole('region', { name: 'Resets' }).locator('tbody tr').first();
    expect(await row.textContent()).toContain('alice.owner@client.example');
    expect(await row.textContent()).toMatch(/email/);
  });

  it('queues an emergency reset for a second approver', async () => {
    await page.getByText('Emergency reset (reset destination lost)').click();
    await page.getByLabel('Send the link to (new reset destination)').fill('alice.new@client.example');
    await page.getByLabel('How the owner’s identity was verified').selectOption('video-call');
    await page.getByLabel('Evidence').fill('video call, matched staff badge');
    await page.getByLabel('Reason for the emergency reset').fill('phone with the old destination stolen');
    await page.getByRole('button', { name: 'Request emergency reset' }).click();
    await page.getByText(/Emergency reset pending-approval/).waitFor();
    // The requester cannot approve it: no Approve button on their own request.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Approvals' }).click();
    const queue = page.getByRole('region', { name: 'Resets' }).first();
    await queue.locator('tbody tr').first().waitFor();
    expect(await queue.textContent()).toContain('alice.new@client.example');
    expect(await queue.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await shot('approvals');
    // A second principal (the bootstrap operator's token) approves; the queue empties.
    const mailboxId = mailboxUrl.split('/').pop()!;
    const resets = await app.expectApi<Array<{ id: string; status: string }>>('GET', `/api/v1/mailboxes/${mailboxId}/resets`, undefined, 200);
    const pending = resets.find((r) => r.status === 'pending-approval')!;
    await app.expectApi('POST', `/api/v1/resets/${pending.id}/approve`, { note: 'second approver' }, 200);
    await page.reload();
    await page.getByRole('heading', { name: 'Waiting for approval (0)' }).waitFor();
    await page.goto(mailboxUrl);
  });

  it('sees the audit events of what it did, and a verified chain', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByTestId('chain-status').getByText('verified').waitFor();
    await page.getByLabel('Action').fill('mailbox.suspend');
    await page.getByRole('button', { name: 'Apply' }).click();
    const row = page.getByRole('region', { name: 'Audit events' }).locator('tbody tr').first();
    await row.waitFor();
    expect(await row.textContent()).toContain('mailbox.suspend');
    await row.getByText('Details').click();
    expect(await row.textContent()).toContain('console e2e');
    await shot('audit');
  });

  it('imports mailboxes from a CSV: plan with per-row problems, approve a flagged row, apply, roll back', async () => {
    const csv = [
      'local_part,domain,owner_name,owner_email,role',
      'carol,acme-console.test,Carol C,carol.owner@client.example,',
      'dave,acme-console.test,Dave D,dave.owner@client.example,',
      'info,acme-console.test,Maria Office,maria.office@client.example,true',
      'carol,acme-console.test,Carol Again,carol2@client.example,',
      'eve,not-hosted.example,Eve E,eve@client.example,',
    ].join('\n');
    await page.goto(tenantUrl + '?tab=bulk');
    await page.getByLabel('CSV file').setInputFiles({ name: 'import.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByLabel('Request id').fill('CR-1042');
    await page.getByLabel('Approval reference').fill('TICKET-7');
    await page.getByLabel(/Allow domains whose DNS is not verified/).check();
    await page.getByRole('button', { name: 'Upload and plan' }).click();
    await page.getByRole('heading', { name: 'Batch CR-1042' }).waitFor();
    expect(await page.getByTestId('batch-state').textContent()).toBe('planned');
    const refused = page.getByRole('region', { name: 'Refused rows' });
    const refusedText = (await refused.textContent()) ?? '';
    expect(refusedText).toMatch(/not-hosted\.example/);
    expect(refusedText).toMatch(/carol@acme-console\.test/);
    const create = page.getByRole('region', { name: 'Rows to create' });
    const creating = await create.locator('tbody tr').count();
    expect(creating).toBeGreaterThanOrEqual(1);
    expect(await create.textContent()).toContain('dave@acme-console.test');
    await page.getByRole('checkbox', { name: /Approve row \d+ \(info@acme-console\.test\)/ }).check();
    await shot('bulk-plan');
    await page.getByRole('button', { name: 'Apply batch' }).click();
    await page.getByRole('dialog', { name: 'Apply this batch?' }).getByRole('button', { name: 'Apply' }).click();
    await page.getByTestId('batch-state').getByText('applied', { exact: true }).waitFor({ timeout: 20_000 });
    expect(await page.getByLabel('Batch progress').getAttribute('value')).toBe('100');
    expect(await page.getByTestId('batch-report').textContent()).toContain(`Created${creating + 1}`);
    await shot('bulk-applied');
    // The button and the text beside it say what a roll-back does before anything happens.
    expect(await page.getByTestId('rollback-explained').textContent()).toMatch(new RegExp(`disables the ${creating + 1} mailboxes this batch created.*recycle bin`));
    await page.getByRole('button', { name: `Roll back: disable and bin ${creating + 1} mailboxes…` }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll this batch back?' });
    await dialog.getByLabel('Type CR-1042 to confirm').fill('CR-1042');
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await page.getByTestId('batch-state').getByText('rolled-back', { exact: true }).waitFor({ timeout: 20_000 });
    const left = await app.expectApi<Array<{ address: string }>>('GET', `/api/v1/domains/${domainUrl.split('/').pop()}/mailboxes?status=active`, undefined, 200);
    expect(left.map((m) => m.address)).not.toContain('dave@acme-console.test');
    expect(left.map((m) => m.address)).not.toContain('info@acme-console.test');
  });

  it('offboards a leaver: plan, options, apply, and a verified checklist with nothing left', async () => {
    const domainId = domainUrl.split('/').pop()!;
    const leaver = await app.expectApi<{ id: string; setup: { token: string } }>(
      'POST',
      `/api/v1/domains/${domainId}/mailboxes`,
      { localPart: 'leaver', owner: { name: 'Lee Leaver', email: 'lee@client.example' }, credentialDelivery: 'link' },
      201,
    );
    await app.expectApi('POST', `/api/v1/setup/${leaver.setup.token}`, { password: 'Sturdy-Passw0rd-long!' }, 204);
    await app.expectApi('POST', `/api/v1/mailboxes/${leaver.id}/forwards`, { target: 'alice@acme-console.test', reason: 'holiday cover' }, 201);
    await app.expectApi('POST', `/api/v1/mailboxes/${leaver.id}/app-passwords`, { name: 'old phone', scopes: ['imap'] }, 201);
    await page.goto(`/mailboxes/${leaver.id}`);
    await page.getByRole('link', { name: 'Offboard…' }).click();
    const planned = page.getByTestId('plan-paths');
    await planned.waitFor();
    const planText = (await planned.textContent()) ?? '';
    expect(planText).toMatch(/app.?password/i);
    await shot('offboarding-plan');
    await page.getByRole('button', { name: 'Choose options' }).click();
    await page.getByLabel('Afterwards the mailbox becomes').selectOption('disabled');
    await page.getByLabel('Forwards').selectOption('remove');
    await page.getByLabel('Reason', { exact: true }).fill('left on 30 Nov, HR-221');
    await page.getByRole('button', { name: 'Continue to apply' }).click();
    const dialog = page.getByRole('dialog', { name: 'Apply the offboarding?' });
    await dialog.getByLabel('Type leaver@acme-console.test to confirm').fill('leaver@acme-console.test');
    await dialog.getByRole('button', { name: 'Offboard' }).click();
    await page.getByTestId('applied-steps').waitFor();
    expect(await page.getByTestId('applied-steps').locator('li').count()).toBeGreaterThanOrEqual(3);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByTestId('verify-result').getByText('verified: no access path left').waitFor();
    const checklist = page.getByTestId('verify-checklist');
    expect(await checklist.locator('li.open').count()).toBe(0);
    expect(await checklist.locator('li.closed').count()).toBeGreaterThanOrEqual(2);
    await shot('offboarding-verified');
  });

  it('shows templates and the drift report', async () => {
    await page.goto(tenantUrl + '?tab=templates');
    await page.getByRole('region', { name: 'Templates' }).waitFor();
    await page.getByRole('region', { name: 'Drift by domain' }).getByText('acme-console.test').waitFor();
    await shot('templates');
  });

  it('creates an API token shown once, and revokes it after a confirmation (Escape cancels)', async () => {
    await page.goto(tenantUrl + '?tab=tokens');
    await page.getByLabel('Token name').fill('billing sync');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.locator('code.secret').textContent())!.trim();
    const res = await fetch(`${app.url}/api/v1/tenants/${tenantUrl.split('/').pop()}`, { headers: { authorization: `Bearer ${secret}` } });
    expect(res.status).toBe(200);
    const row = page.getByRole('region', { name: 'API tokens' }).locator('tbody tr', { hasText: 'billing sync' });
    await row.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke this token?' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Revoke this token?' }).getByRole('button', { name: 'Revoke token' }).click();
    await row.getByText('revoked').waitFor();
    expect((await fetch(`${app.url}/api/v1/tenants/${tenantUrl.split('/').pop()}`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
  });

  it('gives a tenant admin a view of their own tenant only', async () => {
    const tenantId = tenantUrl.split('/').pop()!;
    const invite = await app.expectApi<{ setup: { token: string } }>('POST', `/api/v1/tenants/${tenantId}/principals`, { name: 'Tina Admin', email: 'tina@client.example', role: 'tenant-admin' }, 201);
    const other = await app.expectApi<{ id: string }>('POST', '/api/v1/tenants', { name: 'Other Client' }, 201);
    const ctx = await browser.newContext({ baseURL: app.url });
    const p = await ctx.newPage();
    p.setDefaultTimeout(10_000);
    await p.goto(`/principal-setup/${invite.setup.token}`);
    await p.getByLabel('New password').fill(PASSWORD);
    await p.getByLabel('Repeat the password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Set password' }).click();
    await p.waitForURL(/\/login/);
    await p.getByLabel('Email').fill('tina@client.example');
    await p.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(/\/enrol$/);
    const secret = (await p.getByTestId('totp-secret').textContent())!.trim();
    await p.getByLabel('Code from your authenticator app').fill(await totpCode(secret, Date.now()));
    await p.getByRole('button', { name: 'Confirm' }).click();
    await p.getByRole('link', { name: /continue/ }).click();
    await p.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const nav = p.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'Tenants' }).count()).toBe(0);
    await nav.getByRole('link', { name: 'Mailboxes' }).click();
    await p.getByRole('heading', { name: 'Acme Ltd' }).waitFor();
    await p.getByRole('region', { name: 'Mailboxes' }).getByText('alice@acme-console.test').waitFor();
    await shot('tenant-admin', p);
    await p.goto(`/tenants/${other.id}`);
    await p
      .getByRole('alert')
      .getByText(/not found/i)
      .waitFor();
    await ctx.close();
  });

  it('fits a phone screen', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 375, height: 740 });
    await phone.goto(mailboxUrl);
    await phone.getByTestId('ownership-card').waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.getByRole('button', { name: 'Menu' }).click();
    await phone.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).waitFor();
    await shot('mailbox-phone', phone);
    await phone.close();
  });

  it('returns to the login page when the session ends', async () => {
    await context.clearCookies();
    await page.goto('/tenants');
    await page.waitForURL(/\/login/);
    await page.getByRole('heading', { name: 'Sign in to Postern' }).waitFor();
  });

  it('lets the mailbox owner set a password and sign in to self-service', async () => {
    // Alice's first link died with her resets above: a new mailbox for the owner's side.
    const domainId = domainUrl.split('/').pop()!;
    const mb = await app.expectApi<{ setup: { url: string } }>(
      'POST',
      `/api/v1/domains/${domainId}/mailboxes`,
      { localPart: 'olga', owner: { name: 'Olga Owner', email: 'olga@client.example' }, credentialDelivery: 'link' },
      201,
    );
    const owner = await browser.newContext({ baseURL: app.url });
    const p = await owner.newPage();
    p.setDefaultTimeout(10_000);
    await p.goto(new URL(mb.setup.url).pathname);
    await p.getByLabel('New password').fill('Owner-Passw0rd-long!');
    await p.getByLabel('Repeat the password').fill('Owner-Passw0rd-long!');
    await p.getByRole('button', { name: 'Set password' }).click();
    await p.waitForURL(/\/login\?as=owner/);
    await p.getByLabel('Mailbox address', { exact: true }).fill('olga@acme-console.test');
    await p.getByLabel(/^Password/).fill('Owner-Passw0rd-long!');
    await p.getByRole('button', { name: 'Sign in to my mailbox' }).click();
    await p.getByRole('heading', { name: 'olga@acme-console.test' }).waitFor();
    expect(await p.getByText('Reset links go to').isVisible()).toBe(true);
    await p.getByLabel('Name', { exact: true }).fill('Laptop');
    await p.getByRole('button', { name: 'Create app password' }).click();
    expect(((await p.getByTestId('app-password').textContent()) ?? '').length).toBeGreaterThanOrEqual(16);
    await p.getByRole('button', { name: 'Revoke Laptop' }).waitFor();
    await shot('self-service', p);
    await owner.close();
  });

  it('raised no script errors or CSP violations', () => {
    // The browser logs every 4xx answer (expected ones: a refused form, an ended session); CSP violations say "Refused to…".
    expect(pageErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e))).toEqual([]);
  });
});
