import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, OWNER, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let tenant: { tenantId: string; domainId: string; token: string };
beforeAll(async () => {
  t = await createTestApp();
  tenant = await provisionTenant(t, 'Mailbox Co', 'mailbox.example');
});
afterAll(async () => t.close());

const create = (body: Record<string, unknown>, token?: string) => t.call('POST', `/api/v1/domains/${tenant.domainId}/mailboxes`, { token, body });

describe('POST /api/v1/domains/{domainId}/mailboxes', () => {
  it('creates a pending mailbox with its ownership record and a setup link', async () => {
    const r = await create({
      localPart: 'Grace.Hopper',
      displayName: 'Grace Hopper',
      quotaBytes: 1_000_000,
      owner: { name: 'Grace Hopper', email: 'Grace@Personal.example' },
      businessOwner: { name: 'Boss', email: 'boss@client.example' },
      credentialDelivery: 'link',
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^mbx_/),
      address: 'grace.hopper@mailbox.example',
      setup: { token: expect.stringMatching(/^psu_/), url: expect.any(String), expiresAt: expect.any(String) },
    });
    expect(r.body.setup.url).toBe(`https://console.postern.test/setup/${r.body.setup.token}`);
    const ttl = Date.parse(r.body.setup.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(71.9 * 3600_000);
    expect(ttl).toBeLessThanOrEqual(72 * 3600_000);

    const mb = await t.call('GET', `/api/v1/mailboxes/${r.body.id}`);
    expect(mb.body).toMatchObject({
      address: 'grace.hopper@mailbox.example',
      status: 'pending',
      quotaBytes: 1_000_000,
      usedBytes: 0,
      owner: { name: 'Grace Hopper', email: 'grace@personal.example' },
      businessOwner: { name: 'Boss', email: 'boss@client.example' },
      resetDestination: 'grace@personal.example',
      isRole: false,
    });
    expect(JSON.stringify(mb.body)).not.toMatch(/password|hash/i);

    const folders = await t.core.db.selectFrom('folders').select('name').where('mailbox_id', '=', r.body.id).execute();
    expect(folders.map((f) => f.name).sort()).toEqual(['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    const token = await t.core.db.selectFrom('setup_tokens').selectAll().where('mailbox_id', '=', r.body.id).executeTakeFirstOrThrow();
    expect(token.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(token.token_hash).not.toContain(r.body.setup.token);
  });

  it('uses the default quota and the tenant token works', async () => {
    const body = await provisionMailbox(t, tenant.domainId, 'defaults', {}, tenant.token);
    const row = await t.core.db.selectFrom('mailboxes').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow();
    expect(Number(row.quota_bytes)).toBe(t.config.defaultQuotaBytes);
    expect(row.credential_version).toBe(1);
    expect(row.password_hash).toBeNull();
  });

  it.each([
    ['missing owner', { localPart: 'x1', credentialDelivery: 'link' }, /owner is required/],
    ['owner without email', { localPart: 'x2', owner: { name: 'N' }, credentialDelivery: 'link' }, /owner\.email is required/],
    ['unknown field', { localPart: 'x3', owner: OWNER, credentialDelivery: 'link', password: 'hunter2hunter2' }, /unknown field "password"/],
    ['unknown owner field', { localPart: 'x4', owner: { ...OWNER, phone: '1' }, credentialDelivery: 'link' }, /unknown field "phone"/],
    ['wrong quota type', { localPart: 'x5', owner: OWNER, credentialDelivery: 'link', quotaBytes: '100' }, /quotaBytes must be integer/],
    ['delivery other than link', { localPart: 'x6', owner: OWNER, credentialDelivery: 'password' }, /credentialDelivery/],
    ['missing delivery', { localPart: 'x7', owner: OWNER }, /credentialDelivery is required/],
    ['bad local part', { localPart: 'a b', owner: OWNER, credentialDelivery: 'link' }, /not a valid local part/],
    ['bad owner email', { localPart: 'x8', owner: { name: 'N', email: 'nope' }, credentialDelivery: 'link' }, /not a valid email address/],
  ])('400 on %s', async (_c, body, message) => {
    const r = await create(body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('Invalid');
    expect(r.body.error.message).toMatch(message);
  });

  it('409 on an address already used by a mailbox or an alias', async () => {
    await provisionMailbox(t, tenant.domainId, 'dup');
    expect((await create({ localPart: 'DUP', owner: OWNER, credentialDelivery: 'link' })).status).toBe(409);
    await t.call('POST', `/api/v1/domains/${tenant.domainId}/aliases`, { body: { localPart: 'sales-team', targets: ['dup@mailbox.example'] } });
    expect((await create({ localPart: 'sales-team', owner: OWNER, credentialDelivery: 'link' })).status).toBe(409);
  });

  it('flags role accounts from their local part', async () => {
    const body = await provisionMailbox(t, tenant.domainId, 'support');
    expect((await t.call('GET', `/api/v1/mailboxes/${body.id}`)).body.isRole).toBe(true);
  });
});

describe('reset destination validation', () => {
  it.each([
    ['the mailbox itself', 'self-reset', 'self-reset@mailbox.example', /it is the mailbox itself/],
    ['a role address', 'role-reset', 'info@client-home.example', /role or shared address/],
    ['a hosted address nobody reads', 'ghost-reset', 'ghost@mailbox.example', /nobody would read it/],
  ])('refuses %s', async (_c, localPart, resetDestination, reason) => {
    const r = await create({ localPart, owner: OWNER, resetDestination, credentialDelivery: 'link' });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(reason);
    expect(r.body.error.details).toMatchObject({ field: 'resetDestination' });
    expect(await t.core.db.selectFrom('mailboxes').select('id').where('local_part', '=', localPart).executeTakeFirst()).toBeUndefined();
  });

  it('refuses an owner email that is a role address unless another destination is given', async () => {
    const r = await create({ localPart: 'owner-role', owner: { name: 'Front desk', email: 'office@client.example' }, credentialDelivery: 'link' });
    expect(r.status).toBe(400);
    const ok = await create({ localPart: 'owner-role', owner: { name: 'Front desk', email: 'office@client.example' }, resetDestination: 'jane@client.example', credentialDelivery: 'link' });
    expect(ok.status).toBe(201);
  });

  it('refuses a hosted role mailbox and a fan-out alias; accepts a personal mailbox and a one-person alias', async () => {
    const role = await provisionMailbox(t, tenant.domainId, 'frontdesk', { isRole: true });
    const r1 = await create({ localPart: 'rd1', owner: OWNER, resetDestination: role.address, credentialDelivery: 'link' });
    expect(r1.status).toBe(400);
    expect(r1.body.error.message).toMatch(/role account/);

    const personal = await provisionMailbox(t, tenant.domainId, 'personal');
    const r2 = await create({ localPart: 'rd2', owner: OWNER, resetDestination: personal.address, credentialDelivery: 'link' });
    expect(r2.status).toBe(201);

    const fan = await t.call('POST', `/api/v1/domains/${tenant.domainId}/aliases`, { body: { localPart: 'everyone', targets: [personal.address, 'x@elsewhere.example'] } });
    expect(fan.status).toBe(201);
    const r3 = await create({ localPart: 'rd3', owner: OWNER, resetDestination: 'everyone@mailbox.example', credentialDelivery: 'link' });
    expect(r3.status).toBe(400);
    expect(r3.body.error.message).toMatch(/fans out/);

    const one = await t.call('POST', `/api/v1/domains/${tenant.domainId}/aliases`, { body: { localPart: 'to-personal', targets: [personal.address] } });
    expect(one.status).toBe(201);
    const r4 = await create({ localPart: 'rd4', owner: OWNER, resetDestination: 'to-personal@mailbox.example', credentialDelivery: 'link' });
    expect(r4.status).toBe(201);
  });
});

describe('reads', () => {
  it('lists mailboxes of a domain with paging', async () => {
    const all = await t.call('GET', `/api/v1/domains/${tenant.domainId}/mailboxes?limit=2`);
    expect(all.status).toBe(200);
    expect(all.body).toHaveLength(2);
    const next = await t.call('GET', `/api/v1/domains/${tenant.domainId}/mailboxes?limit=2&after=${all.body[1].id}`);
    expect(next.body[0].id > all.body[1].id).toBe(true);
  });
});

describe('GET /api/v1/mailboxes/{id}/ownership', () => {
  it('answers owner, business owner, reset destination, reset paths and the last change', async () => {
    const mb = await provisionMailbox(t, tenant.domainId, 'owned', { businessOwner: { name: 'Approver', email: 'approver@client.example' } }, tenant.token);
    const r = await t.call('GET', `/api/v1/mailboxes/${mb.id}/ownership`, { token: tenant.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      mailboxId: mb.id,
      address: 'owned@mailbox.example',
      status: 'pending',
      owner: OWNER,
      businessOwner: { name: 'Approver', email: 'approver@client.example' },
      resetDestination: OWNER.email,
      lastChange: { event: 'mailbox.create', actor: { type: 'token' } },
      rollback: [],
    });
    const paths = (body: { resetPaths: Array<{ path: string }> }) => body.resetPaths.map((p) => p.path);
    expect(paths(r.body)).toEqual(['setup-link', 'admin-reset', 'emergency-reset']);
    expect(r.body.resetPaths[0]).toMatchObject({ expiresAt: mb.setup.expiresAt, heldBy: { type: 'principal' } });
    expect(r.body.resetPaths[1]).toMatchObject({ destination: OWNER.email, whoMayTrigger: expect.arrayContaining(['token:Mailbox Co admin', 'operators']) });
    expect((await t.call('POST', `/api/v1/setup/${mb.setup.token}`, { token: null, body: { password: 'Correct-Horse-42-Battery' } })).status).toBe(204);
    const after = await t.call('GET', `/api/v1/mailboxes/${mb.id}/ownership`, { token: tenant.token });
    expect(after.body).toMatchObject({ status: 'active', lastChange: { event: 'mailbox.setup.complete', actor: { type: 'public' } } });
    expect(paths(after.body)).toEqual(['admin-reset', 'emergency-reset', 'self-service', 'self-service-link']);
  });
});
