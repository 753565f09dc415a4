/**
 * Issue 18, eleventh round: `preparedRows` (appliance/db/repos/prepared.ts) runs about a dozen
 * times per ownership answer. A marked read of a readsOffThread handle now answers with the reader's
 * own promise (no async wrapper, no await per read), the cache is found without a key string made
 * per call, and what it answered before is unchanged: the same rows per scope tenant, a compiled
 * shape never shared between two tenants' scopes, a failure to build as a rejected promise, and a
 * full cache that starts over.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readsOffThread } from '../../appliance/db/dialect.js';
import { preparedRows } from '../../appliance/db/repos/prepared.js';
import { READERS_OF } from '../../appliance/db/sqlite-readers.js';
import type { Executor } from '../../appliance/db/repos/base.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';
import { testOnPostgres } from '../helpers/database.js';

let t: TestApp;
let a: { tenantId: string; mailboxId: string };
let b: { tenantId: string; mailboxId: string };

beforeAll(async () => {
  t = await createTestApp();
  const ta = await provisionTenant(t, 'Rows A', 'rows-a.example');
  const tb = await provisionTenant(t, 'Rows B', 'rows-b.example');
  a = { tenantId: ta.tenantId, mailboxId: (await provisionMailbox(t, ta.domainId, 'alice')).id };
  b = { tenantId: tb.tenantId, mailboxId: (await provisionMailbox(t, tb.domainId, 'bob')).id };
});
afterAll(async () => t.close());
afterEach(() => vi.restoreAllMocks());

/** The mailbox `id` as a scope of `tenant` reads it (the tenant compiled in as a constant, as `scoped()` does). */
function inScope(db: Executor, tenant: string | null, id: string) {
  return preparedRows(db, 'r11ctl.inScope', tenant, [id] as const, (x) => {
    const q = db.selectFrom('mailboxes').select(['id', 'address']).where('id', '=', x);
    return tenant === null ? q : q.where('tenant_id', '=', tenant);
  });
}

describe('preparedRows', () => {
  it("answers a reader's read with the reader's own promise on SQLite", async () => {
    const db = readsOffThread(t.core.db);
    const readers = READERS_OF.get(db);
    if (testOnPostgres() || !readers) return;
    const read = readers.read.bind(readers);
    const handed: Array<Promise<unknown>> = [];
    vi.spyOn(readers, 'read').mockImplementation((sql, params) => {
      const p = read(sql, params);
      handed.push(p);
      return p;
    });
    const answer = inScope(db, a.tenantId, a.mailboxId);
    expect(handed).toHaveLength(1);
    expect(answer).toBe(handed[0]);
    expect(await answer).toEqual([{ id: a.mailboxId, address: 'alice@rows-a.example' }]);
  });

  it('keeps one compiled shape per scope tenant: a scope never reads another tenant’s rows', async () => {
    for (const db of [t.core.db, readsOffThread(t.core.db)]) {
      for (let i = 0; i < 2; i++) {
        expect(await inScope(db, a.tenantId, a.mailboxId)).toEqual([{ id: a.mailboxId, address: 'alice@rows-a.example' }]);
        expect(await inScope(db, b.tenantId, a.mailboxId)).toEqual([]);
        expect(await inScope(db, b.tenantId, b.mailboxId)).toEqual([{ id: b.mailboxId, address: 'bob@rows-b.example' }]);
        expect(await inScope(db, null, a.mailboxId)).toEqual([{ id: a.mailboxId, address: 'alice@rows-a.example' }]);
      }
    }
  });

  it('answers a failure to build the query as a rejected promise, not a throw', async () => {
    const db = readsOffThread(t.core.db);
    const failing = () =>
      preparedRows(db, 'r11ctl.failing', null, ['x'] as const, (x: string) => {
        throw new Error(`no such shape ${x}`);
      });
    let answer: Promise<unknown> | undefined;
    expect(() => (answer = failing())).not.toThrow();
    await expect(answer).rejects.toThrow('no such shape');
  });

  it('starts over when the cache is full, with the same answers after', async () => {
    // the cache is the same code on both engines: 2,100 round trips are asked of SQLite only
    if (testOnPostgres()) return;
    const db = readsOffThread(t.core.db);
    // more shapes than the cache holds (2,000 per handle)
    for (let i = 0; i < 2100; i++) {
      const rows = await preparedRows(db, `r11ctl.fill.${i}`, null, [a.mailboxId] as const, (x) => db.selectFrom('mailboxes').select('id').where('id', '=', x));
      expect(rows).toEqual([{ id: a.mailboxId }]);
    }
    expect(await inScope(db, b.tenantId, a.mailboxId)).toEqual([]);
    expect(await inScope(db, a.tenantId, a.mailboxId)).toEqual([{ id: a.mailboxId, address: 'alice@rows-a.example' }]);
  }, 60_000);
});
