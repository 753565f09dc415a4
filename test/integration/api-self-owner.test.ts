/**
 * Mailbox owners' self-service TOTP and forwards, with the real credential module: enrolment
 * with the shared TOTP module, the owner login then needs a code (accepted once) or a recovery
 * code, turning it off needs the password and a code, an admin can clear it; forwards inside
 * the organisation always, outside only where the policy allows it (reason, end date within 90
 * days), the owner recorded as creator and audited, and only the owner's own forwards removable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { totpCode } from '../../appliance/core/access/totp.js';
import { createLogger } from '../../appliance/logger.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

const PASSWORD = 'Correct-Horse-42-Battery';
let t: TestApp;
let creds: CredentialService;
let a: { tenantId: string; domainId: string; token: string };

beforeAll(async () => {
  t = await createTestApp({ revoker: (db) => (creds = new CredentialService(db, createLogger('silent', { pretty: false }))), credentials: () => creds });
  a = await provisionTenant(t, 'Self Co', 'self.example');
});
afterAll(async () => t?.close());

async function mailbox(localPart: string) {
  const mb = await provisionMailbox(t, a.domainId, localPart, {}, a.token);
  expect((await t.call('POST', `/api/v1/setup/${mb.setup.token}`, { token: null, body: { password: PASSWORD } })).status).toBe(204);
  return mb;
}
const login = (address: string, extra: Record<string, string> = {}) => t.call('POST', '/api/v1/self/login', { token: null, body: { address, password: PASSWORD, ...extra } });
function sessionOf(r: { body: any; headers: Record<string, unknown> }) {
  const cookie = ([] as string[])
    .concat(r.headers['set-cookie'] as string[])
    .map((c) => c.split(';')[0])
    .join('; ');
  return { headers: { cookie, 'x-csrf-token': r.body.csrfToken as string } };
}
const as = (s: { headers: Record<string, string> }, method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) => t.call(method, url, { token: null, body, headers: s.headers });

describe('owner TOTP', () => {
  it('enrol, then the login needs a code (once) or a recovery code; off with password and code; an admin can clear it', async () => {
    const mb = await mailbox('tina');
    const s = sessionOf(await login(mb.address));
    expect((await as(s, 'GET', '/api/v1/self/totp')).body).toEqual({ enabled: false, enabledAt: null });
    const enrol = await as(s, 'POST', '/api/v1/self/totp/enrol');
    expect(enrol.status, JSON.stringify(enrol.body)).toBe(200);
    expect(enrol.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/.*tina/);
    expect((await as(s, 'POST', '/api/v1/self/totp/confirm', { code: '000000' })).status).toBe(400);
    const confirmed = await as(s, 'POST', '/api/v1/self/totp/confirm', { code: await totpCode(enrol.body.secret, t.core.now()) });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body.enabled).toBe(true);

    // The login now needs the second factor.
    const noCode = await login(mb.address);
    expect(noCode.status).toBe(401);
    // Indistinguishable from a wrong password (issue 13): the form asks for both in one step.
    expect(noCode.body).toEqual((await login(mb.address, { password: 'Not-The-Passw0rd!' })).body);
    t.advance(60_000); // a fresh time step (the confirming code is spent)
    const code = await totpCode(enrol.body.secret, t.core.now());
    const withCode = await login(mb.address, { totp: code });
    expect(withCode.status, JSON.stringify(withCode.body)).toBe(200);
    expect((await login(mb.address, { totp: code })).status).toBe(401); // accepted once
    // A recovery code works once instead.
    const s2 = sessionOf(withCode);
    const codes = await as(s2, 'POST', '/api/v1/self/recovery-codes', { currentPassword: PASSWORD });
    const rc = codes.body.recoveryCodes[0];
    expect((await login(mb.address, { recoveryCode: rc })).status).toBe(200);
    expect((await login(mb.address, { recoveryCode: rc })).status).toBe(401);
    // Admins see it; IMAP is unaffected.
    expect((await t.call('GET', `/api/v1/mailboxes/${mb.id}/owner-totp`, { token: a.token })).body.enabled).toBe(true);
    expect((await creds.verifyLogin({ username: mb.address, password: PASSWORD, protocol: 'imap', remoteAddress: '127.0.0.1' })).ok).toBe(true);

    // Off: password and a current code.
    t.advance(60_000);
    expect((await as(s2, 'POST', '/api/v1/self/totp/disable', { currentPassword: PASSWORD })).status).toBe(401);
    const off = await as(s2, 'POST', '/api/v1/self/totp/disable', { currentPassword: PASSWORD, code: await totpCode(enrol.body.secret, t.core.now()) });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect((await login(mb.address)).status).toBe(200);

    // Lost device: the admin clears it (audited).
    const e2 = await as(s2, 'POST', '/api/v1/self/totp/enrol');
    await as(s2, 'POST', '/api/v1/self/totp/confirm', { code: await totpCode(e2.body.secret, t.core.now()) });
    expect((await login(mb.address)).status).toBe(401);
    const cleared = await t.call('POST', `/api/v1/mailboxes/${mb.id}/owner-totp/reset`, { token: a.token, body: { reason: 'lost phone' } });
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(200);
    expect((await login(mb.address)).status).toBe(200);
    const audit = await t.call('GET', `/api/v1/audit/events?targetId=${mb.id}&action=mailbox.owner.totp.*`, { token: a.token });
    expect(audit.body.map((e: { action: string }) => e.action).sort()).toEqual(['mailbox.owner.totp.disable', 'mailbox.owner.totp.enrol', 'mailbox.owner.totp.enrol', 'mailbox.owner.totp.reset']);
  });
});

describe('owner forwards', () => {
  it('internal always; external only by policy with a reason and an end date; owner recorded, audited; only own forwards removable', async () => {
    const mb = await mailbox('fred');
    const colleague = await mailbox('fred-colleague');
    const s = sessionOf(await login(mb.address));
    const empty = await as(s, 'GET', '/api/v1/self/forwards');
    expect(empty.body).toEqual({ forwards: [], policy: { externalAllowed: false, externalMaxDays: 90 } });

    const internal = await as(s, 'POST', '/api/v1/self/forwards', { target: colleague.address });
    expect(internal.status, JSON.stringify(internal.body)).toBe(201);
    expect(internal.body).toMatchObject({ target: colleague.address, external: false, createdBy: `mailbox:${mb.id}`, removable: true });
    const soon = new Date(t.core.now() + 7 * 86_400_000).toISOString();
    const external = await as(s, 'POST', '/api/v1/self/forwards', { target: 'fred@home.example', reason: 'holiday', expiresAt: soon });
    expect(external.status).toBe(403);

    await t.call('PUT', `/api/v1/tenants/${a.tenantId}/access-policy`, { token: a.token, body: { externalForwarding: true } });
    expect((await as(s, 'POST', '/api/v1/self/forwards', { target: 'fred@home.example', expiresAt: soon })).body.error.details.field).toBe('reason');
    expect((await as(s, 'POST', '/api/v1/self/forwards', { target: 'fred@home.example', reason: 'holiday' })).body.error.details.field).toBe('expiresAt');
    const far = new Date(t.core.now() + 200 * 86_400_000).toISOString();
    expect((await as(s, 'POST', '/api/v1/self/forwards', { target: 'fred@home.example', reason: 'holiday', expiresAt: far })).status).toBe(400);
    const ext = await as(s, 'POST', '/api/v1/self/forwards', { target: 'fred@home.example', reason: 'holiday', expiresAt: soon });
    expect(ext.status, JSON.stringify(ext.body)).toBe(201);
    expect(ext.body).toMatchObject({ external: true, reason: 'holiday' });

    // An admin's forward: shown, not removable by the owner.
    const archive = await mailbox('fred-archive');
    const adminFwd = (await t.call('POST', `/api/v1/mailboxes/${mb.id}/forwards`, { token: a.token, body: { target: archive.address } })).body;
    const list = await as(s, 'GET', '/api/v1/self/forwards');
    expect(list.body.policy.externalAllowed).toBe(true);
    expect(list.body.forwards.map((f: { id: string; removable: boolean }) => [f.id, f.removable])).toEqual([
      [internal.body.id, true],
      [ext.body.id, true],
      [adminFwd.id, false],
    ]);
    expect((await as(s, 'DELETE', `/api/v1/self/forwards/${adminFwd.id}`)).status).toBe(403);
    // Another mailbox's forward is not found; own forward removed.
    const other = await t.call('POST', `/api/v1/mailboxes/${colleague.id}/forwards`, { token: a.token, body: { target: mb.address } });
    expect((await as(s, 'DELETE', `/api/v1/self/forwards/${other.body.id}`)).status).toBe(404);
    expect((await as(s, 'DELETE', `/api/v1/self/forwards/${internal.body.id}`)).status).toBe(204);
    const audit = await t.call('GET', `/api/v1/audit/events?targetId=${mb.id}&action=forward.*`, { token: a.token });
    const ownerEvents = audit.body.filter((e: unknown) => JSON.stringify(e).includes(`"mailbox:${mb.id}"`));
    expect(ownerEvents.map((e: { action: string }) => e.action).sort()).toEqual(['forward.create', 'forward.create', 'forward.delete']);
    // Without a session: 401; CSRF is required.
    expect((await t.call('GET', '/api/v1/self/forwards', { token: null })).status).toBe(401);
    expect((await t.call('POST', '/api/v1/self/forwards', { token: null, body: { target: colleague.address }, headers: { cookie: s.headers.cookie } })).status).toBe(403);
  });
});
