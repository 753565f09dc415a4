/**
 * The access repositories hold the wall by construction (issue 14): a tenant scope neither
 * reads nor changes another tenant's principals, tokens, sessions or setup links, and never
 * sees operators or operator tokens (tenant_id null); the platform scope sees them all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completePrincipalSetup, invitePrincipal } from '../../appliance/core/access/principals.service.js';
import { loginPrincipal } from '../../appliance/core/access/sessions.service.js';
import { createOperatorToken, createTenantToken } from '../../appliance/core/access/tokens.service.js';
import { createCoreDeps, type CoreDeps } from '../../appliance/core/deps.js';
import { publicActor, systemActor } from '../../appliance/core/kernel/authz.js';
import { PLATFORM_SCOPE, tenantScope } from '../../appliance/core/kernel/scope.js';
import { createTenant } from '../../appliance/core/portfolio/tenants.service.js';
import { repos } from '../../appliance/db/repos/index.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

const PASSWORD = 'Correct-Horse-Battery-9';

describe('access repositories: tenant scope by construction', () => {
  let t: TestCore;
  let deps: CoreDeps;
  const ids = { a: '', b: '', adminA: '', adminB: '', operator: '', tokenA: '', tokenB: '', operatorToken: '' };

  async function activePrincipal(tenantId: string | null, email: string): Promise<string> {
    const p = await invitePrincipal(systemActor(), deps, tenantId, { name: email.split('@')[0]!, email });
    await completePrincipalSetup(publicActor(), deps, p.setup.token, PASSWORD);
    return p.id;
  }

  beforeAll(async () => {
    t = await createTestCore();
    deps = createCoreDeps(t.db, t.config);
    ids.a = (await createTenant(systemActor(), deps, { name: 'Tenant A' })).id;
    ids.b = (await createTenant(systemActor(), deps, { name: 'Tenant B' })).id;
    ids.adminA = await activePrincipal(ids.a, 'admin@a.example');
    ids.adminB = await activePrincipal(ids.b, 'admin@b.example');
    ids.operator = await activePrincipal(null, 'operator@platform.example');
    ids.tokenA = (await createTenantToken(systemActor(), deps, ids.a, { name: 'a' })).id;
    ids.tokenB = (await createTenantToken(systemActor(), deps, ids.b, { name: 'b' })).id;
    ids.operatorToken = (await createOperatorToken(systemActor(), deps, { name: 'ops' })).id;
    // Principals without TOTP log in to enrol it: each gets a live session.
    for (const email of ['admin@a.example', 'admin@b.example', 'operator@platform.example']) await loginPrincipal(deps, { email, password: PASSWORD }, { sourceIp: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('principals: a tenant sees its own, never another tenant’s or an operator', async () => {
    const a = repos(t.db, tenantScope(ids.a));
    expect((await a.principals.byId(ids.adminA)).email).toBe('admin@a.example');
    await expect(a.principals.byId(ids.adminB)).rejects.toMatchObject({ code: 'NotFound' });
    expect(await a.principals.find(ids.operator)).toBeUndefined();
    expect(await a.principals.byEmail('operator@platform.example')).toBeUndefined();
    expect(await a.principals.list(null, { limit: 100 })).toEqual([]);
    expect((await a.principals.list(ids.b, { limit: 100 })).length).toBe(0);
    expect(await a.principals.activeEmails(ids.b)).toEqual([]);
    const platform = repos(t.db, PLATFORM_SCOPE);
    expect((await platform.principals.list(null, { limit: 100 })).map((p) => p.id)).toEqual([ids.operator]);
  });

  it('principals: a tenant scope changes nothing outside it and cannot insert an operator', async () => {
    const a = repos(t.db, tenantScope(ids.a));
    const platform = repos(t.db, PLATFORM_SCOPE);
    const before = [await platform.principals.byId(ids.adminB), await platform.principals.byId(ids.operator)];
    await a.principals.update(ids.adminB, { name: 'renamed' }, Date.now(), { bumpCredentials: true });
    await a.principals.update(ids.operator, { status: 'disabled' }, Date.now(), { bumpCredentials: true });
    await a.principals.clearCredentials(ids.adminB, Date.now());
    expect([await platform.principals.byId(ids.adminB), await platform.principals.byId(ids.operator)]).toEqual(before);
    // Its own principal it does change.
    const own = await a.principals.byId(ids.adminA);
    await a.principals.update(ids.adminA, { name: 'renamed' }, Date.now(), { bumpCredentials: false });
    expect(await a.principals.byId(ids.adminA)).toMatchObject({ name: 'renamed', credential_version: own.credential_version });
    const now = Date.now();
    const row = { id: 'prn_intruder', kind: 'operator' as const, name: 'x', email: 'x@platform.example', role: null, permissions: '[]', created_by: null, created_at: now, updated_at: now };
    await expect(a.principals.insert({ ...row, tenant_id: null })).rejects.toMatchObject({ code: 'NotFound' });
    await expect(a.principals.insert({ ...row, tenant_id: ids.b })).rejects.toMatchObject({ code: 'NotFound' });
    expect(await platform.principals.find('prn_intruder')).toBeUndefined();
  });

  it('tokens: operator tokens exist for the platform scope only; another tenant’s are out of reach', async () => {
    const a = repos(t.db, tenantScope(ids.a));
    expect(await a.tokens.liveOperatorTokenExists()).toBe(false);
    expect(await repos(t.db, PLATFORM_SCOPE).tokens.liveOperatorTokenExists()).toBe(true);
    await expect(a.tokens.byId(ids.operatorToken)).rejects.toMatchObject({ code: 'NotFound' });
    await expect(a.tokens.byId(ids.tokenB)).rejects.toMatchObject({ code: 'NotFound' });
    expect((await a.tokens.list(null, { limit: 100 }, { now: Date.now() })).length).toBe(0);
    expect((await a.tokens.list(ids.a, { limit: 100 }, { now: Date.now() })).map((x) => x.id)).toEqual([ids.tokenA]);
    await a.tokens.revoke(ids.tokenB, Date.now());
    await a.tokens.revoke(ids.operatorToken, Date.now());
    const platform = repos(t.db, PLATFORM_SCOPE);
    expect((await platform.tokens.byId(ids.tokenB)).revoked_at).toBeNull();
    expect((await platform.tokens.byId(ids.operatorToken)).revoked_at).toBeNull();
  });

  it('sessions and setup links: a tenant scope ends only its own', async () => {
    const a = repos(t.db, tenantScope(ids.a));
    expect(await a.sessions.revokeForPrincipal(ids.adminB, Date.now())).toBe(0);
    expect(await a.sessions.revokeForPrincipal(ids.operator, Date.now())).toBe(0);
    expect(await a.sessions.revokeForPrincipal(ids.adminA, Date.now())).toBe(1);
    expect(await a.setupLinks.voidOperatorLinks(Date.now())).toBe(0);
    expect(await a.setupLinks.openOperatorLinks(Date.now())).toEqual([]);
  });
});
