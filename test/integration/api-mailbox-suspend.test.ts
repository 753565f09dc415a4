/**
 * Suspend and resume: the status changes, the credential version is bumped in the same
 * transaction as the audit event, and the revoker is told after the commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Suspend Co', 'suspend.example');
});
afterAll(async () => t.close());

const row = (id: string) => t.core.db.selectFrom('mailboxes').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('POST /api/v1/mailboxes/{id}/suspend and /resume', () => {
  it('suspends: 200 with the mailbox, credential version bumped, revoker called, audited with the reason', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'alice', {}, a.token);
    expect((await t.call('POST', `/api/v1/setup/${mb.setup.token}`, { token: null, body: { password: 'Correct-Horse-42-Battery' } })).status).toBe(204);
    const v0 = Number((await row(mb.id)).credential_version);
    t.revocations.length = 0;
    const r = await t.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { token: a.token, body: { reason: 'compromised' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: mb.id, status: 'suspended', address: 'alice@suspend.example' });
    expect(Number((await row(mb.id)).credential_version)).toBe(v0 + 1);
    expect(t.revocations).toEqual([{ mailboxId: mb.id, reason: 'mailbox suspended: compromised' }]);
    const ev = await t.call('GET', `/api/v1/audit/events?targetId=${mb.id}&action=mailbox.suspend`, { token: a.token });
    expect(ev.body).toHaveLength(1);
    expect(ev.body[0]).toMatchObject({ reason: 'compromised', before: { status: 'active' }, after: { status: 'suspended' } });

    // Idempotent: a second suspension changes nothing and revokes nothing more.
    const again = await t.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { token: a.token });
    expect(again.status).toBe(200);
    expect(t.revocations).toHaveLength(1);

    const res = await t.call('POST', `/api/v1/mailboxes/${mb.id}/resume`, { token: a.token, body: {} });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('active');
    expect(Number((await row(mb.id)).credential_version)).toBe(v0 + 1);
    expect((await t.call('GET', '/api/v1/audit/verify')).body.ok).toBe(true);
  });

  it('a mailbox without a password resumes to pending', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'bob', {}, a.token);
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { token: a.token })).body.status).toBe('suspended');
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/resume`, { token: a.token })).body.status).toBe('pending');
  });

  it('needs mailboxes.suspend (403), is refused to a read-only token, and hides other tenants (404)', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'carol', {}, a.token);
    const hd = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'hd', role: 'helpdesk' } });
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { token: hd.body.token })).status).toBe(403);
    const ro = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'ro', readOnly: true } });
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { token: ro.body.token })).status).toBe(403);
    const b = await provisionTenant(t, 'Other', 'other-suspend.example');
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { token: b.token })).status).toBe(404);
    expect((await row(mb.id)).status).toBe('pending');
  });

  it('400 on an unknown body field', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'dave', {}, a.token);
    const r = await t.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { token: a.token, body: { reason: 'x', force: true } });
    expect(r.status).toBe(400);
  });
});

describe('with the real credential module as revoker', () => {
  it('suspension closes open sessions (onRevoke listeners) and new logins fail at once', async () => {
    const { CredentialService } = await import('../../appliance/core/access/credentials.js');
    const { createLogger } = await import('../../appliance/logger.js');
    const { createTestApp: make } = await import('../helpers/app.js');
    let creds: InstanceType<typeof CredentialService> | null = null;
    const app = await make({ revoker: (db) => (creds = new CredentialService(db, createLogger('silent', { pretty: false }))) });
    try {
      const x = await provisionTenant(app, 'Real Revoker', 'real-revoker.example');
      const mb = await provisionMailbox(app, x.domainId, 'eve', {}, x.token);
      await app.call('POST', `/api/v1/setup/${mb.setup.token}`, { token: null, body: { password: 'Correct-Horse-42-Battery' } });
      const login = () => creds!.verifyLogin({ username: mb.address, password: 'Correct-Horse-42-Battery', protocol: 'imap', remoteAddress: '127.0.0.9' });
      const ok = await login();
      expect(ok.ok).toBe(true);
      const closed: string[] = [];
      creds!.onRevoke(mb.id, (reason) => closed.push(reason));
      expect((await app.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { token: x.token, body: { reason: 'incident 12' } })).status).toBe(200);
      expect(closed).toEqual(['mailbox suspended: incident 12']);
      expect(await creds!.isCurrent(mb.id, ok.ok ? ok.credentialVersion : 0)).toBe(false);
      expect(await login()).toMatchObject({ ok: false, reason: 'disabled' });
    } finally {
      await app.close();
    }
  });
});
