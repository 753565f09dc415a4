/**
 * Principals and console login: invitation with a single-use setup link, password + TOTP
 * (enrolment with an otpauth:// URI and one-time recovery codes, no code replay), cookie
 * sessions with CSRF protection, throttling per account, "never grant more than you hold",
 * disabling a principal, and the mailbox owners' self-service login through the credential
 * module.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { totpCode } from '../../appliance/core/access/totp.js';
import { createLogger } from '../../appliance/logger.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
const PASSWORD = 'Correct-Horse-42-Battery';

beforeAll(async () => {
  t = await createTestApp({
    credentials: (db) => new CredentialService(db, createLogger('silent', { pretty: false })),
    revoker: (db) => new CredentialService(db, createLogger('silent', { pretty: false })),
  });
  a = await provisionTenant(t, 'Auth Co', 'auth.example');
});
afterAll(async () => t.close());

interface Session {
  cookie: string;
  csrf: string;
}

function cookiesOf(headers: Record<string, unknown>): Record<string, { value: string; attrs: string }> {
  const raw = headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw ? [raw as string] : [];
  const out: Record<string, { value: string; attrs: string }> = {};
  for (const c of list as string[]) {
    const [pair, ...attrs] = c.split(';');
    const [name, value] = pair!.split('=');
    out[name!.trim()] = { value: value!, attrs: attrs.join(';') };
  }
  return out;
}

async function invite(email: string, body: Record<string, unknown> = {}, token = a.token) {
  const r = await t.call('POST', `/api/v1/tenants/${a.tenantId}/principals`, { token, body: { name: email.split('@')[0], email, ...body } });
  if (r.status !== 201) throw new Error(`invite: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as { id: string; email: string; setup: { token: string; url: string } };
}

async function login(body: Record<string, unknown>): Promise<{ status: number; body: any; session: Session | null }> {
  const r = await t.call('POST', '/api/v1/auth/login', { token: null, body });
  const c = cookiesOf(r.headers);
  return { status: r.status, body: r.body, session: c.postern_session ? { cookie: c.postern_session.value, csrf: r.body.csrfToken } : null };
}

/** A call with the session cookie (and the CSRF header unless told otherwise). */
function as(s: Session, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, opts: { csrf?: boolean } = {}) {
  const headers: Record<string, string> = { cookie: `postern_session=${s.cookie}` };
  if (opts.csrf !== false) headers['x-csrf-token'] = s.csrf;
  return t.call(method, url, { token: null, body, headers });
}

/** Invites, sets the password, logs in, enrols TOTP; returns the session, the secret and the recovery codes. */
async function enrolledAdmin(email: string, body: Record<string, unknown> = {}) {
  const inv = await invite(email, body);
  expect((await t.call('POST', `/api/v1/principal-setup/${inv.setup.token}`, { token: null, body: { password: PASSWORD } })).status).toBe(204);
  const first = await login({ email, password: PASSWORD });
  const s = first.session!;
  const enrol = await as(s, 'POST', '/api/v1/auth/totp/enrol');
  const confirm = await as(s, 'POST', '/api/v1/auth/totp/confirm', { code: await totpCode(enrol.body.secret, t.core.now()) });
  return { id: inv.id, session: s, secret: enrol.body.secret as string, recoveryCodes: confirm.body.recoveryCodes as string[] };
}

describe('invitation and first login with TOTP enrolment', () => {
  it('walks from invitation to an enrolled, working session', async () => {
    const inv = await invite('alice@admins.example', { role: 'tenant-admin' });
    expect(inv.setup.url).toBe(`https://console.postern.test/principal-setup/${inv.setup.token}`);
    const listed = await t.call('GET', `/api/v1/tenants/${a.tenantId}/principals`, { token: a.token });
    expect(listed.body).toEqual([expect.objectContaining({ id: inv.id, kind: 'tenant-admin', status: 'pending', totpEnabled: false })]);

    // No login before the person set their password.
    expect((await login({ email: 'alice@admins.example', password: PASSWORD })).status).toBe(401);
    expect((await t.call('POST', `/api/v1/principal-setup/${inv.setup.token}`, { token: null, body: { password: 'short' } })).status).toBe(400);
    expect((await t.call('POST', `/api/v1/principal-setup/${inv.setup.token}`, { token: null, body: { password: PASSWORD } })).status).toBe(204);
    expect((await t.call('POST', `/api/v1/principal-setup/${inv.setup.token}`, { token: null, body: { password: PASSWORD } })).status).toBe(410);

    const first = await login({ email: 'Alice@Admins.example', password: PASSWORD });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ mfa: 'enrol', principal: { email: 'alice@admins.example', tenantId: a.tenantId } });
    const c = cookiesOf((await t.call('POST', '/api/v1/auth/login', { token: null, body: { email: 'alice@admins.example', password: PASSWORD } })).headers);
    expect(c.postern_session!.attrs).toMatch(/HttpOnly/);
    expect(c.postern_session!.attrs).toMatch(/SameSite=Strict/);
    expect(c.postern_session!.attrs).toMatch(/Secure/);
    expect(c.postern_csrf!.attrs).not.toMatch(/HttpOnly/);
    const s = first.session!;

    // Until TOTP is enrolled the session reaches nothing else.
    const blocked = await as(s, 'GET', `/api/v1/tenants/${a.tenantId}/mailboxes`);
    expect(blocked.status).toBe(403);
    expect(blocked.body.error.message).toMatch(/enrol TOTP/);

    const enrol = await as(s, 'POST', '/api/v1/auth/totp/enrol');
    expect(enrol.status).toBe(200);
    expect(enrol.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/Postern:alice%40admins\.example\?.*secret=/);
    expect((await as(s, 'POST', '/api/v1/auth/totp/confirm', { code: '000000' })).status).toBe(400);
    const confirm = await as(s, 'POST', '/api/v1/auth/totp/confirm', { code: await totpCode(enrol.body.secret, t.core.now()) });
    expect(confirm.status).toBe(200);
    expect(confirm.body.recoveryCodes).toHaveLength(10);
    const stored = await t.core.db.selectFrom('principal_recovery_codes').select('code_hash').where('principal_id', '=', inv.id).execute();
    expect(stored.map((r) => r.code_hash)).not.toContain(confirm.body.recoveryCodes[0]);

    const ok = await as(s, 'GET', `/api/v1/tenants/${a.tenantId}/mailboxes`);
    expect(ok.status).toBe(200);
    const me = await as(s, 'GET', '/api/v1/auth/session');
    expect(me.body).toMatchObject({ kind: 'principal', mfa: 'ok', principal: { totpEnabled: true } });

    // State changes need the CSRF token.
    const noCsrf = await as(
      s,
      'POST',
      `/api/v1/domains/${a.domainId}/mailboxes`,
      { localPart: 'via-session', owner: { name: 'O', email: 'o@home.example' }, credentialDelivery: 'link' },
      { csrf: false },
    );
    expect(noCsrf.status).toBe(403);
    const created = await as(s, 'POST', `/api/v1/domains/${a.domainId}/mailboxes`, { localPart: 'via-session', owner: { name: 'O', email: 'o@home.example' }, credentialDelivery: 'link' });
    expect(created.status).toBe(201);
    const ev = (await t.call('GET', `/api/v1/audit/events?targetId=${created.body.id}`)).body[0];
    expect(ev.actor).toEqual({ type: 'tenant-admin', id: inv.id, tokenId: null });

    expect((await as(s, 'POST', '/api/v1/auth/logout')).status).toBe(204);
    expect((await as(s, 'GET', `/api/v1/tenants/${a.tenantId}/mailboxes`)).status).toBe(401);
  });

  it('later logins need a fresh TOTP code or a one-time recovery code', async () => {
    const admin = await enrolledAdmin('bob@admins.example');
    const email = 'bob@admins.example';
    const missing = await login({ email, password: PASSWORD });
    expect(missing.status).toBe(401);
    // A correct password without the code answers exactly like a wrong password (issue 13).
    const wrongPassword = await login({ email, password: 'Wrong-Horse-42-Battery' });
    const wrongCode = await login({ email, password: PASSWORD, totp: '000000' });
    expect(wrongPassword.status).toBe(401);
    expect(missing.body).toEqual(wrongPassword.body);
    expect(wrongCode.body).toEqual(wrongPassword.body);
    expect(JSON.stringify(missing.body)).not.toMatch(/totp/i);
    t.advance(31_000);
    const code = await totpCode(admin.secret, t.core.now());
    expect((await login({ email, password: PASSWORD, totp: code })).status).toBe(200);
    expect((await login({ email, password: PASSWORD, totp: code })).status).toBe(401); // no replay
    expect((await login({ email, password: 'Wrong-Horse-42-Battery', totp: code })).status).toBe(401);
    const rc = admin.recoveryCodes[3]!;
    expect((await login({ email, password: PASSWORD, recoveryCode: rc })).status).toBe(200);
    expect((await login({ email, password: PASSWORD, recoveryCode: rc })).status).toBe(401);
    const actions = (await t.call('GET', `/api/v1/audit/events?targetId=${admin.id}`)).body.map(
      (e: { action: string; after: { method?: string } }) => `${e.action}${e.after?.method ? `:${e.after.method}` : ''}`,
    );
    expect(actions).toEqual([
      'principal.invite',
      'principal.setup.complete',
      'principal.login:password',
      'principal.totp.enrol',
      'principal.login:password+totp',
      'principal.login:password+recovery-code',
    ]);
  });

  it('throttles the failing source (429 with Retry-After); the right password and code from another source still log in', async () => {
    const carol = await enrolledAdmin('carol@admins.example');
    // The lock after the fifth failure lasts 1 s of the control plane's clock: stopped here, so a
    // loaded machine taking longer than that between two requests cannot end it (clean-clone CI on 6920e2a: 401 instead of 429).
    t.hold(true);
    onTestFinished(() => t.hold(false));
    for (let i = 0; i < 5; i++) expect((await login({ email: 'carol@admins.example', password: `Wrong-Horse-${i}-Battery` })).status).toBe(401);
    const r = await t.call('POST', '/api/v1/auth/login', { token: null, body: { email: 'carol@admins.example', password: PASSWORD } });
    expect(r.status).toBe(429);
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    t.advance(31_000);
    const fromElsewhere = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: '198.51.100.7',
      payload: { email: 'carol@admins.example', password: PASSWORD, totp: await totpCode(carol.secret, t.core.now()) },
    });
    expect(fromElsewhere.statusCode, fromElsewhere.body).toBe(200);
    // …and that success did not reset what the failing source accumulated: one more failure there locks it again.
    expect((await login({ email: 'carol@admins.example', password: 'Wrong-Horse-9-Battery' })).status).toBe(401);
    const again = await t.call('POST', '/api/v1/auth/login', { token: null, body: { email: 'carol@admins.example', password: PASSWORD } });
    expect(again.status).toBe(429);
  });
});

describe('principals: grants, isolation, disable and reset', () => {
  it('a tenant admin never grants more than it holds, and cannot reach operators or other tenants', async () => {
    const narrow = await enrolledAdmin('dave@admins.example', { permissions: ['principals.manage', 'principals.read', 'mailboxes.read'] });
    const up = await as(narrow.session, 'POST', `/api/v1/tenants/${a.tenantId}/principals`, { name: 'Eve', email: 'eve@admins.example', permissions: ['domains.manage'] });
    expect(up.status).toBe(403);
    const ok = await as(narrow.session, 'POST', `/api/v1/tenants/${a.tenantId}/principals`, { name: 'Eve', email: 'eve@admins.example', permissions: ['mailboxes.read'] });
    expect(ok.status).toBe(201);
    expect((await as(narrow.session, 'GET', '/api/v1/principals')).status).toBe(403);
    expect((await as(narrow.session, 'PATCH', `/api/v1/principals/${narrow.id}`, { permissions: ['mailboxes.read'] })).status).toBe(403);
    const b = await provisionTenant(t, 'Auth Other', 'auth-other.example');
    const foreign = await t.call('POST', `/api/v1/tenants/${b.tenantId}/principals`, { token: b.token, body: { name: 'F', email: 'f@other.example' } });
    expect((await as(narrow.session, 'GET', `/api/v1/principals/${foreign.body.id}`)).status).toBe(404);
    expect((await as(narrow.session, 'POST', `/api/v1/tenants/${b.tenantId}/principals`, { name: 'X', email: 'x@other.example', permissions: ['mailboxes.read'] })).status).toBe(404);
    // Operators are invited by platform actors only.
    expect((await t.call('POST', '/api/v1/principals', { token: a.token, body: { name: 'Op', email: 'op@provider.example' } })).status).toBe(403);
    const op = await t.call('POST', '/api/v1/principals', { body: { name: 'Op', email: 'op@provider.example' } });
    expect(op.status).toBe(201);
    expect((await t.call('GET', '/api/v1/principals')).body.map((p: { email: string }) => p.email)).toEqual(['op@provider.example']);
  });

  it('disabling a principal ends their sessions and revokes the tokens they created', async () => {
    const admin = await enrolledAdmin('frank@admins.example');
    const tok = await as(admin.session, 'POST', `/api/v1/tenants/${a.tenantId}/tokens`, { name: 'frank ci', permissions: ['mailboxes.read'] });
    expect(tok.status).toBe(201);
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/mailboxes`, { token: tok.body.token })).status).toBe(200);
    const off = await t.call('PATCH', `/api/v1/principals/${admin.id}`, { token: a.token, body: { status: 'disabled', reason: 'left the company' } });
    expect(off.status).toBe(200);
    expect(off.body.status).toBe('disabled');
    expect((await as(admin.session, 'GET', `/api/v1/tenants/${a.tenantId}/mailboxes`)).status).toBe(401);
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/mailboxes`, { token: tok.body.token })).status).toBe(401);
    expect((await login({ email: 'frank@admins.example', password: PASSWORD, totp: await totpCode(admin.secret, t.core.now() + 60_000) })).status).toBe(401);
  });

  it('a reset clears password and TOTP, ends sessions and issues a new setup link', async () => {
    const admin = await enrolledAdmin('gina@admins.example');
    const r = await t.call('POST', `/api/v1/principals/${admin.id}/reset`, { token: a.token, body: { reason: 'lost phone' } });
    expect(r.status).toBe(201);
    expect((await as(admin.session, 'GET', '/api/v1/auth/session')).status).toBe(401);
    expect((await t.call('POST', `/api/v1/principal-setup/${r.body.setup.token}`, { token: null, body: { password: 'Another-Horse-43-Battery' } })).status).toBe(204);
    const again = await login({ email: 'gina@admins.example', password: 'Another-Horse-43-Battery' });
    expect(again.body.mfa).toBe('enrol');
  });
});

describe('mailbox owners: self-service login with the mailbox credentials', () => {
  it('logs in through the credential module; suspension ends the session at once', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'owner-login', {}, a.token);
    await t.call('POST', `/api/v1/setup/${mb.setup.token}`, { token: null, body: { password: PASSWORD } });
    const bad = await t.call('POST', '/api/v1/self/login', { token: null, body: { address: mb.address, password: 'Wrong-Horse-42-Battery' } });
    expect(bad.status).toBe(401);
    const r = await t.call('POST', '/api/v1/self/login', { token: null, body: { address: mb.address, password: PASSWORD } });
    expect(r.status).toBe(200);
    const s: Session = { cookie: cookiesOf(r.headers).postern_session!.value, csrf: r.body.csrfToken };
    const me = await as(s, 'GET', '/api/v1/self');
    expect(me.body).toMatchObject({ kind: 'mailbox', mailbox: { id: mb.id, address: mb.address, status: 'active', resetDestination: 'ada@client-home.example' } });
    // The owner's session is no admin session.
    expect((await as(s, 'GET', `/api/v1/mailboxes/${mb.id}`)).status).toBe(403);
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { token: a.token, body: { reason: 'test' } })).status).toBe(200);
    expect((await as(s, 'GET', '/api/v1/self')).status).toBe(401);
    expect((await t.call('POST', '/api/v1/self/login', { token: null, body: { address: mb.address, password: PASSWORD } })).status).toBe(401);
  });
});
