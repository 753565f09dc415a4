/**
 * Issue 18: reads compiled once per shape and scope (appliance/db/repos/prepared.ts) answer
 * what the query built every time answers, for every tenant scope (a tenant filter compiled in
 * for one tenant is never reused for another), through reader threads and in transactions.
 */
import { DefaultQueryCompiler } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { mailboxOwnership } from '../../appliance/core/portfolio/ownership.service.js';
import { PLATFORM_SCOPE, tenantScope } from '../../appliance/core/kernel/scope.js';
import { readsOffThread } from '../../appliance/db/dialect.js';
import { repos } from '../../appliance/db/repos/index.js';
import { preparedRows } from '../../appliance/db/repos/prepared.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; mailboxId: string };
let b: { tenantId: string; domainId: string; mailboxId: string };

beforeAll(async () => {
  t = await createTestApp();
  const ta = await provisionTenant(t, 'Prepared A', 'prepared-a.example');
  const tb = await provisionTenant(t, 'Prepared B', 'prepared-b.example');
  a = { ...ta, mailboxId: (await provisionMailbox(t, ta.domainId, 'alice')).id };
  b = { ...tb, mailboxId: (await provisionMailbox(t, tb.domainId, 'bob')).id };
});
afterAll(async () => t.close());

describe('prepared reads', () => {
  it('build once per shape and scope, then swap in the values', async () => {
    const db = readsOffThread(t.core.db);
    let builds = 0;
    const byId = (id: string) =>
      preparedRows(db, 'test.byId', null, [id] as const, (x) => {
        builds++;
        return db.selectFrom('mailboxes').select(['id', 'address']).where('id', '=', x);
      });
    expect(await byId(a.mailboxId)).toEqual([{ id: a.mailboxId, address: 'alice@prepared-a.example' }]);
    expect(await byId(b.mailboxId)).toEqual([{ id: b.mailboxId, address: 'bob@prepared-b.example' }]);
    expect(await byId('mbx_none')).toEqual([]);
    expect(builds).toBe(1);
    // a value that cannot be marked runs as built, every time, and is not cached
    const nulls = () => preparedRows(db, 'test.nullable', null, [undefined as unknown as string] as const, (x) => db.selectFrom('mailboxes').select('id').where('id', '=', x));
    expect(await nulls()).toEqual([]);
  });

  it('a tenant scope compiled for one tenant is not reused for another (isolation)', async () => {
    const db = readsOffThread(t.core.db);
    for (let round = 0; round < 2; round++) {
      // the same shape in three scopes, in both orders of first use
      expect((await repos(db, tenantScope(a.tenantId)).mailboxes.find(a.mailboxId))?.id).toBe(a.mailboxId);
      expect(await repos(db, tenantScope(b.tenantId)).mailboxes.find(a.mailboxId)).toBeUndefined();
      expect((await repos(db, tenantScope(b.tenantId)).mailboxes.find(b.mailboxId))?.id).toBe(b.mailboxId);
      expect(await repos(db, tenantScope(a.tenantId)).mailboxes.find(b.mailboxId)).toBeUndefined();
      expect((await repos(db, PLATFORM_SCOPE).mailboxes.find(b.mailboxId))?.id).toBe(b.mailboxId);
    }
    // the ownership reads: the tenant's own answer, nothing of the other tenant's
    const own = repos(db, tenantScope(a.tenantId)).ownership;
    const links = await own.liveSetupLinks(a.mailboxId, Date.now());
    expect(links.length).toBe(1);
    expect(await own.liveSetupLinks(b.mailboxId, Date.now())).toEqual([]);
    expect(await own.liveSetupLinks(a.mailboxId, Date.now() + 365 * 86_400_000)).toEqual([]);
    expect((await own.unrevokedTokens(a.tenantId)).length).toBeGreaterThan(0);
    expect(await own.unrevokedTokens(b.tenantId)).toEqual([]);
    expect(await own.aliasesMentioning(a.tenantId, 'nobody@prepared-a.example')).toEqual([]);
  });

  it("a tenant's list pages (first, next, filtered, sorted) are the rows of the tenant in that order", async () => {
    const db = readsOffThread(t.core.db);
    for (const p of ['carol', 'dave', 'erin', 'info']) await provisionMailbox(t, a.domainId, p);
    const all = await t.core.db.selectFrom('mailboxes').select(['id', 'address', 'status', 'is_role']).where('tenant_id', '=', a.tenantId).where('status', '!=', 'deleted').orderBy('id').execute();
    expect(all.length).toBe(5);
    const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id);
    for (const scope of [tenantScope(a.tenantId), PLATFORM_SCOPE]) {
      const m = repos(db, scope).mailboxes;
      for (let round = 0; round < 2; round++) {
        expect(ids(await m.viewsInTenant(a.tenantId, {}, { limit: 2 }))).toEqual(ids(all.slice(0, 2)));
        expect(ids(await m.viewsInTenant(a.tenantId, {}, { limit: 2, after: all[1]!.id }))).toEqual(ids(all.slice(2, 4)));
        expect((await m.viewsInTenant(a.tenantId, { sort: '-address' }, { limit: 3 })).map((r) => r.address)).toEqual(
          all
            .map((r) => r.address)
            .sort()
            .reverse()
            .slice(0, 3),
        );
        expect(ids(await m.viewsInTenant(a.tenantId, { isRole: true }, { limit: 10 }))).toEqual(ids(all.filter((r) => Number(r.is_role) === 1)));
        expect(ids(await m.viewsInTenant(a.tenantId, { status: 'pending', domainId: a.domainId }, { limit: 10 }))).toEqual(ids(all.filter((r) => r.status === 'pending')));
        expect(await m.viewsInTenant(a.tenantId, { status: 'suspended' }, { limit: 10 })).toEqual([]);
      }
    }
    // another tenant's scope asking for this tenant's rows gets none (the same shapes, compiled for it)
    expect(await repos(db, tenantScope(b.tenantId)).mailboxes.viewsInTenant(a.tenantId, {}, { limit: 2 })).toEqual([]);
    expect(await repos(db, tenantScope(b.tenantId)).mailboxes.viewsInTenant(a.tenantId, { sort: '-address' }, { limit: 3 })).toEqual([]);
  });

  it('the ownership answer compiles no query once its shapes are warm (grants, policy, flags and actor names included)', async () => {
    const core = { ...t.core, db: readsOffThread(t.core.db) };
    const actor = systemActor();
    const first = await mailboxOwnership(actor, core, a.mailboxId);
    expect(first.names).not.toEqual({}); // the provisioning's actor is named
    const compiles = vi.spyOn(DefaultQueryCompiler.prototype, 'compileQuery');
    try {
      expect(await mailboxOwnership(actor, core, a.mailboxId)).toEqual(first);
      expect(compiles.mock.calls.map((c) => c[0].kind)).toEqual([]);
    } finally {
      compiles.mockRestore();
    }
  });

  it('in a transaction, on its connection', async () => {
    await t.core.db.transaction().execute(async (trx) => {
      await trx.updateTable('mailboxes').set({ display_name: 'In the transaction' }).where('id', '=', a.mailboxId).execute();
      expect((await repos(trx, tenantScope(a.tenantId)).mailboxes.find(a.mailboxId))?.display_name).toBe('In the transaction');
    });
  });
});
