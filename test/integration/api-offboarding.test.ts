/**
 * Offboarding through the API with the real credential module: the plan finds every kind of
 * leftover planted for a departing person, apply closes them in order (each step audited),
 * verify reports zero residual paths, undo within the grace period restores the recorded state.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { sha256Hex } from '../../appliance/core/kernel/ids.js';
import { RecipientRouter } from '../../appliance/core/delivery/routing.js';
import { createLogger } from '../../appliance/logger.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

const PASSWORD = 'Correct-Horse-42-Battery';
let t: TestApp;
let creds: CredentialService;
let a: { tenantId: string; domainId: string; token: string };

beforeAll(async () => {
  t = await createTestApp({ revoker: (db) => (creds = new CredentialService(db, createLogger('silent', { pretty: false }))), credentials: () => creds });
  a = await provisionTenant(t, 'Offboard Co', 'off.example');
  await t.call('PUT', `/api/v1/tenants/${a.tenantId}/access-policy`, { token: a.token, body: { externalForwarding: true } });
});
afterAll(async () => t?.close());

async function mailbox(localPart: string, extra: Record<string, unknown> = {}) {
  const mb = await provisionMailbox(t, a.domainId, localPart, extra, a.token);
  expect((await t.call('POST', `/api/v1/setup/${mb.setup.token}`, { token: null, body: { password: PASSWORD } })).status).toBe(204);
  return mb;
}
const ok = async (p: Promise<{ status: number; body: any }>, status = 201) => {
  const r = await p;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
};
const login = (address: string, password = PASSWORD) => creds.verifyLogin({ username: address, password, protocol: 'imap', remoteAddress: '127.0.0.1' });

/** A departing person with one leftover of every kind; returns what was planted. */
async function plant(prefix: string) {
  const home = `${prefix}.home@home.example`;
  const leaver = await mailbox(prefix, { owner: { name: 'Leaving Person', email: home }, resetDestination: home });
  const colleague = await mailbox(`${prefix}-colleague`);
  const successor = await mailbox(`${prefix}-successor`);
  // A live reset link (admin reset by email: no mailer here, the link still lives) and a pending emergency reset.
  await ok(t.call('POST', `/api/v1/mailboxes/${leaver.id}/resets`, { token: a.token, body: { kind: 'admin', reason: 'plant a live link' } }));
  await ok(
    t.call('POST', `/api/v1/mailboxes/${leaver.id}/resets`, {
      token: a.token,
      body: { kind: 'emergency', reason: 'plant', verification: { method: 'in-person', evidence: 'badge checked at the desk' }, newResetDestination: `${prefix}.new@home.example` },
    }),
  );
  // Sessions: IMAP/SMTP (a revocation listener, as the servers register) and the self-service console.
  let closedWith = '';
  expect((await login(leaver.address)).ok).toBe(true);
  creds.onRevoke(leaver.id, (reason) => (closedWith = reason));
  expect((await t.call('POST', '/api/v1/self/login', { token: null, body: { address: leaver.address, password: PASSWORD } })).status).toBe(200);
  const app = await ok(t.call('POST', `/api/v1/mailboxes/${leaver.id}/app-passwords`, { token: a.token, body: { name: 'Phone', scopes: ['imap', 'smtp'] } }));
  // The person's console account and an API token tied to it.
  const principal = await ok(t.call('POST', `/api/v1/tenants/${a.tenantId}/principals`, { token: a.token, body: { name: 'Leaving Person', email: leaver.address } }));
  const tokenSecret = `pst_${randomBytes(24).toString('base64url')}`;
  await t.core.db
    .insertInto('api_tokens')
    .values({
      id: `tok_${randomBytes(12).toString('hex')}`,
      tenant_id: a.tenantId,
      principal_id: principal.id,
      name: 'personal script',
      token_hash: sha256Hex(tokenSecret),
      role: null,
      permissions: JSON.stringify(['mailboxes.read']),
      read_only: 0,
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
      created_by: principal.id,
      created_at: Date.now(),
    })
    .execute();
  // Forwards out (external) and in; an alias, send-as both ways, dependents, a catch-all.
  const fwdOut = await ok(t.call('POST', `/api/v1/mailboxes/${leaver.id}/forwards`, { token: a.token, body: { target: home, reason: 'reads mail at home' } }));
  const fwdIn = await ok(t.call('POST', `/api/v1/mailboxes/${colleague.id}/forwards`, { token: a.token, body: { target: leaver.address } }));
  // An internal forward out to a colleague of the same tenant: still a copy of the person's mail.
  const fwdInternal = await ok(t.call('POST', `/api/v1/mailboxes/${leaver.id}/forwards`, { token: a.token, body: { target: colleague.address, reason: 'covers while away' } }));
  const alias = await ok(t.call('POST', `/api/v1/domains/${a.domainId}/aliases`, { token: a.token, body: { localPart: `${prefix}-team`, targets: [leaver.address, colleague.address] } }));
  const grantFrom = await ok(t.call('POST', `/api/v1/mailboxes/${leaver.id}/send-as`, { token: a.token, body: { address: `${prefix}-sales@off.example` } }));
  const grantTo = await ok(t.call('POST', `/api/v1/mailboxes/${colleague.id}/send-as`, { token: a.token, body: { address: leaver.address } }));
  const resetDependent = await mailbox(`${prefix}-intern`, { resetDestination: leaver.address });
  const ownedDependent = await mailbox(`${prefix}-project`, { owner: { name: 'Leaving Person', email: home } });
  await ok(t.call('PUT', `/api/v1/domains/${a.domainId}/catch-all`, { token: a.token, body: { target: leaver.address } }), 200);
  return { home, leaver, colleague, successor, app, principal, tokenSecret, fwdOut, fwdIn, fwdInternal, alias, grantFrom, grantTo, resetDependent, ownedDependent, closed: () => closedWith };
}

const ALL_KINDS = [
  'alias',
  'api-token',
  'app-password',
  'catch-all',
  'console-session',
  'forward',
  'login',
  'ownership',
  'principal',
  'reset',
  'reset-destination',
  'send-as',
  'session',
  'setup-link',
];

describe('offboarding', () => {
  it('plan finds every planted leftover; apply closes them in order; verify reports zero; undo restores', async () => {
    const p = await plant('leaver');
    const plan = await ok(t.call('POST', `/api/v1/mailboxes/${p.leaver.id}/offboarding/plan`, { token: a.token, body: { ownerLeaves: true } }), 200);
    expect([...new Set(plan.paths.map((x: { kind: string }) => x.kind))].sort()).toEqual(ALL_KINDS);
    const ids = (kind: string) =>
      plan.paths
        .filter((x: { kind: string }) => x.kind === kind)
        .map((x: { id: string }) => x.id)
        .sort();
    expect(ids('forward')).toEqual([p.fwdIn.id, p.fwdOut.id, p.fwdInternal.id].sort());
    expect(plan.paths.find((x: { kind: string; id: string }) => x.kind === 'forward' && x.id === p.fwdInternal.id).description).toContain(p.colleague.address);
    expect(ids('send-as')).toEqual([p.grantFrom.id, p.grantTo.id].sort());
    expect(ids('alias')).toEqual([p.alias.id]);
    expect(ids('reset-destination')).toEqual([p.resetDependent.id, p.ownedDependent.id].sort());
    expect(ids('ownership')).toEqual([p.ownedDependent.id]);
    expect(ids('principal')).toEqual([p.principal.id]);
    expect(plan.paths.find((x: { kind: string; id: string }) => x.kind === 'forward' && x.id === p.fwdOut.id).description).toMatch(/external/);

    // The plan changed nothing; apply needs a person to transfer dependents to.
    expect((await login(p.leaver.address)).ok).toBe(true);
    const noTransfer = await t.call('POST', `/api/v1/mailboxes/${p.leaver.id}/offboarding/apply`, {
      token: a.token,
      body: { reason: 'left the company', ownerLeaves: true, successor: p.successor.address },
    });
    expect(noTransfer.status).toBe(400);
    expect(noTransfer.body.error.details.field).toBe('transferTo');

    const applied = await ok(
      t.call('POST', `/api/v1/mailboxes/${p.leaver.id}/offboarding/apply`, {
        token: a.token,
        body: {
          reason: 'left the company',
          ownerLeaves: true,
          convertTo: 'disabled',
          successor: p.successor.address,
          transferTo: { name: 'Mia Manager', email: 'mia.manager@home.example' },
          forwards: 'repoint',
          autoReply: { subject: 'I have left', text: 'Please write to my successor.' },
          retainUntil: new Date(Date.now() + 365 * 86_400_000).toISOString(),
        },
      }),
      200,
    );
    expect(applied.remaining).toEqual([]);
    expect(applied.offboarding.steps.map((s: { action: string }) => s.action)).toEqual([
      'offboarding.apply',
      'offboarding.disable',
      'offboarding.revoke',
      'offboarding.forwards',
      'offboarding.addresses',
      'offboarding.send_as',
      'offboarding.transfer',
      'offboarding.convert',
      'offboarding.auto_reply',
      'offboarding.retention',
    ]);
    expect(applied.offboarding.autoReply).toMatchObject({ subject: 'I have left', engine: 'postern' });
    const verify = await ok(t.call('POST', `/api/v1/mailboxes/${p.leaver.id}/offboarding/verify`, { token: a.token }), 200);
    expect(verify).toMatchObject({ ok: true, paths: [] });

    // The effects, seen from the outside.
    expect(p.closed()).toMatch(/offboarded/);
    expect((await login(p.leaver.address)).ok).toBe(false);
    expect((await login(p.leaver.address, p.app.password)).ok).toBe(false);
    expect((await t.call('GET', '/api/v1/tenants', { token: p.tokenSecret })).status).toBe(401);
    const router = new RecipientRouter(t.core.db);
    expect(await router.resolve(p.leaver.address)).toMatchObject({ ok: false, refusal: 'disabled' });
    expect((await t.call('GET', `/api/v1/aliases/${p.alias.id}`, { token: a.token })).body.targets.sort()).toEqual([p.colleague.address, p.successor.address].sort());
    expect(await router.resolve(`nobody-${randomBytes(3).toString('hex')}@off.example`)).toMatchObject({ ok: true, via: 'catch-all', mailboxes: [{ address: p.successor.address }] });
    const fwds = await t.call('GET', `/api/v1/mailboxes/${p.colleague.id}/forwards`, { token: a.token });
    expect(fwds.body.map((f: { target: string }) => f.target)).toEqual([p.successor.address]);
    // Forwards out of the leaver's mailbox are removed, not re-pointed.
    expect((await t.call('GET', `/api/v1/mailboxes/${p.leaver.id}/forwards`, { token: a.token })).body).toEqual([]);
    expect((await t.call('GET', `/api/v1/mailboxes/${p.resetDependent.id}`, { token: a.token })).body.resetDestination).toBe('mia.manager@home.example');
    expect((await t.call('GET', `/api/v1/mailboxes/${p.ownedDependent.id}`, { token: a.token })).body.owner.email).toBe('mia.manager@home.example');
    expect((await t.call('POST', `/api/v1/mailboxes/${p.leaver.id}/resets`, { token: a.token, body: { kind: 'admin', reason: 'x' } })).status).toBe(409);
    const audit = await t.call('GET', `/api/v1/audit/events?targetId=${p.leaver.id}&action=offboarding.*&limit=100`, { token: a.token });
    expect(audit.body).toHaveLength(10);
    expect(audit.body.every((e: { reason: string }) => e.reason === 'left the company')).toBe(true);

    // Undo within the grace period.
    const undone = await ok(t.call('POST', `/api/v1/mailboxes/${p.leaver.id}/offboarding/undo`, { token: a.token, body: { reason: 'wrong person' } }), 200);
    expect(undone.offboarding.status).toBe('undone');
    expect(undone.notRestored.join(' ')).toMatch(/app passwords/);
    expect((await t.call('GET', `/api/v1/mailboxes/${p.leaver.id}`, { token: a.token })).body.status).toBe('active');
    expect((await login(p.leaver.address)).ok).toBe(true);
    expect(await router.resolve(p.leaver.address)).toMatchObject({ ok: true, mailboxes: [{ address: p.leaver.address }] });
    expect((await t.call('GET', `/api/v1/aliases/${p.alias.id}`, { token: a.token })).body.targets.sort()).toEqual([p.colleague.address, p.leaver.address].sort());
    expect((await t.call('GET', `/api/v1/mailboxes/${p.colleague.id}/forwards`, { token: a.token })).body.map((f: { target: string }) => f.target)).toEqual([p.leaver.address]);
    expect((await t.call('GET', `/api/v1/mailboxes/${p.leaver.id}/send-as`, { token: a.token })).body.map((g: { id: string }) => g.id)).toEqual([p.grantFrom.id]);
    expect((await t.call('GET', `/api/v1/mailboxes/${p.leaver.id}/forwards`, { token: a.token })).body.map((f: { id: string }) => f.id).sort()).toEqual([p.fwdOut.id, p.fwdInternal.id].sort());
    expect((await t.call('GET', `/api/v1/mailboxes/${p.resetDependent.id}`, { token: a.token })).body.resetDestination).toBe(p.leaver.address);
    expect((await t.call('GET', `/api/v1/mailboxes/${p.ownedDependent.id}`, { token: a.token })).body.owner.email).toBe(p.home);
    expect((await t.call('GET', `/api/v1/domains/${a.domainId}`, { token: a.token })).body.catchAll).toBe(p.leaver.address);
    expect((await t.call('GET', '/api/v1/audit/verify')).body.ok).toBe(true);
    await t.call('PUT', `/api/v1/domains/${a.domainId}/catch-all`, { token: a.token, body: { target: null } });
  });

  it('convert to an alias of a successor: the address delivers to the successor; undo gives it back', async () => {
    const ann = await mailbox('ann', { owner: { name: 'Ann', email: 'ann.home@home.example' }, resetDestination: 'ann.home@home.example' });
    const succ = await mailbox('ann-successor');
    const applied = await ok(t.call('POST', `/api/v1/mailboxes/${ann.id}/offboarding/apply`, { token: a.token, body: { reason: 'left', convertTo: 'alias', successor: succ.address } }), 200);
    expect(applied.remaining).toEqual([]);
    expect(applied.offboarding.identities).toEqual(['ann.home@home.example']);
    const router = new RecipientRouter(t.core.db);
    expect(await router.resolve(ann.address)).toMatchObject({ ok: true, via: 'alias', mailboxes: [{ address: succ.address }] });
    expect((await login(ann.address)).ok).toBe(false);
    expect((await t.call('POST', `/api/v1/mailboxes/${ann.id}/offboarding/verify`, { token: a.token })).body.ok).toBe(true);
    await ok(t.call('POST', `/api/v1/mailboxes/${ann.id}/offboarding/undo`, { token: a.token, body: { reason: 'came back' } }), 200);
    expect(await router.resolve(ann.address)).toMatchObject({ ok: true, via: 'mailbox', mailboxes: [{ address: ann.address }] });
    expect((await login(ann.address)).ok).toBe(true);
  });

  it('convert to shared: keeps receiving, no direct login, owned by the named person; verify is clean', async () => {
    const home = 'sam.home@home.example';
    const sam = await mailbox('sam', { owner: { name: 'Sam', email: home }, resetDestination: home });
    await ok(t.call('POST', `/api/v1/mailboxes/${sam.id}/forwards`, { token: a.token, body: { target: home, reason: 'home' } }));
    const applied = await ok(
      t.call('POST', `/api/v1/mailboxes/${sam.id}/offboarding/apply`, {
        token: a.token,
        body: { reason: 'left', convertTo: 'shared', transferTo: { name: 'Mia Manager', email: 'mia.manager@home.example' } },
      }),
      200,
    );
    expect(applied.remaining).toEqual([]);
    const m = (await t.call('GET', `/api/v1/mailboxes/${sam.id}`, { token: a.token })).body;
    expect(m).toMatchObject({ status: 'active', isRole: true, owner: { email: 'mia.manager@home.example' }, resetDestination: 'mia.manager@home.example' });
    expect((await login(sam.address)).ok).toBe(false);
    expect(await new RecipientRouter(t.core.db).resolve(sam.address)).toMatchObject({ ok: true, mailboxes: [{ address: sam.address }] });
    expect((await t.call('POST', `/api/v1/mailboxes/${sam.id}/offboarding/verify`, { token: a.token })).body).toMatchObject({ ok: true, paths: [] });
    expect((await t.call('POST', `/api/v1/mailboxes/${sam.id}/app-passwords`, { token: a.token, body: { name: 'x', scopes: ['imap'] } })).status).toBe(409);
  });

  it('refuses bad options (400), needs mailboxes.offboard (403), hides other tenants (404), and undo ends with the grace period (409)', async () => {
    const tom = await mailbox('tom');
    expect((await t.call('POST', `/api/v1/mailboxes/${tom.id}/offboarding/apply`, { token: a.token, body: { reason: 'x', convertTo: 'alias' } })).status).toBe(400);
    expect((await t.call('POST', `/api/v1/mailboxes/${tom.id}/offboarding/apply`, { token: a.token, body: { reason: 'x', successor: tom.address } })).status).toBe(400);
    const hd = await ok(t.call('POST', `/api/v1/tenants/${a.tenantId}/tokens`, { token: a.token, body: { name: 'hd', role: 'helpdesk' } }));
    expect((await t.call('POST', `/api/v1/mailboxes/${tom.id}/offboarding/apply`, { token: hd.token, body: { reason: 'x' } })).status).toBe(403);
    expect((await t.call('POST', `/api/v1/mailboxes/${tom.id}/offboarding/plan`, { token: hd.token, body: {} })).status).toBe(200);
    const b = await provisionTenant(t, 'Other Offboard', 'other-off.example');
    expect((await t.call('POST', `/api/v1/mailboxes/${tom.id}/offboarding/plan`, { token: b.token, body: {} })).status).toBe(404);
    expect((await t.call('POST', `/api/v1/mailboxes/${tom.id}/offboarding/apply`, { token: b.token, body: { reason: 'x' } })).status).toBe(404);
    await ok(t.call('POST', `/api/v1/mailboxes/${tom.id}/offboarding/apply`, { token: a.token, body: { reason: 'left' } }), 200);
    expect((await t.call('POST', `/api/v1/mailboxes/${tom.id}/offboarding/apply`, { token: a.token, body: { reason: 'again' } })).status).toBe(409);
    expect((await t.call('GET', `/api/v1/mailboxes/${tom.id}/offboarding`, { token: a.token })).body.status).toBe('applied');
    t.advance(31 * 86_400_000);
    expect((await t.call('POST', `/api/v1/mailboxes/${tom.id}/offboarding/undo`, { token: a.token, body: { reason: 'too late' } })).status).toBe(409);
  });
});
