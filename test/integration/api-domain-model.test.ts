/**
 * The domain model beyond creation: mailbox changes (quota within the tenant pool, role flag,
 * reset destination), tenant-wide filtered lists, domain aliases (also in routing), alias
 * changes and deletion, ownership transfer and rollback from the audit record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecipientRouter } from '../../appliance/core/delivery/routing.js';
import { createTestApp, OWNER, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Model Co', 'model.example');
});
afterAll(async () => t.close());

const patch = (id: string, body: unknown, token = a.token) => t.call('PATCH', `/api/v1/mailboxes/${id}`, { token, body });

describe('PATCH /api/v1/mailboxes/{id}', () => {
  it('changes display name, quota, business owner and reset destination, audited with before/after', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'patchme', {}, a.token);
    const r = await patch(mb.id, {
      displayName: 'Patched',
      quotaBytes: 5_000_000,
      businessOwner: { name: 'Boss', email: 'boss@client.example' },
      resetDestination: 'ada.backup@home.example',
      reason: 'ticket 7',
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ displayName: 'Patched', quotaBytes: 5_000_000, businessOwner: { name: 'Boss', email: 'boss@client.example' }, resetDestination: 'ada.backup@home.example' });
    const ev = (await t.call('GET', `/api/v1/audit/events?targetId=${mb.id}&action=mailbox.update`, { token: a.token })).body[0];
    expect(ev.before).toEqual({ displayName: null, quotaBytes: t.config.defaultQuotaBytes, businessOwner: null, resetDestination: OWNER.email });
    expect(ev.reason).toBe('ticket 7');
    // Nothing changes → no event.
    expect((await patch(mb.id, { displayName: 'Patched' })).status).toBe(200);
    expect((await t.call('GET', `/api/v1/audit/events?targetId=${mb.id}&action=mailbox.update`, { token: a.token })).body).toHaveLength(1);
  });

  it('refuses a dangerous reset destination with the reason, and unknown fields such as owner', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'danger', {}, a.token);
    const self = await patch(mb.id, { resetDestination: mb.address });
    expect(self.status).toBe(400);
    expect(self.body.error.message).toMatch(/mailbox itself/);
    expect((await patch(mb.id, { resetDestination: 'support@home.example' })).body.error.message).toMatch(/role or shared/);
    expect((await patch(mb.id, { owner: { name: 'X', email: 'x@y.example' } })).status).toBe(400);
  });

  it('refuses to flag as role account a mailbox that is someone’s reset destination', async () => {
    const dest = await provisionMailbox(t, a.domainId, 'personal-dest', {}, a.token);
    await provisionMailbox(t, a.domainId, 'depends', { resetDestination: dest.address }, a.token);
    const r = await patch(dest.id, { isRole: true });
    expect(r.status).toBe(409);
    expect(r.body.error.details.dependents).toEqual(['depends@model.example']);
  });

  it('needs mailboxes.manage', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'perm', {}, a.token);
    const hd = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'hd', role: 'helpdesk' } });
    expect((await patch(mb.id, { displayName: 'No' }, hd.body.token)).status).toBe(403);
  });
});

describe('pooled tenant quota', () => {
  it('an operator sets a pool; mailbox quotas must fit in it; the pool cannot shrink below what is allocated', async () => {
    const p = await provisionTenant(t, 'Pool Co', 'pool.example');
    const pool = await t.call('PATCH', `/api/v1/tenants/${p.tenantId}`, { body: { quotaBytes: 3_000_000 } });
    expect(pool.status).toBe(200);
    expect(pool.body.quota).toEqual({ poolBytes: 3_000_000, allocatedBytes: 0, usedBytes: 0 });
    const one = await provisionMailbox(t, p.domainId, 'one', { quotaBytes: 2_000_000 }, p.token);
    const two = await t.call('POST', `/api/v1/domains/${p.domainId}/mailboxes`, { token: p.token, body: { localPart: 'two', owner: OWNER, credentialDelivery: 'link', quotaBytes: 2_000_000 } });
    expect(two.status).toBe(409);
    expect(two.body.error).toMatchObject({ code: 'QuotaExceeded', details: { poolBytes: 3_000_000, allocatedBytes: 2_000_000, requestedBytes: 2_000_000 } });
    expect((await patch(one.id, { quotaBytes: 3_000_001 }, p.token)).status).toBe(409);
    expect((await patch(one.id, { quotaBytes: 3_000_000 }, p.token)).status).toBe(200);
    expect((await t.call('PATCH', `/api/v1/tenants/${p.tenantId}`, { body: { quotaBytes: 1_000_000 } })).status).toBe(409);
    expect((await t.call('GET', `/api/v1/tenants/${p.tenantId}`, { token: p.token })).body.quota).toMatchObject({ poolBytes: 3_000_000, allocatedBytes: 3_000_000 });
    expect((await t.call('PATCH', `/api/v1/tenants/${p.tenantId}`, { token: p.token, body: { quotaBytes: null } })).status).toBe(403);
  });
});

describe('tenant-wide lists with filters and paging', () => {
  it('lists mailboxes across domains, filtered by domain, status, role flag and text', async () => {
    const f = await provisionTenant(t, 'List Co', 'list-one.example');
    const d2 = await t.call('POST', `/api/v1/tenants/${f.tenantId}/domains`, { token: f.token, body: { name: 'list-two.example' } });
    const x = await provisionMailbox(t, f.domainId, 'xavier', {}, f.token);
    await provisionMailbox(t, d2.body.id, 'yvonne', { owner: { name: 'Yvonne Special', email: 'y@home.example' } }, f.token);
    await provisionMailbox(t, d2.body.id, 'info', {}, f.token);
    await t.call('POST', `/api/v1/mailboxes/${x.id}/suspend`, { token: f.token });
    const list = async (q: string) => (await t.call('GET', `/api/v1/tenants/${f.tenantId}/mailboxes${q}`, { token: f.token })).body.map((m: { address: string }) => m.address).sort();
    expect(await list('')).toEqual(['info@list-two.example', 'xavier@list-one.example', 'yvonne@list-two.example']);
    expect(await list(`?domainId=${d2.body.id}`)).toEqual(['info@list-two.example', 'yvonne@list-two.example']);
    expect(await list('?status=suspended')).toEqual(['xavier@list-one.example']);
    expect(await list('?isRole=true')).toEqual(['info@list-two.example']);
    expect(await list('?q=SPECIAL')).toEqual(['yvonne@list-two.example']);
    expect(await list('?q=100%25')).toEqual([]);
    const page1 = await t.call('GET', `/api/v1/tenants/${f.tenantId}/mailboxes?limit=2`, { token: f.token });
    const page2 = await t.call('GET', `/api/v1/tenants/${f.tenantId}/mailboxes?limit=2&after=${page1.body[1].id}`, { token: f.token });
    expect([...page1.body, ...page2.body].map((m: { id: string }) => m.id)).toHaveLength(3);
    expect((await t.call('GET', `/api/v1/tenants/${f.tenantId}/mailboxes?status=deleted`, { token: f.token })).status).toBe(400);
    expect((await t.call('GET', `/api/v1/domains/${f.domainId}/mailboxes?status=suspended`, { token: f.token })).body).toHaveLength(1);
  });

  it('lists aliases across domains and domains by kind', async () => {
    const f = await provisionTenant(t, 'Alias List Co', 'al-one.example');
    const d2 = await t.call('POST', `/api/v1/tenants/${f.tenantId}/domains`, { token: f.token, body: { name: 'al-two.example' } });
    const mb = await provisionMailbox(t, f.domainId, 'target', {}, f.token);
    await t.call('POST', `/api/v1/domains/${f.domainId}/aliases`, { token: f.token, body: { localPart: 'a1', targets: [mb.address] } });
    const cross = await t.call('POST', `/api/v1/domains/${d2.body.id}/aliases`, { token: f.token, body: { localPart: 'a2', targets: [mb.address] } });
    expect(cross.status).toBe(201); // an alias in one domain delivering to a mailbox of another domain of the tenant
    const all = await t.call('GET', `/api/v1/tenants/${f.tenantId}/aliases`, { token: f.token });
    // Besides the required addresses every domain gets (postmaster@, abuse@, dmarc-reports@).
    expect(
      all.body
        .map((x: { address: string }) => x.address)
        .filter((a: string) => !/^(postmaster|abuse|dmarc-reports)@/.test(a))
        .sort(),
    ).toEqual(['a1@al-one.example', 'a2@al-two.example']);
    expect((await t.call('GET', `/api/v1/tenants/${f.tenantId}/aliases?q=a2@al-two`, { token: f.token })).body).toHaveLength(1);
    expect((await t.call('GET', `/api/v1/tenants/${f.tenantId}/domains?q=two`, { token: f.token })).body.map((d: { name: string }) => d.name)).toEqual(['al-two.example']);
  });
});

describe('domain aliases', () => {
  it('a domain alias delivers local@alias to local@primary, resolves as a target, and holds no addresses of its own', async () => {
    const d = await provisionTenant(t, 'Alias Domain Co', 'primary.example');
    const mb = await provisionMailbox(t, d.domainId, 'pat', {}, d.token);
    const al = await t.call('POST', `/api/v1/tenants/${d.tenantId}/domains`, { token: d.token, body: { name: 'alias-of-primary.example', aliasOf: d.domainId } });
    expect(al.status).toBe(201);
    expect((await t.call('GET', `/api/v1/domains/${al.body.id}`, { token: d.token })).body.aliasOf).toBe(d.domainId);
    const router = new RecipientRouter(t.core.db);
    expect(await router.resolve('pat@alias-of-primary.example', 10)).toMatchObject({ ok: true, via: 'alias', mailboxes: [{ id: mb.id, address: mb.address }] });
    expect(await router.resolve('nobody@alias-of-primary.example', 10)).toMatchObject({ ok: false, refusal: 'unknown' });
    // Addresses live in the primary domain.
    expect((await t.call('POST', `/api/v1/domains/${al.body.id}/mailboxes`, { token: d.token, body: { localPart: 'x', owner: OWNER, credentialDelivery: 'link' } })).status).toBe(400);
    // The alias domain's address of a mailbox is that mailbox (as an alias target and as a reset destination).
    const alias = await t.call('POST', `/api/v1/domains/${d.domainId}/aliases`, { token: d.token, body: { localPart: 'to-pat', targets: ['pat@alias-of-primary.example'] } });
    expect(alias.body.targets).toEqual([mb.address]);
    const self = await t.call('PATCH', `/api/v1/mailboxes/${mb.id}`, { token: d.token, body: { resetDestination: 'pat@alias-of-primary.example' } });
    expect(self.body.error.message).toMatch(/mailbox itself/);
    // No chains, no cross-tenant aliasing.
    expect((await t.call('POST', `/api/v1/tenants/${d.tenantId}/domains`, { token: d.token, body: { name: 'chain.example', aliasOf: al.body.id } })).status).toBe(400);
    expect((await t.call('POST', `/api/v1/tenants/${a.tenantId}/domains`, { token: a.token, body: { name: 'steal.example', aliasOf: d.domainId } })).status).toBe(400);
    // A primary domain with addresses cannot become an alias; the alias can become primary again.
    expect((await t.call('PATCH', `/api/v1/domains/${d.domainId}`, { token: d.token, body: { aliasOf: al.body.id } })).status).toBe(400);
    const unalias = await t.call('PATCH', `/api/v1/domains/${al.body.id}`, { token: d.token, body: { aliasOf: null } });
    expect(unalias.body.aliasOf).toBeNull();
    expect(await router.resolve('pat@alias-of-primary.example', 10)).toMatchObject({ ok: false, refusal: 'unknown' });
  });
});

describe('aliases: change and delete', () => {
  it('replaces targets, disables, deletes (the address becomes free)', async () => {
    const m1 = await provisionMailbox(t, a.domainId, 'al-m1', {}, a.token);
    const m2 = await provisionMailbox(t, a.domainId, 'al-m2', {}, a.token);
    const al = await t.call('POST', `/api/v1/domains/${a.domainId}/aliases`, { token: a.token, body: { localPart: 'rotating', targets: [m1.address] } });
    const router = new RecipientRouter(t.core.db);
    const p1 = await t.call('PATCH', `/api/v1/aliases/${al.body.id}`, { token: a.token, body: { targets: [m2.address] } });
    expect(p1.body.targets).toEqual([m2.address]);
    expect(await router.resolve('rotating@model.example', 1)).toMatchObject({ ok: true, mailboxes: [{ id: m2.id }] });
    expect((await t.call('PATCH', `/api/v1/aliases/${al.body.id}`, { token: a.token, body: { status: 'disabled' } })).body.status).toBe('disabled');
    expect((await router.resolve('rotating@model.example', 1)).ok).toBe(false);
    expect((await t.call('DELETE', `/api/v1/aliases/${al.body.id}`, { token: a.token })).status).toBe(204);
    expect((await t.call('GET', `/api/v1/aliases/${al.body.id}`, { token: a.token })).status).toBe(404);
    expect((await t.call('POST', `/api/v1/domains/${a.domainId}/aliases`, { token: a.token, body: { localPart: 'rotating', targets: [m1.address] } })).status).toBe(201);
    const ev = (await t.call('GET', `/api/v1/audit/events?targetId=${al.body.id}&action=alias.delete`, { token: a.token })).body[0];
    expect(ev.before).toMatchObject({ address: 'rotating@model.example', targets: [m2.address] });
  });
});

describe('ownership transfer and rollback', () => {
  it('transfers to a new owner with approver and reason, moves an owner-held reset destination, revokes sessions; rollback puts it back', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'handover', { businessOwner: { name: 'Boss', email: 'boss@client.example' } }, a.token);
    t.revocations.length = 0;
    const body = { newOwner: { name: 'Grace Hopper', email: 'grace@home.example' }, approvedBy: { name: 'Boss', email: 'boss@client.example' }, approvalReference: 'REQ-42', reason: 'Ada left' };
    const r = await t.call('POST', `/api/v1/mailboxes/${mb.id}/ownership/transfer`, { token: a.token, body });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ owner: { name: 'Grace Hopper', email: 'grace@home.example' }, resetDestination: 'grace@home.example' });
    expect(t.revocations).toEqual([{ mailboxId: mb.id, reason: 'mailbox ownership transferred' }]);
    const ev = (await t.call('GET', `/api/v1/audit/events?targetId=${mb.id}&action=mailbox.ownership.transfer`, { token: a.token })).body[0];
    expect(ev).toMatchObject({
      reason: 'Ada left',
      approvalId: 'REQ-42',
      before: { owner: OWNER, resetDestination: OWNER.email },
      after: { owner: { name: 'Grace Hopper', email: 'grace@home.example' }, approvedBy: { name: 'Boss', email: 'boss@client.example' } },
    });

    const own = await t.call('GET', `/api/v1/mailboxes/${mb.id}/ownership`, { token: a.token });
    expect(own.body.lastChange).toMatchObject({ event: 'mailbox.ownership.transfer', actor: { type: 'token' } });
    expect(own.body.rollback[0]).toMatchObject({ eventId: ev.id, event: 'mailbox.ownership.transfer', restores: { owner: OWNER, resetDestination: OWNER.email } });

    const back = await t.call('POST', `/api/v1/mailboxes/${mb.id}/rollback`, { token: a.token, body: { eventId: ev.id, reason: 'wrong person' } });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ owner: OWNER, resetDestination: OWNER.email });
    const after = await t.call('GET', `/api/v1/mailboxes/${mb.id}/ownership`, { token: a.token });
    expect(after.body.lastChange.event).toBe('mailbox.rollback');
  });

  it('refuses a self-approved transfer and a transfer without reason', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'selfapprove', {}, a.token);
    const p = { name: 'Mallory', email: 'mallory@home.example' };
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/ownership/transfer`, { token: a.token, body: { newOwner: p, approvedBy: p, reason: 'trust me' } })).status).toBe(400);
    expect((await t.call('POST', `/api/v1/mailboxes/${mb.id}/ownership/transfer`, { token: a.token, body: { newOwner: p, approvedBy: OWNER } })).status).toBe(400);
  });

  it('rolls back a suspension and a quota change; refuses events of other mailboxes', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'rollme', {}, a.token);
    const other = await provisionMailbox(t, a.domainId, 'notme', {}, a.token);
    await patch(mb.id, { quotaBytes: 123_456 });
    await t.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { token: a.token, body: { reason: 'oops' } });
    const own = (await t.call('GET', `/api/v1/mailboxes/${mb.id}/ownership`, { token: a.token })).body;
    expect(own.rollback.map((r: { event: string }) => r.event)).toEqual(['mailbox.suspend', 'mailbox.update']);
    const r1 = await t.call('POST', `/api/v1/mailboxes/${mb.id}/rollback`, { token: a.token, body: { eventId: own.rollback[0].eventId } });
    expect(r1.body.status).toBe('pending');
    const r2 = await t.call('POST', `/api/v1/mailboxes/${mb.id}/rollback`, { token: a.token, body: { eventId: own.rollback[1].eventId } });
    expect(r2.body.quotaBytes).toBe(t.config.defaultQuotaBytes);
    expect((await t.call('POST', `/api/v1/mailboxes/${other.id}/rollback`, { token: a.token, body: { eventId: own.rollback[1].eventId } })).status).toBe(404);
  });
});

describe('filters of the other lists', () => {
  it('tenants by name, tokens by liveness and name, principals by status and text', async () => {
    const f = await provisionTenant(t, 'Filterable Zeta', 'filter-zeta.example');
    expect((await t.call('GET', '/api/v1/tenants?q=zeta')).body.map((x: { name: string }) => x.name)).toEqual(['Filterable Zeta']);
    const keep = await t.call('POST', `/api/v1/tenants/${f.tenantId}/tokens`, { token: f.token, body: { name: 'keep me' } });
    const gone = await t.call('POST', `/api/v1/tenants/${f.tenantId}/tokens`, { token: f.token, body: { name: 'revoke me' } });
    await t.call('DELETE', `/api/v1/tokens/${gone.body.id}`, { token: f.token });
    const names = async (q: string) => (await t.call('GET', `/api/v1/tenants/${f.tenantId}/tokens${q}`, { token: f.token })).body.map((x: { name: string }) => x.name).sort();
    expect(await names('?active=false')).toEqual(['revoke me']);
    expect(await names('?active=true')).toEqual(['Filterable Zeta admin', 'keep me']);
    expect(await names('?q=KEEP')).toEqual(['keep me']);
    expect(keep.status).toBe(201);
    await t.call('POST', `/api/v1/tenants/${f.tenantId}/principals`, { token: f.token, body: { name: 'Pending Person', email: 'pending@zeta.example' } });
    const ps = await t.call('GET', `/api/v1/tenants/${f.tenantId}/principals?status=pending&q=person`, { token: f.token });
    expect(ps.body.map((p: { email: string }) => p.email)).toEqual(['pending@zeta.example']);
    expect((await t.call('GET', `/api/v1/tenants/${f.tenantId}/principals?status=active`, { token: f.token })).body).toEqual([]);
  });
});
