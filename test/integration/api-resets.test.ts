/**
 * Resets and app passwords through the API, with the real credential module (revoker and
 * self-service credentials) and a mailer that delivers to a loopback SMTP sink:
 * admin resets by email (the admin never sees the link), link delivery only where the tenant
 * policy allows it, emergency resets that wait for a second approver (an operator for
 * high-value mailboxes), revocation of sessions and app passwords, owner notifications, audit
 * events for request, approval, delivery and completion, and rate limits.
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import type { Mailer } from '../../appliance/core/delivery/mailer.js';
import { createLogger } from '../../appliance/logger.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';
import { type Sink, startSink } from '../helpers/sink.js';

const PASSWORD = 'Correct-Horse-42-Battery';
const NEW_PASSWORD = 'Brand-New-Passw0rd-77';
let t: TestApp;
let sink: Sink;
let creds: CredentialService;
let a: { tenantId: string; domainId: string; token: string };

function sinkMailer(port: number): Mailer {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  return {
    async send(from, to, subject, text) {
      await transport.sendMail({ from, to, subject, text });
    },
  };
}

/** The setup-link token in a sunk message (quoted-printable or base64 body). */
export function linkToken(raw: string): string | null {
  const unfolded = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  let m = /\/setup\/(psu_[A-Za-z0-9_-]+)/.exec(unfolded);
  if (m) return m[1]!;
  const body = raw
    .split(/\r?\n\r?\n/)
    .slice(1)
    .join('\n')
    .replace(/\s+/g, '');
  m = /\/setup\/(psu_[A-Za-z0-9_-]+)/.exec(Buffer.from(body, 'base64').toString('utf8'));
  return m ? m[1]! : null;
}

const subjectOf = (raw: string) => /^Subject: (.*)$/m.exec(raw)?.[1] ?? '';

async function activeMailbox(localPart: string, extra: Record<string, unknown> = {}) {
  const mb = await provisionMailbox(t, a.domainId, localPart, extra, a.token);
  const r = await t.call('POST', `/api/v1/setup/${mb.setup.token}`, { token: null, body: { password: PASSWORD } });
  if (r.status !== 204) throw new Error(`setup ${r.status}`);
  return mb;
}

const login = (address: string, password: string, protocol: 'imap' | 'smtp' = 'imap') => creds.verifyLogin({ username: address, password, protocol, remoteAddress: '127.0.0.1' });
const events = async (mailboxId: string, prefix: string) =>
  (await t.call('GET', `/api/v1/audit/events?targetId=${mailboxId}&action=${prefix.endsWith('.') ? `${prefix}*` : prefix}&limit=100`)).body as Array<{
    action: string;
    after: any;
    reason: string | null;
    approvalId: string | null;
  }>;

beforeAll(async () => {
  sink = await startSink();
  t = await createTestApp({
    revoker: (db) => (creds = new CredentialService(db, createLogger('silent', { pretty: false }))),
    credentials: () => creds,
    mailer: sinkMailer(sink.port),
  });
  a = await provisionTenant(t, 'Resets Co', 'resets.example');
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

describe('app passwords', () => {
  it('are shown once, listed without secrets, work for their scope only, and revoking one ends only its sessions', async () => {
    const mb = await activeMailbox('apps');
    const created = await t.call('POST', `/api/v1/mailboxes/${mb.id}/app-passwords`, { token: a.token, body: { name: 'Phone', scopes: ['imap'] } });
    expect(created.status).toBe(201);
    expect(created.body.password).toMatch(/^[a-z]{4} [a-z]{4} [a-z]{4} [a-z]{4}$/);
    const list = await t.call('GET', `/api/v1/mailboxes/${mb.id}/app-passwords`, { token: a.token });
    expect(list.body).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(created.body.password.replace(/ /g, ''));
    expect(list.body[0]).toMatchObject({ id: created.body.id, name: 'Phone', scopes: ['imap'], revokedAt: null });

    const imap = await login(mb.address, created.body.password);
    expect(imap).toMatchObject({ ok: true, credentialId: `app:${created.body.id}` });
    expect((await login(mb.address, created.body.password, 'smtp')).ok).toBe(false);

    // Two open sessions: one with the app password, one with the main password.
    const ended: string[] = [];
    creds.onRevoke(mb.id, () => ended.push('app'), `app:${created.body.id}`);
    creds.onRevoke(mb.id, () => ended.push('password'), 'password');
    const del = await t.call('DELETE', `/api/v1/mailboxes/${mb.id}/app-passwords/${created.body.id}`, { token: a.token });
    expect(del.status).toBe(204);
    expect(ended).toEqual(['app']);
    expect((await login(mb.address, created.body.password)).ok).toBe(false);
    expect(await creds.isCurrent(mb.id, (imap as { credentialVersion: number }).credentialVersion, `app:${created.body.id}`)).toBe(false);
    expect((await t.call('GET', `/api/v1/mailboxes/${mb.id}/app-passwords`, { token: a.token })).body).toEqual([]);
    expect((await events(mb.id, 'mailbox.app_password.')).map((e) => e.action).sort()).toEqual(['mailbox.app_password.create', 'mailbox.app_password.revoke']);
  });

  it('validates scopes (400), needs mailboxes.manage (403), hides other tenants (404)', async () => {
    const mb = await activeMailbox('apps2');
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/app-passwords`, { token: a.token, body: { name: 'X', scopes: ['pop3'] } })).status).toBe(400);
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/app-passwords`, { token: a.token, body: { name: 'X', scopes: [] } })).status).toBe(400);
    const hd = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'hd', role: 'helpdesk' } });
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/app-passwords`, { token: hd.body.token, body: { name: 'X', scopes: ['imap'] } })).status).toBe(403);
    const b = await provisionTenant(t, 'Other Resets', 'other-resets.example');
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/app-passwords`, { token: b.token, body: { name: 'X', scopes: ['imap'] } })).status).toBe(404);
    expect((await t.call('GET', `/api/v1/mailboxes/${mb.id}/app-passwords`, { token: b.token })).status).toBe(404);
  });
});

describe('admin-initiated reset', () => {
  it('mails a single-use link to the reset destination (never to the admin), revokes sessions and app passwords, notifies both owners, audits each step', async () => {
    const mb = await activeMailbox('ada', { businessOwner: { name: 'Boss', email: 'boss@client-home.example' }, resetDestination: 'ada.private@home.example' });
    const app = await t.call('POST', `/api/v1/mailboxes/${mb.id}/app-passwords`, { token: a.token, body: { name: 'Laptop', scopes: ['imap', 'smtp'] } });
    const session = await login(mb.address, PASSWORD);
    expect(session.ok).toBe(true);
    let closed = '';
    creds.onRevoke(mb.id, (reason) => (closed = reason));

    const r = await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: a.token, body: { kind: 'admin', reason: 'owner locked out' } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ kind: 'admin', delivery: 'email', status: 'issued', destination: 'ada.private@home.example', deliveryState: 'sent' });
    expect(r.body.setup).toBeUndefined();
    expect(closed).toMatch(/reset/);
    expect(await creds.isCurrent(mb.id, (session as { credentialVersion: number }).credentialVersion)).toBe(false);
    expect((await login(mb.address, app.body.password)).ok).toBe(false);

    const mail = await sink.waitFor((m) => m.to.includes('ada.private@home.example'));
    const token = linkToken(mail.raw);
    expect(token).toBeTruthy();
    await sink.waitFor((m) => m.to.includes('boss@client-home.example') && /Password reset/.test(subjectOf(m.raw)));
    await sink.waitFor((m) => m.to.includes('ada@client-home.example') && /Password reset/.test(subjectOf(m.raw)));

    // The owner completes it through the ordinary setup endpoint; the link works once.
    expect((await t.call('POST', `/api/v1/setup/${token}`, { token: null, body: { password: 'short' } })).status).toBe(400);
    expect((await t.call('POST', `/api/v1/setup/${token}`, { token: null, body: { password: NEW_PASSWORD } })).status).toBe(204);
    expect((await t.call('POST', `/api/v1/setup/${token}`, { token: null, body: { password: NEW_PASSWORD } })).status).toBe(410);
    expect((await login(mb.address, PASSWORD)).ok).toBe(false);
    expect((await login(mb.address, NEW_PASSWORD)).ok).toBe(true);
    expect((await t.call('GET', `/api/v1/resets/${r.body.id}`, { token: a.token })).body.status).toBe('completed');

    const audit = await events(mb.id, 'reset.');
    expect(audit.map((e) => e.action).sort()).toEqual(['reset.complete', 'reset.delivery', 'reset.issue', 'reset.request']);
    expect(audit.find((e) => e.action === 'reset.delivery')!.after).toMatchObject({ method: 'email', destination: 'ada.private@home.example', state: 'sent' });
    expect(audit.find((e) => e.action === 'reset.issue')!.after).toMatchObject({ sessionsRevoked: true, appCredentialsRevoked: 1 });
    expect(JSON.stringify(audit)).not.toContain(token!);
    expect((await t.call('GET', '/api/v1/audit/verify')).body.ok).toBe(true);

    const own = await t.call('GET', `/api/v1/mailboxes/${mb.id}/ownership`, { token: a.token });
    expect(own.body.resetPaths.map((p: { path: string }) => p.path)).toEqual(['admin-reset', 'emergency-reset', 'self-service', 'self-service-link']);
    expect(own.body.lastChange.event).toBe('reset.complete');
  });

  it('returns the link to the caller only where the tenant policy allows it, and records the delivery method', async () => {
    const mb = await activeMailbox('linky');
    const refused = await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: a.token, body: { kind: 'admin', delivery: 'link', reason: 'help desk call' } });
    expect(refused.status).toBe(403);
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/access-policy`, { token: a.token })).body).toMatchObject({
      resetLinkToCaller: false,
      externalForwarding: false,
      resetRevokesAppPasswords: true,
    });
    expect((await t.call('PUT', `/api/v1/tenants/${a.tenantId}/access-policy`, { token: a.token, body: { resetLinkToCaller: true, reason: 'walk-in help desk' } })).status).toBe(200);
    try {
      const r = await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: a.token, body: { kind: 'admin', delivery: 'link', reason: 'help desk call' } });
      expect(r.status).toBe(201);
      expect(r.body.setup.url).toBe(`https://console.postern.test/setup/${r.body.setup.token}`);
      expect(r.body.deliveryState).toBe('returned');
      const ev = (await events(mb.id, 'reset.delivery'))[0]!;
      expect(ev.after).toMatchObject({ method: 'link', state: 'returned' });
      expect((await t.call('POST', `/api/v1/setup/${r.body.setup.token}`, { token: null, body: { password: NEW_PASSWORD } })).status).toBe(204);
      // The link was shown once: reading the reset again does not show it.
      expect((await t.call('GET', `/api/v1/resets/${r.body.id}`, { token: a.token })).body.setup).toBeUndefined();
    } finally {
      await t.call('PUT', `/api/v1/tenants/${a.tenantId}/access-policy`, { token: a.token, body: { resetLinkToCaller: false } });
    }
  });

  it('is rate-limited per mailbox (429) and refused for a suspended mailbox (409)', async () => {
    const mb = await activeMailbox('busy');
    for (let i = 0; i < 3; i++) expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: a.token, body: { kind: 'admin', reason: `try ${i}` } })).status).toBe(201);
    const limited = await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: a.token, body: { kind: 'admin', reason: 'again' } });
    expect(limited.status).toBe(429);
    t.advance(3601_000);
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: a.token, body: { kind: 'admin', reason: 'later' } })).status).toBe(201);
    const s = await activeMailbox('sleepy');
    await t.call('POST', `/api/v1/mailboxes/${s.id}/suspend`, { token: a.token });
    expect((await t.call('POST', `/api/v1/mailboxes/${s.id}/resets`, { token: a.token, body: { kind: 'admin', reason: 'x' } })).status).toBe(409);
  });
});

describe('emergency reset', () => {
  const body = (dest: string) => ({
    kind: 'emergency',
    reason: 'phone and private mail account stolen',
    verification: { method: 'video-call', evidence: 'passport shown on a video call with HR present' },
    newResetDestination: dest,
  });

  it('without a second approver issues nothing; the requester cannot approve; a second principal can, and the link goes to the new destination', async () => {
    const mb = await activeMailbox('eve', { resetDestination: 'eve.old@home.example' });
    const session = await login(mb.address, PASSWORD);
    const r = await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: a.token, body: body('eve.new@home.example') });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: 'pending-approval', newResetDestination: 'eve.new@home.example', verification: { method: 'video-call' } });
    // Nothing happened yet: no link, sessions alive, destination unchanged.
    expect(await creds.isCurrent(mb.id, (session as { credentialVersion: number }).credentialVersion)).toBe(true);
    expect(sink.messages.some((m) => m.to.includes('eve.new@home.example'))).toBe(false);

    const self = await t.call('POST', `/api/v1/resets/${r.body.id}/approve`, { token: a.token, body: {} });
    expect(self.status).toBe(403);
    expect(self.body.error.message).toMatch(/requester/);
    const hd = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'hd2', role: 'helpdesk' } });
    expect((await t.call('POST', `/api/v1/resets/${r.body.id}/approve`, { token: hd.body.token, body: {} })).status).toBe(403);

    const approver = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'approver', permissions: ['resets.approve', 'mailboxes.read'] } });
    const ok = await t.call('POST', `/api/v1/resets/${r.body.id}/approve`, { token: approver.body.token, body: { note: 'checked the call recording' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ status: 'issued', destination: 'eve.new@home.example', deliveryState: 'sent' });
    expect(await creds.isCurrent(mb.id, (session as { credentialVersion: number }).credentialVersion)).toBe(false);
    const mail = await sink.waitFor((m) => m.to.includes('eve.new@home.example'));
    expect(sink.messages.some((m) => m.to.includes('eve.old@home.example'))).toBe(false);
    expect((await t.call('POST', `/api/v1/setup/${linkToken(mail.raw)}`, { token: null, body: { password: NEW_PASSWORD } })).status).toBe(204);
    expect((await t.call('GET', `/api/v1/mailboxes/${mb.id}`, { token: a.token })).body.resetDestination).toBe('eve.new@home.example');
    expect((await t.call('POST', `/api/v1/resets/${r.body.id}/approve`, { token: approver.body.token, body: {} })).status).toBe(409);

    const audit = await events(mb.id, 'reset.');
    expect(audit.map((e) => e.action).sort()).toEqual(['reset.approve', 'reset.complete', 'reset.delivery', 'reset.issue', 'reset.request']);
    expect(audit.every((e) => e.approvalId === r.body.id)).toBe(true);
    expect(audit.find((e) => e.action === 'reset.request')!.after.verification).toEqual({ method: 'video-call', evidence: 'passport shown on a video call with HR present' });
  });

  it('needs verification and a safe new destination (400)', async () => {
    const mb = await activeMailbox('frank', { resetDestination: 'frank.old@home.example' });
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: a.token, body: { kind: 'emergency', reason: 'x', newResetDestination: 'f@home.example' } })).status).toBe(400);
    const self = await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: a.token, body: body(mb.address) });
    expect(self.status).toBe(400);
    expect(self.body.error.message).toMatch(/mailbox itself/);
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: a.token, body: body('postmaster@resets.example') })).status).toBe(400);
  });

  it('of a high-value mailbox needs an operator when the policy says so (the default)', async () => {
    const mb = await activeMailbox('ceo', { resetDestination: 'ceo.old@home.example' });
    expect((await t.call('PUT', `/api/v1/mailboxes/${mb.id}/high-value`, { token: a.token, body: { highValue: true, reason: 'executive' } })).status).toBe(200);
    const r = await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: a.token, body: body('ceo.new@home.example') });
    expect(r.body.requiresOperatorApproval).toBe(true);
    const approver = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'approver2', permissions: ['resets.approve'] } });
    const denied = await t.call('POST', `/api/v1/resets/${r.body.id}/approve`, { token: approver.body.token, body: {} });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toMatch(/operator/);
    // The tenant cannot lift the rule or the flag by itself.
    expect((await t.call('PUT', `/api/v1/tenants/${a.tenantId}/access-policy`, { token: a.token, body: { emergencyHighValueApprover: 'tenant' } })).status).toBe(403);
    expect((await t.call('PUT', `/api/v1/mailboxes/${mb.id}/high-value`, { token: a.token, body: { highValue: false } })).status).toBe(403);
    const ok = await t.call('POST', `/api/v1/resets/${r.body.id}/approve`, { body: {} });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.status).toBe('issued');
  });
});

describe('self-service', () => {
  async function ownerSession(address: string, password: string) {
    const r = await t.call('POST', '/api/v1/self/login', { token: null, body: { address, password } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const cookies = ([] as string[])
      .concat(r.headers['set-cookie'] as string[])
      .map((c) => c.split(';')[0])
      .join('; ');
    return { headers: { cookie: cookies, 'x-csrf-token': r.body.csrfToken } };
  }

  it('the owner manages app passwords and changes the password with the current one (sessions end)', async () => {
    const mb = await activeMailbox('olga');
    const s = await ownerSession(mb.address, PASSWORD);
    const created = await t.call('POST', '/api/v1/self/app-passwords', { token: null, ...s, body: { name: 'Tablet', scopes: ['imap', 'smtp'] } });
    expect(created.status).toBe(201);
    expect((await t.call('GET', '/api/v1/self/app-passwords', { token: null, ...s })).body.map((x: { name: string }) => x.name)).toEqual(['Tablet']);
    expect((await t.call('POST', '/api/v1/self/app-passwords', { token: null, headers: { cookie: s.headers.cookie }, body: { name: 'NoCsrf', scopes: ['imap'] } })).status).toBe(403);
    expect((await t.call('DELETE', `/api/v1/self/app-passwords/${created.body.id}`, { token: null, ...s })).status).toBe(204);

    expect((await t.call('POST', '/api/v1/self/password', { token: null, ...s, body: { currentPassword: 'wrong-Passw0rd!', newPassword: NEW_PASSWORD } })).status).toBe(401);
    expect((await t.call('POST', '/api/v1/self/password', { token: null, ...s, body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } })).status).toBe(204);
    expect((await t.call('GET', '/api/v1/self', { token: null, ...s })).status).toBe(401);
    expect((await login(mb.address, PASSWORD)).ok).toBe(false);
    expect((await login(mb.address, NEW_PASSWORD)).ok).toBe(true);
    expect((await events(mb.id, 'mailbox.password.change'))[0]!.after).toMatchObject({ method: 'current-password' });
  });

  it('a one-time recovery code sets a new password once', async () => {
    const mb = await activeMailbox('rita');
    const s = await ownerSession(mb.address, PASSWORD);
    const codes = await t.call('POST', '/api/v1/self/recovery-codes', { token: null, ...s, body: { currentPassword: PASSWORD } });
    expect(codes.status).toBe(200);
    expect(codes.body.recoveryCodes).toHaveLength(10);
    expect((await t.call('GET', '/api/v1/self/recovery-codes', { token: null, ...s })).body.remaining).toBe(10);
    const code = codes.body.recoveryCodes[0];
    expect((await t.call('POST', '/api/v1/self/password/recover', { token: null, body: { address: mb.address, recoveryCode: 'nope-nope', newPassword: NEW_PASSWORD } })).status).toBe(401);
    expect((await t.call('POST', '/api/v1/self/password/recover', { token: null, body: { address: mb.address, recoveryCode: code, newPassword: NEW_PASSWORD } })).status).toBe(204);
    expect((await t.call('POST', '/api/v1/self/password/recover', { token: null, body: { address: mb.address, recoveryCode: code, newPassword: 'Another-Passw0rd-99' } })).status).toBe(401);
    expect((await login(mb.address, NEW_PASSWORD)).ok).toBe(true);
    expect((await t.call('GET', '/api/v1/self', { token: null, ...s })).status).toBe(401);
  });

  it('a forgotten password: a single-use link to the reset destination; the same answer for unknown addresses', async () => {
    const mb = await activeMailbox('lena', { resetDestination: 'lena.home@home.example' });
    const unknown = await t.call('POST', '/api/v1/self/password/reset-link', { token: null, body: { address: 'nobody@resets.example' } });
    const known = await t.call('POST', '/api/v1/self/password/reset-link', { token: null, body: { address: mb.address } });
    expect([unknown.status, known.status]).toEqual([202, 202]);
    expect(unknown.body).toEqual(known.body);
    const mail = await sink.waitFor((m) => m.to.includes('lena.home@home.example'));
    // Asking revokes nothing; using the link does.
    expect((await login(mb.address, PASSWORD)).ok).toBe(true);
    expect((await t.call('POST', `/api/v1/setup/${linkToken(mail.raw)}`, { token: null, body: { password: NEW_PASSWORD } })).status).toBe(204);
    expect((await login(mb.address, PASSWORD)).ok).toBe(false);
    expect((await login(mb.address, NEW_PASSWORD)).ok).toBe(true);
  });
});

describe('forwarding governance', () => {
  it('external forwarding is off by default; with the policy on it needs a reason; the report flags external and stale forwards', async () => {
    const mb = await activeMailbox('fwd');
    const other = await activeMailbox('fwd2');
    const off = await t.call('POST', `/api/v1/mailboxes/${mb.id}/forwards`, { token: a.token, body: { target: 'fwd@outside.example', reason: 'travel' } });
    expect(off.status).toBe(403);
    expect(off.body.error.message).toMatch(/external forwarding is off/);
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/forwards`, { token: a.token, body: { target: other.address } })).status).toBe(201);
    await t.call('PUT', `/api/v1/tenants/${a.tenantId}/access-policy`, { token: a.token, body: { externalForwarding: true, staleForwardDays: 30 } });
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/forwards`, { token: a.token, body: { target: 'fwd@outside.example' } })).status).toBe(400);
    const ext = await t.call('POST', `/api/v1/mailboxes/${mb.id}/forwards`, {
      token: a.token,
      body: { target: 'fwd@outside.example', reason: 'travel', expiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString() },
    });
    expect(ext.status).toBe(201);
    t.advance(45 * 86_400_000);
    const report = await t.call('GET', `/api/v1/tenants/${a.tenantId}/forwarding-report`, { token: a.token });
    expect(report.status).toBe(200);
    const mine = report.body.forwards.filter((f: { mailboxId: string }) => f.mailboxId === mb.id);
    expect(mine.find((f: { target: string }) => f.target === 'fwd@outside.example')).toMatchObject({
      destinationType: 'external',
      flags: ['external', 'stale'],
      createdBy: expect.any(String),
      reason: 'travel',
    });
    expect(mine.find((f: { target: string }) => f.target === other.address)).toMatchObject({ destinationType: 'internal', flags: ['stale', 'no-expiry'] });
    t.advance(50 * 86_400_000);
    const later = await t.call('GET', `/api/v1/tenants/${a.tenantId}/forwarding-report`, { token: a.token });
    expect(later.body.forwards.find((f: { id: string }) => f.id === ext.body.id)).toMatchObject({ status: 'expired', flags: ['external', 'expired'] });
    await t.call('PUT', `/api/v1/tenants/${a.tenantId}/access-policy`, { token: a.token, body: { externalForwarding: false } });
  });
});
