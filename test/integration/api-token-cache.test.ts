/**
 * API token answers are remembered per token (issue 18: no token, tenant and owner reads on every
 * request), and every change that ends a token ends the remembered answer at once: a revocation,
 * a deleted tenant, a disabled creator, any write to those tables by any path of the process
 * (raw SQL included). On PostgreSQL (other nodes write too) nothing is remembered.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dialectOf } from '../../appliance/db/dialect.js';
import { TokensRepo } from '../../appliance/db/repos/tokens.js';
import { authenticateApiToken } from '../../appliance/core/access/tokens.service.js';
import { createTestApp, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: Awaited<ReturnType<typeof provisionTenant>>;
let remembers: boolean;

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Cache tenant', 'cache.example');
  remembers = dialectOf(t.core.db) === 'sqlite';
}, 60_000);

afterAll(async () => {
  await t?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Token reads (by secret hash) during `fn`. */
async function tokenReads(fn: () => Promise<unknown>): Promise<number> {
  const spy = vi.spyOn(TokensRepo.prototype, 'byHash');
  try {
    await fn();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

const get = (token: string) => t.call('GET', `/api/v1/tenants/${a.tenantId}`, { token });

describe('API token answers', () => {
  it('are read once and reused while nothing changes', async () => {
    const tok = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name: 'reused' } });
    expect((await get(tok.body.token)).status).toBe(200); // read, and its use recorded (a write)
    expect((await get(tok.body.token)).status).toBe(200); // read again after that write
    const reads = await tokenReads(async () => {
      for (let i = 0; i < 5; i++) expect((await get(tok.body.token)).status).toBe(200);
    });
    expect(reads).toBe(remembers ? 0 : 5);
  });

  it('make the actor once per answer: each request adds only its own origin', async () => {
    const tok = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name: 'one actor' } });
    expect((await get(tok.body.token)).status).toBe(200); // read, and its use recorded
    const one = await authenticateApiToken(t.core, tok.body.token, { requestId: 'r1', sourceIp: '192.0.2.1' });
    const two = await authenticateApiToken(t.core, tok.body.token, { requestId: 'r2', sourceIp: '192.0.2.2' });
    if (!one.ok || !two.ok) throw new Error('the token did not authenticate');
    expect(one.actor.origin).toEqual({ requestId: 'r1', sourceIp: '192.0.2.1' });
    expect(two.actor.origin).toEqual({ requestId: 'r2', sourceIp: '192.0.2.2' });
    expect(Object.isFrozen(one.actor) && Object.isFrozen(two.actor)).toBe(true);
    expect({ ...two.actor, origin: null }).toEqual({ ...one.actor, origin: null });
    // the permission set is checked and built once per remembered answer (SQLite), not per request
    expect(one.actor.permissions === two.actor.permissions).toBe(remembers);
  });

  it('end at once when the token is revoked', async () => {
    const tok = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name: 'revoked soon' } });
    for (let i = 0; i < 3; i++) expect((await get(tok.body.token)).status).toBe(200);
    expect((await t.call('DELETE', `/api/v1/tokens/${tok.body.id}`, { token: a.token })).status).toBe(200);
    const r = await get(tok.body.token);
    expect(r.status).toBe(401);
    expect(r.body.error.message).toBe('token revoked');
  });

  it('end at once when the person who created the token is disabled', async () => {
    const p = await t.call('POST', `/api/v1/tenants/${a.tenantId}/principals`, { body: { email: 'admin@cache.example', name: 'Cache Admin', role: 'tenant-admin' } });
    expect(p.status).toBe(201);
    // a token the person created acts as them and dies with their account
    const tok = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name: 'theirs' } });
    await t.core.db.updateTable('api_tokens').set({ principal_id: p.body.id }).where('id', '=', tok.body.id).execute();
    await t.core.db.updateTable('principals').set({ status: 'active' }).where('id', '=', p.body.id).execute(); // (as after its setup)
    for (let i = 0; i < 3; i++) expect((await get(tok.body.token)).status).toBe(200);
    // the principal row alone changes (not the token's): the remembered answer must still end
    await t.core.db.updateTable('principals').set({ status: 'disabled' }).where('id', '=', p.body.id).execute();
    const r = await get(tok.body.token);
    expect(r.status).toBe(401);
    expect(r.body.error.message).toBe('token revoked');
  });

  it('end at once when the tenant is deleted, and after raw SQL writes', async () => {
    const other = await provisionTenant(t, 'Doomed tenant', 'doomed.example');
    const own = (token: string) => t.call('GET', `/api/v1/tenants/${other.tenantId}`, { token });
    for (let i = 0; i < 3; i++) expect((await own(other.token)).status).toBe(200);
    await t.core.db.updateTable('tenants').set({ status: 'deleted' }).where('id', '=', other.tenantId).execute();
    expect((await own(other.token)).status).toBe(401);

    const tok = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name: 'raw' } });
    for (let i = 0; i < 3; i++) expect((await get(tok.body.token)).status).toBe(200);
    await sql`update api_tokens set revoked_at = ${Date.now()} where id = ${tok.body.id}`.execute(t.core.db);
    expect((await get(tok.body.token)).status).toBe(401);
  });

  it('are not kept when a revocation commits while they are read', async () => {
    const tok = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name: 'raced' } });
    expect((await get(tok.body.token)).status).toBe(200);
    expect((await get(tok.body.token)).status).toBe(200);
    // the revocation is issued while the request's reads are in flight (same turn of the event loop)
    const [during] = await Promise.all([get(tok.body.token), t.core.db.updateTable('api_tokens').set({ revoked_at: Date.now() }).where('id', '=', tok.body.id).execute()]);
    expect([200, 401]).toContain(during.status);
    expect((await get(tok.body.token)).status).toBe(401);
  });
});
