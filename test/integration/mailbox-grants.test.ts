/**
 * Shared mailboxes and delegated access (issue 19), the control plane: grants through the API
 * (create, list, change, remove, validation, permission), audited with before/after and rolled
 * back, the expiry sweeper, the serving layer told at once (the real DbGrantsServing of the
 * core), lifecycle changes of the shared mailbox, the ownership answer's `access`, the sharing
 * report, offboarding (memberships as residual paths: plan, apply, verify, undo; convert to
 * shared with named members) and owners managing their own sharing by tenant policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { createGrant, sweepExpiredGrants } from '../../appliance/core/access/grants.service.js';
import { DbGrantsServing } from '../../appliance/core/access/grants-serving.js';
import { LocalHub, LocalNotifier } from '../../appliance/cluster/notifier.js';
import { removeGrantByOwner, setGrantByOwner } from '../../appliance/core/access/grants-owner.js';
import type { GrantChange } from '../../appliance/core/access/grants.types.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
let b: { tenantId: string; domainId: string; token: string };
const DAY = 86_400_000;

type Grant = {
  id: string;
  mailboxId: string;
  mailbox: string;
  memberMailboxId: string;
  member: string;
  rights: string[];
  seenPerMember: boolean;
  reason: string;
  grantedBy: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  live: boolean;
};

async function mailbox(localPart: string, extra: Record<string, unknown> = {}) {
  return provisionMailbox(t, a.domainId, localPart, extra, a.token);
}

/** What the serving layer heard for a member (the real listener API IMAP uses). */
function listen(memberMailboxId: string): GrantChange[] {
  const heard: GrantChange[] = [];
  t.core.grants.onChange(memberMailboxId, (c) => heard.push(c));
  return heard;
}

async function grant(mailboxId: string, body: Record<string, unknown>, token = a.token) {
  return t.call<Grant>('POST', `/api/v1/mailboxes/${mailboxId}/access`, { token, body: { rights: ['read', 'seen'], reason: 'team inbox', ...body } });
}

async function events(targetId: string, action: string) {
  const r = await t.call('GET', `/api/v1/audit/events?targetId=${targetId}&action=${encodeURIComponent(action)}&limit=50`, { token: a.token });
  expect(r.status).toBe(200);
  return r.body as Array<{ id: number; action: string; actor: { type: string; id: string }; before: Record<string, any> | null; after: Record<string, any> | null; reason: string | null }>;
}

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Agency Client', 'client.example');
  b = await provisionTenant(t, 'Other Client', 'other.example');
});
afterAll(async () => t.close());

describe('grants through the API', () => {
  it('creates, lists, changes and removes a grant, names not ids, and tells the serving layer at once', async () => {
    const support = await mailbox('support');
    const amy = await mailbox('amy');
    const heard = listen(amy.id);
    const expiresAt = new Date(Date.now() + 30 * DAY).toISOString();
    const created = await grant(support.id, { memberMailboxId: amy.id, rights: ['seen', 'read', 'send'], seenPerMember: true, reason: 'support rota', expiresAt });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      mailboxId: support.id,
      mailbox: 'support@client.example',
      memberMailboxId: amy.id,
      member: 'amy@client.example',
      rights: ['read', 'seen', 'send'],
      seenPerMember: true,
      reason: 'support rota',
      grantedBy: 'Agency Client admin',
      expiresAt,
      lastUsedAt: null,
      live: true,
    });
    expect(heard).toEqual([{ mailboxId: support.id, memberMailboxId: amy.id, kind: 'granted' }]);
    const served = await t.core.grants.forMember(amy.id);
    expect(served.map((g) => [g.mailboxAddress, [...g.rights], g.seenPerMember])).toEqual([['support@client.example', ['read', 'seen', 'send'], true]]);

    const list = await t.call<Grant[]>('GET', `/api/v1/mailboxes/${support.id}/access`, { token: a.token });
    expect(list.body.map((g) => g.member)).toEqual(['amy@client.example']);
    const reach = await t.call<Grant[]>('GET', `/api/v1/mailboxes/${amy.id}/shared-access`, { token: a.token });
    expect(reach.body.map((g) => g.mailbox)).toEqual(['support@client.example']);

    const changed = await t.call<Grant>('PATCH', `/api/v1/access/${created.body.id}`, { token: a.token, body: { rights: ['read'], expiresAt: null, seenPerMember: false } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ rights: ['read'], expiresAt: null, seenPerMember: false });
    expect(heard.at(-1)).toEqual({ mailboxId: support.id, memberMailboxId: amy.id, kind: 'changed' });
    expect([...(await t.core.grants.grantOf(support.id, amy.id))!.rights]).toEqual(['read']);

    const removed = await t.call('DELETE', `/api/v1/access/${created.body.id}?reason=rota%20ended`, { token: a.token });
    expect(removed.status).toBe(204);
    expect(heard.at(-1)).toEqual({ mailboxId: support.id, memberMailboxId: amy.id, kind: 'revoked' });
    expect(await t.core.grants.grantOf(support.id, amy.id)).toBeNull();
    expect((await t.call('GET', `/api/v1/access/${created.body.id}`, { token: a.token })).status).toBe(404);
  });

  it('validates: rights, reason, expiry, self-grant, duplicates, unknown mailbox; needs mailboxes.share', async () => {
    const billing = await mailbox('billing');
    const bo = await mailbox('bo');
    const cases: Array<[Record<string, unknown>, number, RegExp | null]> = [
      [{ memberMailboxId: bo.id, rights: [] }, 400, null],
      [{ memberMailboxId: bo.id, rights: ['read', 'admin'] }, 400, null],
      [{ memberMailboxId: bo.id, reason: '   ' }, 400, /reason is required/],
      [{ memberMailboxId: bo.id, expiresAt: new Date(Date.now() - 1000).toISOString() }, 400, /future/],
      [{ memberMailboxId: bo.id, expiresAt: 'next tuesday' }, 400, /ISO 8601/],
      [{ memberMailboxId: billing.id }, 400, /itself/],
      [{ memberMailboxId: bo.id, extra: true }, 400, null],
      [{ memberMailboxId: 'mbx_000000000000000000000000' }, 404, null],
    ];
    for (const [body, status, message] of cases) {
      const r = await grant(billing.id, body);
      expect(r.status, JSON.stringify([body, r.body])).toBe(status);
      if (message) expect((r.body as unknown as { error: { message: string } }).error.message).toMatch(message);
    }
    expect((await grant(billing.id, { memberMailboxId: bo.id })).status).toBe(201);
    expect((await grant(billing.id, { memberMailboxId: bo.id })).status).toBe(409);
    // The helpdesk role reads who has access but cannot grant it (mailboxes.share).
    const helpdesk = await t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'helpdesk', role: 'helpdesk' } });
    expect((await t.call('GET', `/api/v1/mailboxes/${billing.id}/access`, { token: helpdesk.body.token })).status).toBe(200);
    const cy = await mailbox('cy');
    const denied = await grant(billing.id, { memberMailboxId: cy.id }, helpdesk.body.token);
    expect(denied.status).toBe(403);
    expect((denied.body as unknown as { error: { message: string } }).error.message).toMatch(/mailboxes.share/);
    const g = (await t.call<Grant[]>('GET', `/api/v1/mailboxes/${billing.id}/access`, { token: a.token })).body[0]!;
    expect((await t.call('PATCH', `/api/v1/access/${g.id}`, { token: helpdesk.body.token, body: { rights: ['read'] } })).status).toBe(403);
    expect((await t.call('DELETE', `/api/v1/access/${g.id}`, { token: helpdesk.body.token })).status).toBe(403);
    expect((await t.call('PATCH', `/api/v1/access/${g.id}`, { token: a.token, body: {} })).status).toBe(400);
  });

  it('refuses a mailbox of another tenant in either position (404), for the tenant and for an operator', async () => {
    const shared = await mailbox('sales');
    const foreign = await provisionMailbox(t, b.domainId, 'spy', {}, b.token);
    expect((await grant(shared.id, { memberMailboxId: foreign.id })).status).toBe(404);
    expect((await grant(foreign.id, { memberMailboxId: shared.id })).status).toBe(404);
    expect((await grant(shared.id, { memberMailboxId: foreign.id }, t.operatorToken)).status).toBe(404);
    expect((await grant(foreign.id, { memberMailboxId: shared.id }, t.operatorToken)).status).toBe(404);
    expect((await t.call('GET', `/api/v1/mailboxes/${shared.id}/access`, { token: b.token })).status).toBe(404);
  });
});

describe('audit and rollback', () => {
  it('audits each change with before/after and rolls back a change, a removal and a grant', async () => {
    const info = await mailbox('info');
    const dan = await mailbox('dan');
    const heard = listen(dan.id);
    const g = (await grant(info.id, { memberMailboxId: dan.id, rights: ['read', 'seen', 'write'] })).body;
    await t.call('PATCH', `/api/v1/access/${g.id}`, { token: a.token, body: { rights: ['read'], reason: 'read only from now on' } });
    const [change] = await events(info.id, 'mailbox.access.change');
    expect(change!.before).toMatchObject({ member: 'dan@client.example', access: { grantId: g.id, rights: ['read', 'seen', 'write'] } });
    expect(change!.after).toMatchObject({ member: 'dan@client.example', access: { rights: ['read'], reason: 'read only from now on' } });
    const [created] = await events(info.id, 'mailbox.access.grant');
    expect(created!.before).toMatchObject({ access: null });

    // Roll back the change: the rights come back.
    const r1 = await t.call<Grant[]>('POST', `/api/v1/mailboxes/${info.id}/access/rollback`, { token: a.token, body: { eventId: change!.id } });
    expect(r1.status, JSON.stringify(r1.body)).toBe(200);
    expect(r1.body.map((x) => x.rights)).toEqual([['read', 'seen', 'write']]);
    expect(heard.at(-1)?.kind).toBe('changed');

    // Remove, then roll the removal back: the grant comes back (same id), the member is told.
    await t.call('DELETE', `/api/v1/access/${g.id}`, { token: a.token });
    const [revoke] = await events(info.id, 'mailbox.access.revoke');
    const r2 = await t.call<Grant[]>('POST', `/api/v1/mailboxes/${info.id}/access/rollback`, { token: a.token, body: { eventId: revoke!.id, reason: 'removed by mistake' } });
    expect(r2.body.map((x) => [x.id, x.member, x.rights])).toEqual([[g.id, 'dan@client.example', ['read', 'seen', 'write']]]);
    expect(heard.at(-1)?.kind).toBe('granted');
    const rb = (await events(info.id, 'mailbox.access.rollback')).at(-1);
    expect(rb!.after).toMatchObject({ rolledBackEventId: revoke!.id, access: { grantId: g.id } });
    expect(rb!.reason).toBe('removed by mistake');

    // Roll back the creation: the grant is gone again.
    const r3 = await t.call<Grant[]>('POST', `/api/v1/mailboxes/${info.id}/access/rollback`, { token: a.token, body: { eventId: created!.id } });
    expect(r3.body).toEqual([]);
    expect(heard.at(-1)?.kind).toBe('revoked');

    // An event that recorded no access state cannot be rolled back; another tenant's mailbox is 404.
    const [suspendless] = await events(info.id, 'mailbox.create');
    expect((await t.call('POST', `/api/v1/mailboxes/${info.id}/access/rollback`, { token: a.token, body: { eventId: suspendless!.id } })).status).toBe(400);
    expect((await t.call('POST', `/api/v1/mailboxes/${info.id}/access/rollback`, { token: b.token, body: { eventId: change!.id } })).status).toBe(404);
  });
});

describe('expiry, lifecycle and what the serving layer sees', () => {
  it('an expired grant stops serving at once and the sweeper ends it, audited as the system', async () => {
    const desk = await mailbox('desk');
    const eve = await mailbox('eve');
    const heard = listen(eve.id);
    const g = (await grant(desk.id, { memberMailboxId: eve.id, expiresAt: new Date(Date.now() + 3600_000).toISOString() })).body;
    expect(await t.core.grants.grantOf(desk.id, eve.id)).not.toBeNull();
    t.advance(2 * 3600_000);
    expect(await t.core.grants.grantOf(desk.id, eve.id)).toBeNull();
    expect((await t.call<Grant>('GET', `/api/v1/access/${g.id}`, { token: a.token })).body.live).toBe(false);
    expect(await sweepExpiredGrants(systemActor('grant-expiry'), t.core)).toBe(1);
    expect(await sweepExpiredGrants(systemActor('grant-expiry'), t.core)).toBe(0);
    expect((await t.call('GET', `/api/v1/access/${g.id}`, { token: a.token })).status).toBe(404);
    expect(heard.at(-1)).toEqual({ mailboxId: desk.id, memberMailboxId: eve.id, kind: 'revoked' });
    const [expired] = await events(desk.id, 'mailbox.access.expire');
    expect(expired!.actor).toMatchObject({ type: 'system', id: 'grant-expiry' });
    expect(expired!.before).toMatchObject({ member: 'eve@client.example', access: { grantId: g.id } });
  });

  it('suspending the shared mailbox ends every member access (told at once); resuming gives it back', async () => {
    const team = await mailbox('team');
    const fay = await mailbox('fay');
    const gus = await mailbox('gus');
    const heardFay = listen(fay.id);
    const heardGus = listen(gus.id);
    await grant(team.id, { memberMailboxId: fay.id });
    await grant(team.id, { memberMailboxId: gus.id });
    expect((await t.call('POST', `/api/v1/mailboxes/${team.id}/suspend`, { token: a.token, body: { reason: 'audit' } })).status).toBe(200);
    await expect.poll(() => heardGus.at(-1)?.kind).toBe('revoked');
    expect(heardFay.at(-1)).toEqual({ mailboxId: team.id, memberMailboxId: fay.id, kind: 'revoked' });
    expect(await t.core.grants.forMember(fay.id)).toEqual([]);
    expect((await t.call('POST', `/api/v1/mailboxes/${team.id}/resume`, { token: a.token, body: {} })).status).toBe(200);
    await expect.poll(() => heardFay.at(-1)?.kind).toBe('granted');
    expect((await t.core.grants.forMember(fay.id)).map((g) => g.mailboxAddress)).toEqual(['team@client.example']);
  });

  it('in a cluster, a change made on one node reaches the listeners of the other (topic grants)', async () => {
    const hub = new LocalHub();
    const [nodeA, nodeB] = [new DbGrantsServing(t.core.db, null, t.core.now), new DbGrantsServing(t.core.db, null, t.core.now)];
    nodeA.joinCluster(new LocalNotifier('a', hub));
    nodeB.joinCluster(new LocalNotifier('b', hub));
    const lab = await mailbox('lab');
    const ray = await mailbox('ray');
    const onB: GrantChange[] = [];
    nodeB.onChange(ray.id, (c) => onB.push(c));
    await createGrant(systemActor('test'), { ...t.core, grants: nodeA }, lab.id, { memberMailboxId: ray.id, rights: ['read'], reason: 'cluster' });
    await expect.poll(() => onB).toEqual([{ mailboxId: lab.id, memberMailboxId: ray.id, kind: 'granted' }]);
    expect((await nodeB.forMember(ray.id)).map((g) => g.mailboxAddress)).toEqual(['lab@client.example']);
  });

  it('touch records use at most once a minute per grant', async () => {
    const ops = await mailbox('ops');
    const hal = await mailbox('hal');
    const g = (await grant(ops.id, { memberMailboxId: hal.id })).body;
    t.core.grants.touch(g.id);
    await expect.poll(async () => (await t.call<Grant>('GET', `/api/v1/access/${g.id}`, { token: a.token })).body.lastUsedAt).not.toBeNull();
    const first = (await t.call<Grant>('GET', `/api/v1/access/${g.id}`, { token: a.token })).body.lastUsedAt;
    t.advance(10_000);
    t.core.grants.touch(g.id);
    await new Promise((r) => setTimeout(r, 50));
    expect((await t.call<Grant>('GET', `/api/v1/access/${g.id}`, { token: a.token })).body.lastUsedAt).toBe(first);
    t.advance(60_000);
    t.core.grants.touch(g.id);
    await expect.poll(async () => (await t.call<Grant>('GET', `/api/v1/access/${g.id}`, { token: a.token })).body.lastUsedAt).not.toBe(first);
  });
});

describe('ownership answer and sharing report', () => {
  it('the ownership answer lists everyone with access next to the owner of record', async () => {
    const hr = await mailbox('hr');
    const ivy = await mailbox('ivy');
    await grant(hr.id, { memberMailboxId: ivy.id, rights: ['read', 'send'], seenPerMember: true });
    const own = await t.call('GET', `/api/v1/mailboxes/${hr.id}/ownership`, { token: a.token });
    expect(own.status).toBe(200);
    expect(own.body.access).toEqual([{ member: 'ivy@client.example', memberMailboxId: ivy.id, rights: ['read', 'send'], grantedBy: 'Agency Client admin', expiresAt: null, seenPerMember: true }]);
  });

  it('reports shared mailboxes with members, stale and expiring grants', async () => {
    const rep = await mailbox('reports');
    const jo = await mailbox('jo');
    const kim = await mailbox('kim');
    const soon = new Date(t.core.now() + 5 * DAY).toISOString();
    const gJo = (await grant(rep.id, { memberMailboxId: jo.id, expiresAt: soon })).body;
    const gKim = (await grant(rep.id, { memberMailboxId: kim.id, rights: ['read', 'send'] })).body;
    t.advance(40 * DAY);
    t.core.grants.touch(gKim.id); // kim used it today: not stale
    await expect.poll(async () => (await t.call<Grant>('GET', `/api/v1/access/${gKim.id}`, { token: a.token })).body.lastUsedAt).not.toBeNull();
    t.advance(-40 * DAY);
    const r = await t.call('GET', `/api/v1/tenants/${a.tenantId}/reports/sharing?staleDays=30&expiringDays=14`, { token: a.token });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const entry = r.body.sharedMailboxes.find((s: { address: string }) => s.address === 'reports@client.example');
    expect(entry.members.map((m: Grant) => m.member)).toEqual(['jo@client.example', 'kim@client.example']);
    expect(r.body.expiring.map((g: Grant) => g.id)).toContain(gJo.id);
    expect(r.body.stale.map((g: Grant) => g.id)).not.toContain(gJo.id); // created today
    t.advance(40 * DAY);
    const later = await t.call('GET', `/api/v1/tenants/${a.tenantId}/reports/sharing?staleDays=30`, { token: a.token });
    const staleIds = later.body.stale.map((g: Grant) => g.id);
    expect(staleIds).not.toContain(gKim.id);
    expect(later.body.summary.sendAs).toBeGreaterThanOrEqual(1);
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/reports/sharing?staleDays=0`, { token: a.token })).status).toBe(400);
    expect((await t.call('GET', `/api/v1/tenants/${a.tenantId}/reports/sharing`, { token: b.token })).status).toBe(404);
    await sweepExpiredGrants(systemActor('grant-expiry'), t.core); // jo's grant has expired meanwhile
    t.advance(-40 * DAY);
  });
});

describe('offboarding and shared mailboxes', () => {
  it('plans memberships as residual paths, apply removes them, verify proves none is left, undo restores them', async () => {
    const queue = await mailbox('queue');
    const leo = await mailbox('leo', { owner: { name: 'Leo Leaver', email: 'leo.home@home.example' }, resetDestination: 'leo.home@home.example' });
    const heard = listen(leo.id);
    const g = (await grant(queue.id, { memberMailboxId: leo.id, rights: ['read', 'send'] })).body;
    const plan = await t.call('POST', `/api/v1/mailboxes/${leo.id}/offboarding/plan`, { token: a.token, body: {} });
    expect(plan.body.paths).toContainEqual({ kind: 'membership', id: g.id, description: 'leo@client.example has access to the shared mailbox queue@client.example (read, send)' });
    const applied = await t.call('POST', `/api/v1/mailboxes/${leo.id}/offboarding/apply`, { token: a.token, body: { reason: 'left the company' } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.remaining).toEqual([]);
    expect(heard.at(-1)).toEqual({ mailboxId: queue.id, memberMailboxId: leo.id, kind: 'revoked' });
    expect((await t.call('GET', `/api/v1/mailboxes/${leo.id}/shared-access`, { token: a.token })).body).toEqual([]);
    const verify = await t.call('POST', `/api/v1/mailboxes/${leo.id}/offboarding/verify`, { token: a.token });
    expect(verify.body).toMatchObject({ ok: true, paths: [] });
    const [revoked] = await events(queue.id, 'mailbox.access.revoke');
    expect(revoked!.reason).toMatch(/offboarding of leo@client.example/);

    const undone = await t.call('POST', `/api/v1/mailboxes/${leo.id}/offboarding/undo`, { token: a.token, body: { reason: 'came back' } });
    expect(undone.status, JSON.stringify(undone.body)).toBe(200);
    const back = await t.call<Grant[]>('GET', `/api/v1/mailboxes/${leo.id}/shared-access`, { token: a.token });
    expect(back.body.map((x) => [x.id, x.mailbox, x.rights])).toEqual([[g.id, 'queue@client.example', ['read', 'send']]]);
    expect(heard.at(-1)).toEqual({ mailboxId: queue.id, memberMailboxId: leo.id, kind: 'granted' });
  });

  it('convert to shared hands the mailbox to named members; a member of another tenant is 404', async () => {
    const mia = await mailbox('mia', { owner: { name: 'Mia Leaver', email: 'mia.home@home.example' }, resetDestination: 'mia.home@home.example' });
    const ned = await mailbox('ned');
    const ola = await mailbox('ola');
    const foreign = await provisionMailbox(t, b.domainId, 'outsider', {}, b.token);
    const heard = listen(ned.id);
    const body = (members: unknown) => ({ reason: 'left; team keeps her mail', convertTo: 'shared', transferTo: { name: 'Pat Manager', email: 'pat.manager@home.example' }, members });
    const refused = await t.call('POST', `/api/v1/mailboxes/${mia.id}/offboarding/apply`, { token: a.token, body: body([{ mailboxId: foreign.id, rights: ['read'] }]) });
    expect(refused.status).toBe(404);
    const wrongMode = await t.call('POST', `/api/v1/mailboxes/${mia.id}/offboarding/apply`, { token: a.token, body: { reason: 'x', members: [{ mailboxId: ned.id, rights: ['read'] }] } });
    expect(wrongMode.status).toBe(400);
    const applied = await t.call('POST', `/api/v1/mailboxes/${mia.id}/offboarding/apply`, {
      token: a.token,
      body: body([
        { mailboxId: ned.id, rights: ['read', 'seen', 'send'] },
        { mailboxId: ola.id, rights: ['read'], seenPerMember: true },
      ]),
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const members = await t.call<Grant[]>('GET', `/api/v1/mailboxes/${mia.id}/access`, { token: a.token });
    expect(members.body.map((g) => [g.member, g.rights, g.seenPerMember]).sort()).toEqual([
      ['ned@client.example', ['read', 'seen', 'send'], false],
      ['ola@client.example', ['read'], true],
    ]);
    expect(heard.at(-1)).toEqual({ mailboxId: mia.id, memberMailboxId: ned.id, kind: 'granted' });
    expect((await t.core.grants.forMember(ned.id)).map((g) => g.mailboxAddress)).toEqual(['mia@client.example']);
    expect((await t.call('POST', `/api/v1/mailboxes/${mia.id}/offboarding/verify`, { token: a.token })).body).toMatchObject({ ok: true });
    // Undo takes the members' access away again.
    await t.call('POST', `/api/v1/mailboxes/${mia.id}/offboarding/undo`, { token: a.token, body: { reason: 'stays after all' } });
    expect((await t.call('GET', `/api/v1/mailboxes/${mia.id}/access`, { token: a.token })).body).toEqual([]);
    expect(heard.at(-1)?.kind).toBe('revoked');
  });
});

describe('owners managing their own sharing (IMAP SETACL/DELETEACL)', () => {
  it('refuses unless the tenant policy allows it; then audits it like an API change with the owner as actor', async () => {
    const pam = await mailbox('pam');
    const quinn = await mailbox('quinn');
    const owner = { mailboxId: pam.id, tenantId: a.tenantId };
    await expect(setGrantByOwner(t.core, owner, { memberAddress: quinn.address, rights: ['read'] })).rejects.toMatchObject({ code: 'Forbidden' });
    const policy = await t.call('PUT', `/api/v1/tenants/${a.tenantId}/access-policy`, { token: a.token, body: { ownersManageSharing: true, reason: 'owners share' } });
    expect(policy.status).toBe(200);
    expect(policy.body.ownersManageSharing).toBe(true);
    const foreign = await provisionMailbox(t, b.domainId, 'stranger', {}, b.token);
    await expect(setGrantByOwner(t.core, owner, { memberAddress: foreign.address, rights: ['read'] })).rejects.toMatchObject({ code: 'NotFound' });

    const heard = listen(quinn.id);
    const g = await setGrantByOwner(t.core, owner, { memberAddress: 'QUINN@client.example', rights: ['read', 'write'] });
    expect(g).toMatchObject({ member: 'quinn@client.example', rights: ['read', 'write'], grantedBy: 'pam@client.example (owner)' });
    expect(heard.at(-1)?.kind).toBe('granted');
    await setGrantByOwner(t.core, owner, { memberAddress: quinn.address, rights: ['read'] });
    expect(heard.at(-1)?.kind).toBe('changed');
    const [change] = await events(pam.id, 'mailbox.access.change');
    expect(change!.actor).toMatchObject({ type: 'mailbox-owner', id: `mailbox:${pam.id}` });
    expect(change!.before).toMatchObject({ access: { rights: ['read', 'write'] } });
    expect(change!.after).toMatchObject({ access: { rights: ['read'] } });
    expect(await removeGrantByOwner(t.core, owner, { memberAddress: quinn.address })).toBe(true);
    expect(heard.at(-1)?.kind).toBe('revoked');
    expect(await removeGrantByOwner(t.core, owner, { memberAddress: quinn.address })).toBe(false);
    await t.call('PUT', `/api/v1/tenants/${a.tenantId}/access-policy`, { token: a.token, body: { ownersManageSharing: false } });
  });
});
