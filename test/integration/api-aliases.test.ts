import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
let b: { tenantId: string; domainId: string; token: string };
let alice: string;
let bobOfB: string;
beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Alias A', 'alias-a.example');
  b = await provisionTenant(t, 'Alias B', 'alias-b.example');
  alice = (await provisionMailbox(t, a.domainId, 'alice')).address;
  bobOfB = (await provisionMailbox(t, b.domainId, 'bob')).address;
});
afterAll(async () => t.close());

const alias = (body: unknown, token = a.token, domainId = a.domainId) => t.call('POST', `/api/v1/domains/${domainId}/aliases`, { token, body });

describe('POST /api/v1/domains/{domainId}/aliases', () => {
  it('creates an alias: 201 with its address and normalized targets', async () => {
    const r = await alias({ localPart: 'Team', targets: ['ALICE@alias-a.example', 'partner@Outside.example', 'alice@alias-a.example'] });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ id: expect.stringMatching(/^als_/), address: 'team@alias-a.example', targets: ['alice@alias-a.example', 'partner@outside.example'], status: 'active' });
    const row = await t.core.db.selectFrom('aliases').selectAll().where('id', '=', r.body.id).executeTakeFirstOrThrow();
    expect(JSON.parse(row.targets)).toEqual(['alice@alias-a.example', 'partner@outside.example']);
    const ev = await t.core.db.selectFrom('audit_events').selectAll().where('target_id', '=', r.body.id).executeTakeFirstOrThrow();
    expect(JSON.parse(ev.after!)).toMatchObject({ externalTargets: ['partner@outside.example'] });
  });

  it('accepts another alias of the same tenant as a target', async () => {
    await alias({ localPart: 'inner', targets: [alice] });
    expect((await alias({ localPart: 'outer', targets: ['inner@alias-a.example'] })).status).toBe(201);
  });

  it.each([
    ["another tenant's mailbox", () => [bobOfB], /not a mailbox or alias of this tenant/],
    ['a non-existent address in a hosted domain', () => ['ghost@alias-a.example'], /not a mailbox or alias of this tenant/],
    ['an invalid address', () => ['not-an-address'], /not a valid email address/],
  ])('400 for a target that is %s', async (_c, targets, message) => {
    const r = await alias({ localPart: `bad${Math.random().toString(36).slice(2, 7)}`, targets: targets() });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(message);
  });

  it('400 for an alias targeting itself, empty targets, unknown fields', async () => {
    await provisionMailbox(t, a.domainId, 'selfie');
    expect((await alias({ localPart: 'loop', targets: ['loop@alias-a.example'] })).status).toBe(400);
    expect((await alias({ localPart: 'none', targets: [] })).status).toBe(400);
    expect((await alias({ localPart: 'x', targets: [alice], reason: 'because' })).status).toBe(400);
    expect((await alias({ localPart: 'x', targets: alice })).status).toBe(400);
  });

  it('409 when the address is a mailbox', async () => {
    expect((await alias({ localPart: 'alice', targets: ['x@outside.example'] })).status).toBe(409);
  });

  it('lists and reads aliases', async () => {
    const list = await t.call('GET', `/api/v1/domains/${a.domainId}/aliases`, { token: a.token });
    expect(list.status).toBe(200);
    expect(list.body.map((x: { address: string }) => x.address)).toContain('team@alias-a.example');
    const one = await t.call('GET', `/api/v1/aliases/${list.body[0].id}`, { token: a.token });
    expect(one.body.id).toBe(list.body[0].id);
  });
});

describe('PUT /api/v1/domains/{domainId}/catch-all', () => {
  const put = (target: unknown, token = a.token) => t.call('PUT', `/api/v1/domains/${a.domainId}/catch-all`, { token, body: { target } });

  it('is off by default, sets a hosted target, clears with null', async () => {
    expect((await t.call('GET', `/api/v1/domains/${a.domainId}`, { token: a.token })).body.catchAll).toBeNull();
    const r = await put(alice);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ domainId: a.domainId, target: alice });
    expect((await t.core.db.selectFrom('domains').select('catch_all').where('id', '=', a.domainId).executeTakeFirstOrThrow()).catch_all).toBe(alice);
    const off = await put(null);
    expect(off.body.target).toBeNull();
    const events = await t.core.db.selectFrom('audit_events').select('action').where('target_id', '=', a.domainId).execute();
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['domain.catch_all.set', 'domain.catch_all.clear']));
  });

  it('refuses an external target, another tenant mailbox, a missing body field', async () => {
    expect((await put('someone@outside.example')).status).toBe(400);
    expect((await put(bobOfB)).status).toBe(400);
    expect((await t.call('PUT', `/api/v1/domains/${a.domainId}/catch-all`, { token: a.token, body: {} })).status).toBe(400);
  });

  it("404 on another tenant's domain", async () => {
    const r = await t.call('PUT', `/api/v1/domains/${b.domainId}/catch-all`, { token: a.token, body: { target: alice } });
    expect(r.status).toBe(404);
  });
});
