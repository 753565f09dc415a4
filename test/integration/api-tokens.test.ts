import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { bootstrapOperator } from '../../appliance/core/access/bootstrap.js';
import { createTestApp, provisionTenant, type TestApp } from '../helpers/app.js';

describe('POST /api/v1/tenants/{tenantId}/tokens', () => {
  let t: TestApp;
  let a: { tenantId: string; domainId: string; token: string };
  beforeAll(async () => {
    t = await createTestApp();
    a = await provisionTenant(t, 'Tokens', 'tokens.example');
  });
  afterAll(async () => t.close());

  it('creates a tenant-admin token by default: 201 {id, token}, secret shown once and stored hashed', async () => {
    const r = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name: 'ci' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ id: expect.stringMatching(/^tok_/), token: expect.stringMatching(/^pst_/), readOnly: false, expiresAt: null });
    expect(r.body.permissions).toEqual(expect.arrayContaining(['domains.manage', 'mailboxes.create', 'tokens.manage']));
    expect(r.body.permissions).not.toContain('tenants.manage');
    const row = await t.core.db.selectFrom('api_tokens').selectAll().where('id', '=', r.body.id).executeTakeFirstOrThrow();
    expect(row.token_hash).not.toContain(r.body.token);
    const list = await t.call('GET', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(r.body.token);
    expect(list.body.find((x: { id: string }) => x.id === r.body.id)).toMatchObject({ name: 'ci', role: 'tenant-admin' });
  });

  it('a read-only token reads but cannot write (403)', async () => {
    const ro = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'auditor', readOnly: true } });
    expect(ro.status).toBe(201);
    expect((await t.call('GET', `/api/v1/domains/${a.domainId}/dns`, { token: ro.body.token })).status).toBe(200);
    const w = await t.call('POST', `/api/v1/tenants/${a.tenantId}/domains`, { token: ro.body.token, body: { name: 'ro.example' } });
    expect(w.status).toBe(403);
    expect(w.body.error.message).toMatch(/read-only/);
  });

  it('a narrowed token cannot grant more than it holds', async () => {
    const hd = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'helpdesk', permissions: ['mailboxes.read', 'tokens.manage'] } });
    expect(hd.status).toBe(201);
    const up = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: hd.body.token, body: { name: 'escalate', permissions: ['domains.manage'] } });
    expect(up.status).toBe(403);
    expect(up.body.error.message).toMatch(/cannot grant permissions you do not hold: domains.manage/);
    const role = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: hd.body.token, body: { name: 'escalate', role: 'tenant-admin' } });
    expect(role.status).toBe(403);
    const dflt = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: hd.body.token, body: { name: 'narrow' } });
    expect(dflt.status).toBe(201);
    expect(dflt.body.permissions.sort()).toEqual(['mailboxes.read', 'tokens.manage']);
  });

  it('400 on an unknown permission, a past expiry, both role and permissions', async () => {
    const url = `/api/v1/tenants/${a.tenantId}/tokens`;
    expect((await t.call('POST', url, { body: { name: 'x', permissions: ['everything'] } })).status).toBe(400);
    expect((await t.call('POST', url, { body: { name: 'x', expiresAt: '2001-01-01T00:00:00Z' } })).status).toBe(400);
    expect((await t.call('POST', url, { body: { name: 'x', expiresAt: 'tomorrow' } })).status).toBe(400);
    expect((await t.call('POST', url, { body: { name: 'x', role: 'helpdesk', permissions: ['mailboxes.read'] } })).status).toBe(400);
  });

  it('expired and revoked tokens get 401', async () => {
    const exp = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name: 'short', expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}`, { token: exp.body.token })).status).toBe(200);
    t.advance(61_000);
    try {
      const r = await t.call('GET', `/api/v1/tenants/${a.tenantId}`, { token: exp.body.token });
      expect(r.status).toBe(401);
      expect(r.body.error.message).toBe('token expired');
    } finally {
      t.advance(-61_000);
    }
    const rv = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name: 'gone' } });
    const del = await t.call('DELETE', `/api/v1/tokens/${rv.body.id}`, { token: a.token });
    expect(del.status).toBe(200);
    expect(del.body.revokedAt).toEqual(expect.any(String));
    const r = await t.call('GET', `/api/v1/tenants/${a.tenantId}`, { token: rv.body.token });
    expect(r.status).toBe(401);
    expect(r.body.error.message).toBe('token revoked');
  });

  it('a tenant admin cannot see or revoke operator tokens (404)', async () => {
    const op = await t.core.db.selectFrom('api_tokens').select('id').where('tenant_id', 'is', null).executeTakeFirstOrThrow();
    expect((await t.call('DELETE', `/api/v1/tokens/${op.id}`, { token: a.token })).status).toBe(404);
  });
});

describe('operator tokens', () => {
  it('an operator creates a narrowed operator token; tenant tokens cannot create or list them', async () => {
    const t = await createTestApp();
    try {
      const r = await t.call('POST', '/api/v1/tokens', { body: { name: 'monitoring', permissions: ['tenants.read', 'audit.verify'], readOnly: true } });
      expect(r.status).toBe(201);
      expect((await t.call('GET', '/api/v1/audit/verify', { token: r.body.token })).status).toBe(200);
      expect((await t.call('POST', '/api/v1/tenants', { token: r.body.token, body: { name: 'No' } })).status).toBe(403);
      const list = await t.call('GET', '/api/v1/tokens');
      expect(list.body.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['bootstrap', 'monitoring']));
      const a = await provisionTenant(t, 'Tenant', 'tenant.example');
      expect((await t.call('POST', '/api/v1/tokens', { token: a.token, body: { name: 'x' } })).status).toBe(403);
      expect((await t.call('GET', '/api/v1/tokens', { token: a.token })).status).toBe(403);
    } finally {
      await t.close();
    }
  });
});

describe('first operator bootstrap', () => {
  it('POSTERN_BOOTSTRAP_TOKEN becomes an audited operator token; a second boot does nothing', async () => {
    const t = await createTestApp();
    try {
      expect((await t.call('GET', '/api/v1/tenants')).status).toBe(200);
      const ev = await t.core.db.selectFrom('audit_events').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
      expect(ev).toMatchObject({ action: 'token.create', actor_type: 'system', tenant_id: null });
      expect(await bootstrapOperator(systemActor('boot'), t.core)).toEqual({ action: 'none' });
    } finally {
      await t.close();
    }
  });

  it('without it, boot issues a one-time operator setup link that yields an operator token once', async () => {
    const t = await createTestApp({ bootstrapToken: false });
    try {
      expect((await t.call('GET', '/api/v1/tenants')).status).toBe(401);
      const first = await bootstrapOperator(systemActor('boot'), t.core); // the helper already issued one; this supersedes it
      expect(first.action).toBe('setup-link-issued');
      if (first.action !== 'setup-link-issued') return;
      expect(first.setupUrl).toMatch(/^https:\/\/console\.postern\.test\/api\/v1\/operator-setup\/psu_/);
      expect(first.curl).toContain(first.setupUrl);
      const second = await bootstrapOperator(systemActor('boot'), t.core);
      if (second.action !== 'setup-link-issued') throw new Error('expected a link');
      const path = (u: string) => new URL(u).pathname;

      // The earlier link was superseded.
      expect((await t.call('POST', path(first.setupUrl), { token: null, body: { name: 'first' } })).status).toBe(410);
      // A mailbox setup route does not accept an operator link.
      const token = path(second.setupUrl).split('/').pop()!;
      expect((await t.call('POST', `/api/v1/setup/${token}`, { token: null, body: { password: 'Correct-Horse-42-Battery' } })).status).toBe(404);

      const r = await t.call('POST', path(second.setupUrl), { token: null, body: { name: 'first operator' } });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ id: expect.stringMatching(/^tok_/), token: expect.stringMatching(/^pst_/), name: 'first operator' });
      expect((await t.call('POST', '/api/v1/tenants', { token: r.body.token, body: { name: 'Works' } })).status).toBe(201);
      expect((await t.call('POST', path(second.setupUrl), { token: null, body: { name: 'again' } })).status).toBe(410);
      expect(await bootstrapOperator(systemActor('boot'), t.core)).toEqual({ action: 'none' });
      expect((await t.call('GET', '/api/v1/audit/verify', { token: r.body.token })).body.ok).toBe(true);
    } finally {
      await t.close();
    }
  });
});
