/**
 * The record of an API token's last use (api_tokens.last_used_at, written at most once a minute)
 * is not a change to what the token is (issue 18): the write keeps the remembered answer and its
 * actor (no token reads again after it), while a revocation, a suspended creator or any other
 * write to the token's row still ends the answer at once. On PostgreSQL nothing is remembered.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dialectOf } from '../../appliance/db/dialect.js';
import { TokensRepo } from '../../appliance/db/repos/tokens.js';
import { authenticateApiToken, type TokenAuthResult } from '../../appliance/core/access/tokens.service.js';
import { createTestApp, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: Awaited<ReturnType<typeof provisionTenant>>;
let remembers: boolean;

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Last used tenant', 'lastused.example');
  remembers = dialectOf(t.core.db) === 'sqlite';
}, 60_000);

afterAll(async () => {
  await t?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const get = (token: string) => t.call('GET', `/api/v1/tenants/${a.tenantId}`, { token });

async function lastUsed(id: string): Promise<number | null> {
  const row = await t.core.db.selectFrom('api_tokens').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow();
  return row.last_used_at === null ? null : Number(row.last_used_at);
}

/** A new token of the tenant, used once (read, and its first use recorded). */
async function usedToken(name: string): Promise<{ id: string; token: string }> {
  const tok = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name } });
  expect(tok.status).toBe(201);
  expect((await get(tok.body.token)).status).toBe(200);
  return { id: tok.body.id, token: tok.body.token };
}

describe('the last-use record of an API token', () => {
  it('is written, and keeps the remembered answer and its actor', async () => {
    const tok = await usedToken('touched');
    const first = await lastUsed(tok.id);
    expect(first).not.toBeNull();
    const before = await authenticateApiToken(t.core, tok.token);
    const reads = vi.spyOn(TokensRepo.prototype, 'byHash');
    const touch = vi.spyOn(TokensRepo.prototype, 'touch');
    // a minute and more later the use is recorded again (one write); the answer is kept across it
    t.advance(61_000);
    const after: TokenAuthResult[] = [];
    for (let i = 0; i < 3; i++) after.push(await authenticateApiToken(t.core, tok.token));
    expect(touch.mock.calls.length).toBe(1);
    expect(await lastUsed(tok.id)).toBeGreaterThan(first!);
    expect(reads.mock.calls.length).toBe(remembers ? 0 : 3);
    for (const r of [before, ...after]) if (!r.ok) throw new Error('the token did not authenticate');
    // the same remembered actor (its permission set built once), not one made again after the write
    const permissions = (r: TokenAuthResult) => (r.ok ? r.actor.permissions : null);
    for (const r of after) expect(permissions(r) === permissions(before)).toBe(remembers);
  });

  it('does not keep a revoked token working: the revocation after a last-use write ends it at once', async () => {
    const tok = await usedToken('touched then revoked');
    t.advance(61_000);
    expect((await get(tok.token)).status).toBe(200); // records the use again
    expect((await t.call('DELETE', `/api/v1/tokens/${tok.id}`, { token: a.token })).status).toBe(200);
    const r = await get(tok.token);
    expect(r.status).toBe(401);
    expect(r.body.error.message).toBe('token revoked');
  });

  it('is told apart from other writes to the token row: one that sets last_used_at with another column ends the answer', async () => {
    const tok = await usedToken('touched with expiry');
    expect((await get(tok.token)).status).toBe(200);
    await t.core.db
      .updateTable('api_tokens')
      .set({ last_used_at: t.core.now(), expires_at: t.core.now() - 1 })
      .where('id', '=', tok.id)
      .execute();
    const r = await get(tok.token);
    expect(r.status).toBe(401);
    expect(r.body.error.message).toBe('token expired');
  });

  it('keeps a suspended creator out at once', async () => {
    const p = await t.call('POST', `/api/v1/tenants/${a.tenantId}/principals`, { body: { email: 'admin@lastused.example', name: 'Last Used Admin', role: 'tenant-admin' } });
    expect(p.status).toBe(201);
    const tok = await usedToken('theirs');
    await t.core.db.updateTable('api_tokens').set({ principal_id: p.body.id }).where('id', '=', tok.id).execute();
    await t.core.db.updateTable('principals').set({ status: 'active' }).where('id', '=', p.body.id).execute();
    expect((await get(tok.token)).status).toBe(200);
    t.advance(61_000);
    expect((await get(tok.token)).status).toBe(200); // a last-use write
    await t.core.db.updateTable('principals').set({ status: 'disabled' }).where('id', '=', p.body.id).execute();
    expect((await get(tok.token)).status).toBe(401);
  });
});
