/**
 * Who may trigger a mailbox's admin and emergency reset paths (the ownership answer's
 * whoMayTrigger) is read once per tenant while no write touches api_tokens or principals (issue
 * 18: the same two tenant reads in every answer; SQLite only, nothing kept on PostgreSQL), and
 * every change shows in the next answer at once: a new token, a revoked one, a disabled admin, a
 * token that expired meanwhile.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dialectOf } from '../../appliance/db/dialect.js';
import { OwnershipRepo } from '../../appliance/db/repos/ownership.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: Awaited<ReturnType<typeof provisionTenant>>;
let mailboxId: string;
let remembers: boolean;

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Triggers tenant', 'triggers.example');
  mailboxId = (await provisionMailbox(t, a.domainId, 'owned', {}, a.token)).id;
  remembers = dialectOf(t.core.db) === 'sqlite';
}, 60_000);

afterAll(async () => {
  await t?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

interface Answer {
  resetPaths: Array<{ path: string; whoMayTrigger?: string[] }>;
}

/** whoMayTrigger of the admin reset path. */
async function triggers(): Promise<string[]> {
  const r = await t.call<Answer>('GET', `/api/v1/mailboxes/${mailboxId}/ownership`, { token: a.token });
  expect(r.status).toBe(200);
  return r.body.resetPaths.find((p) => p.path === 'admin-reset')!.whoMayTrigger!;
}

const newToken = (name: string, extra: Record<string, unknown> = {}) =>
  t.call<{ id: string; token: string }>('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { body: { name, permissions: ['resets.initiate', 'mailboxes.read'], ...extra } });

describe('the reset triggers of the ownership answer', () => {
  it('are read once per tenant while nothing changes', async () => {
    await triggers();
    const tokens = vi.spyOn(OwnershipRepo.prototype, 'unrevokedTokens');
    const principals = vi.spyOn(OwnershipRepo.prototype, 'activePrincipals');
    for (let i = 0; i < 3; i++) expect(await triggers()).toContain('operators');
    expect(tokens.mock.calls.length).toBe(remembers ? 0 : 3);
    expect(principals.mock.calls.length).toBe(remembers ? 0 : 3);
  });

  it('show a new token and a revoked one at once', async () => {
    expect(await triggers()).not.toContain('token:helpdesk');
    const tok = await newToken('helpdesk');
    expect(tok.status).toBe(201);
    expect(await triggers()).toContain('token:helpdesk');
    expect((await t.call('DELETE', `/api/v1/tokens/${tok.body.id}`, { token: a.token })).status).toBe(200);
    expect(await triggers()).not.toContain('token:helpdesk');
  });

  it('show a disabled admin at once', async () => {
    const p = await t.call<{ id: string }>('POST', `/api/v1/tenants/${a.tenantId}/principals`, { body: { email: 'admin@triggers.example', name: 'Admin', role: 'tenant-admin' } });
    expect(p.status).toBe(201);
    await t.core.db.updateTable('principals').set({ status: 'active' }).where('id', '=', p.body.id).execute();
    expect(await triggers()).toContain('tenant-admin:admin@triggers.example');
    await t.core.db.updateTable('principals').set({ status: 'disabled' }).where('id', '=', p.body.id).execute();
    expect(await triggers()).not.toContain('tenant-admin:admin@triggers.example');
  });

  it('drop a token when it expires, with no write in between', async () => {
    const tok = await newToken('short-lived', { expiresAt: new Date(t.core.now() + 60_000).toISOString() });
    expect(tok.status).toBe(201);
    expect(await triggers()).toContain('token:short-lived');
    expect(await triggers()).toContain('token:short-lived');
    t.advance(61_000);
    expect(await triggers()).not.toContain('token:short-lived');
  });
});
