import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

describe('POST /api/v1/tenants', () => {
  it('creates a tenant: 201 {id, name}', async () => {
    const r = await t.call('POST', '/api/v1/tenants', { body: { name: 'Acme Corp' } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ id: expect.stringMatching(/^tnt_[0-9a-f]{24}$/), name: 'Acme Corp' });
    const got = await t.call('GET', `/api/v1/tenants/${r.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: r.body.id, name: 'Acme Corp', status: 'active' });
  });

  it('refuses a duplicate name with 409', async () => {
    await t.call('POST', '/api/v1/tenants', { body: { name: 'Twice' } });
    const r = await t.call('POST', '/api/v1/tenants', { body: { name: 'Twice' } });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('AlreadyExists');
  });

  it.each([
    ['unknown field', { name: 'X', plan: 'gold' }, /unknown field "plan"/],
    ['wrong type', { name: 42 }, /body\.name must be string/],
    ['missing name', {}, /body\.name is required/],
    ['empty name', { name: '' }, /body\.name/],
    ['blank name', { name: '   ' }, /tenant name/],
  ])('400 on %s', async (_case, body, message) => {
    const r = await t.call('POST', '/api/v1/tenants', { body });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('Invalid');
    expect(r.body.error.message).toMatch(message);
  });

  it('400 on malformed JSON, never 500', async () => {
    const r = await t.call('POST', '/api/v1/tenants', { raw: '{"name": "x",' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'Invalid' });
  });

  it('400 on a JSON body that is not an object', async () => {
    const r = await t.call('POST', '/api/v1/tenants', { raw: '"just a string"' });
    expect(r.status).toBe(400);
  });

  it('400 on a text body, 415 on an unsupported content type', async () => {
    const text = await t.call('POST', '/api/v1/tenants', { raw: 'name=x', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(400);
    const xml = await t.call('POST', '/api/v1/tenants', { raw: '<name>x</name>', headers: { 'content-type': 'application/xml' } });
    expect(xml.status).toBe(415);
    expect(xml.body.error.code).toBe('Invalid');
  });

  it('401 without or with a bad token', async () => {
    const none = await t.call('POST', '/api/v1/tenants', { token: null, body: { name: 'Nope' } });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const bad = await t.call('POST', '/api/v1/tenants', { token: 'pst_not-a-real-token-at-all', body: { name: 'Nope' } });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toEqual({ code: 'Unauthorized', message: 'invalid token' });
  });

  it('403 for a tenant token: creating tenants is a platform permission', async () => {
    const a = await provisionTenant(t, 'Tenant With Token', 'tenant-with-token.example');
    const r = await t.call('POST', '/api/v1/tenants', { token: a.token, body: { name: 'Sneaky' } });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('Forbidden');
  });

  it('a tenant token lists only its own tenant', async () => {
    const a = await provisionTenant(t, 'Lister', 'lister.example');
    const mine = await t.call('GET', '/api/v1/tenants', { token: a.token });
    expect(mine.status).toBe(200);
    expect(mine.body.map((x: { id: string }) => x.id)).toEqual([a.tenantId]);
    const all = await t.call('GET', '/api/v1/tenants?limit=500');
    expect(all.body.length).toBeGreaterThan(1);
  });

  it('400 on a bad query string', async () => {
    const r = await t.call('GET', '/api/v1/tenants?limit=ten');
    expect(r.status).toBe(400);
    const u = await t.call('GET', '/api/v1/tenants?color=red');
    expect(u.status).toBe(400);
  });

  it('404 body for unknown routes', async () => {
    const r = await t.call('GET', '/api/v1/nothing-here');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('NotFound');
  });
});
