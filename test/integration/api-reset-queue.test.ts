/**
 * The tenant-wide list of resets: the second approver's queue without audit.read, status and
 * kind filters, expiry of pending requests, paging, and the tenant scope (another tenant: 404;
 * the unaddressed list shows the caller's tenant only, an operator every tenant).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
let b: { tenantId: string; domainId: string; token: string };
const emergency = (dest: string) => ({ kind: 'emergency', reason: 'lost phone', verification: { method: 'video-call', evidence: 'passport checked on a call' }, newResetDestination: dest });

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Queue A', 'queue-a.example');
  b = await provisionTenant(t, 'Queue B', 'queue-b.example');
});
afterAll(async () => t?.close());

describe('GET /tenants/{id}/resets', () => {
  it('lists the pending emergency resets for the approver, newest first, with the mailbox address', async () => {
    const m1 = await provisionMailbox(t, a.domainId, 'q1', {}, a.token);
    const m2 = await provisionMailbox(t, a.domainId, 'q2', {}, a.token);
    const mb = await provisionMailbox(t, b.domainId, 'qb', {}, b.token);
    const r1 = (await t.call('POST', `/api/v1/mailboxes/${m1.id}/resets`, { token: a.token, body: emergency('q1.new@home.example') })).body;
    t.advance(1000);
    const r2 = (await t.call('POST', `/api/v1/mailboxes/${m2.id}/resets`, { token: a.token, body: emergency('q2.new@home.example') })).body;
    const admin = await t.call('POST', `/api/v1/mailboxes/${m2.id}/resets`, { token: a.token, body: { kind: 'admin', reason: 'forgot' } });
    expect(admin.status).toBe(201);
    await t.call('POST', `/api/v1/mailboxes/${mb.id}/resets`, { token: b.token, body: emergency('qb.new@home.example') });

    // A reader without audit.read (helpdesk holds mailboxes.read) sees the queue.
    const helpdesk = (await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'helpdesk', role: 'helpdesk' } })).body.token;
    const q = await t.call('GET', `/api/v1/tenants/${a.tenantId}/resets?status=pending-approval`, { token: helpdesk });
    expect(q.status, JSON.stringify(q.body)).toBe(200);
    expect(q.body.map((r: { id: string }) => r.id)).toEqual([r2.id, r1.id]);
    expect(q.body[0]).toMatchObject({ mailboxAddress: m2.address, tenantId: a.tenantId, kind: 'emergency', status: 'pending-approval', newResetDestination: 'q2.new@home.example' });

    const all = await t.call('GET', `/api/v1/tenants/${a.tenantId}/resets`, { token: a.token });
    expect(all.body).toHaveLength(3);
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/resets?kind=admin`, { token: a.token })).body.map((r: { id: string }) => r.id)).toEqual([admin.body.id]);

    // Paging: one at a time by the last id.
    const p1 = await t.call('GET', `/api/v1/tenants/${a.tenantId}/resets?status=pending-approval&limit=1`, { token: a.token });
    const p2 = await t.call('GET', `/api/v1/tenants/${a.tenantId}/resets?status=pending-approval&limit=1&after=${p1.body[0].id}`, { token: a.token });
    expect([p1.body[0].id, p2.body[0].id]).toEqual([r2.id, r1.id]);

    // Approved: out of the queue.
    const ok = await t.call('POST', `/api/v1/resets/${r1.id}/approve`, { body: { note: 'checked' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/resets?status=pending-approval`, { token: a.token })).body.map((r: { id: string }) => r.id)).toEqual([r2.id]);
  });

  it('scopes: another tenant is 404, the unaddressed list shows the caller’s tenant, an operator sees all', async () => {
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/resets`, { token: b.token })).status).toBe(404);
    const mine = await t.call('GET', '/api/v1/resets', { token: b.token });
    expect(mine.status).toBe(200);
    expect(mine.body.length).toBeGreaterThan(0);
    expect(mine.body.every((r: { tenantId: string }) => r.tenantId === b.tenantId)).toBe(true);
    const op = await t.call('GET', '/api/v1/resets?status=pending-approval');
    expect(new Set(op.body.map((r: { tenantId: string }) => r.tenantId))).toEqual(new Set([a.tenantId, b.tenantId]));
    expect((await t.call('GET', '/api/v1/resets?status=bogus')).status).toBe(400);
  });

  it('a pending request past the approval window is listed as expired, not pending', async () => {
    t.advance(25 * 3600_000);
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/resets?status=pending-approval`, { token: a.token })).body).toEqual([]);
    const expired = await t.call('GET', `/api/v1/tenants/${a.tenantId}/resets?status=expired`, { token: a.token });
    expect(expired.body.map((r: { status: string }) => r.status)).toEqual(['expired']);
  });
});
