/**
 * Bulk at scale through the API: a 10,000-row CSV is planned and applied all-or-nothing in
 * seconds (time printed), a second apply and a replayed request create nothing, and a rollback
 * leaves no active mailbox. Also the benchmark case runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mailer } from '../../appliance/core/delivery/mailer.js';
import { benchBulk } from '../../scripts/bench/bulk.js';
import { createTestApp, provisionTenant, type TestApp } from '../helpers/app.js';

const N = 10_000;
let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
const delivered: string[] = [];
const mailer: Mailer = {
  async send(_from, to, _subject, text) {
    if (/password\s*[:=]/i.test(text)) throw new Error('a password in a message');
    delivered.push(to);
  },
};

beforeAll(async () => {
  t = await createTestApp({ mailer });
  a = await provisionTenant(t, 'Big Client', 'big-client.example');
  await t.core.db.updateTable('domains').set({ verification: 'verified' }).where('id', '=', a.domainId).execute();
});
afterAll(async () => t?.close());

const csv = [
  'local_part,domain,display_name,owner_name,owner_email',
  ...Array.from({ length: N }, (_, i) => `staff${i}.member,big-client.example,Staff ${i},Staff Owner ${i},owner${i}@client-home.example`),
].join('\n');

async function settle(batchId: string) {
  for (;;) {
    const r = await t.call('GET', `/api/v1/batches/${batchId}`, { token: a.token });
    if (r.body.state !== 'applying') return r.body;
    await new Promise((res) => setTimeout(res, 100));
  }
}

const live = async () =>
  Number(
    (
      await t.core.db
        .selectFrom('mailboxes')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('domain_id', '=', a.domainId)
        .where('status', 'in', ['pending', 'active'])
        .executeTakeFirstOrThrow()
    ).n,
  );

describe(`bulk at ${N} rows`, () => {
  let batchId: string;

  it('plans and applies 10,000 rows in seconds, one delivered link each', async () => {
    const t0 = performance.now();
    const plan = await t.call('POST', `/api/v1/tenants/${a.tenantId}/batches?requestId=big-1`, { token: a.token, raw: csv, headers: { 'content-type': 'text/csv' } });
    const t1 = performance.now();
    expect(plan.status).toBe(201);
    expect(plan.body.plan.totals).toMatchObject({ rows: N, create: N, refused: 0, needsApproval: 0 });
    batchId = plan.body.id;
    const apply = await t.call('POST', `/api/v1/batches/${batchId}/apply`, { token: a.token, body: { mode: 'all-or-nothing' } });
    expect(apply.status).toBe(202);
    const done = await settle(batchId);
    const t2 = performance.now();
    console.log(`bulk ${N} rows: plan ${Math.round(t1 - t0)} ms, apply ${Math.round(t2 - t1)} ms, total ${Math.round(t2 - t0)} ms`);
    expect(done.state, done.error).toBe('applied');
    expect(done.progress).toEqual({ total: N, done: N, percent: 100 });
    expect(done.report).toMatchObject({ created: N, linksDelivered: N, pending: N, failed: 0 });
    expect(await live()).toBe(N);
    expect(new Set(delivered).size).toBe(N);
    // The time is printed, not asserted: throughput is measured by npm run bench (scripts/bench/bulk.ts).
  }, 120_000);

  it('a second apply and a replayed request create nothing', async () => {
    const again = await t.call('POST', `/api/v1/batches/${batchId}/apply`, { token: a.token, body: { mode: 'all-or-nothing' } });
    expect(again.body.state).toBe('applied');
    const replay = await t.call('POST', `/api/v1/tenants/${a.tenantId}/batches?requestId=big-1`, { token: a.token, raw: csv, headers: { 'content-type': 'text/csv' } });
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(batchId);
    // A new request id over the same rows: every row is now taken.
    const fresh = await t.call('POST', `/api/v1/tenants/${a.tenantId}/batches?requestId=big-2`, { token: a.token, raw: csv, headers: { 'content-type': 'text/csv' } });
    expect(fresh.body.plan.totals).toMatchObject({ create: 0, refused: N });
    expect(await live()).toBe(N);
    expect(delivered).toHaveLength(N);
  }, 120_000);

  it('rollback leaves no active mailbox', async () => {
    const t0 = performance.now();
    const res = await t.call('POST', `/api/v1/batches/${batchId}/rollback`, { token: a.token, body: { reason: 'test' } });
    console.log(`bulk ${N} rows: rollback ${Math.round(performance.now() - t0)} ms`);
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('rolled-back');
    expect(await live()).toBe(0);
    const deleted = Number(
      (
        await t.core.db
          .selectFrom('mailboxes')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('domain_id', '=', a.domainId)
          .where('status', '=', 'deleted')
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(deleted).toBe(N);
    const liveLinks = Number(
      (
        await t.core.db
          .selectFrom('setup_tokens')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('tenant_id', '=', a.tenantId)
          .where('used_at', 'is', null)
          .where('expires_at', '>', Date.now())
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(liveLinks).toBe(0);
  }, 120_000);

  it('the benchmark case runs', async () => {
    const r = await benchBulk({ rows: 1000 });
    console.log(`bench bulk: ${JSON.stringify(r)}`);
    expect(r).toMatchObject({ rows: 1000, created: 1000, linksDelivered: 1000 });
  }, 60_000);
});
