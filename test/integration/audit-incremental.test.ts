/**
 * Issue 18: the scheduled audit chain verification checks only the events appended since the
 * last verified head (persisted), in bounded batches that yield to the event loop; the full
 * verification (on demand, at boot, daily) still reads the whole chain.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit, auditHash, verifyAuditChain, verifyAuditChainSince } from '../../appliance/core/audit/audit.js';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { createTestApp, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
  await provisionTenant(t, 'Audited', 'audited.example');
});
afterEach(async () => t.close());

async function append(n: number): Promise<void> {
  await t.core.db.transaction().execute(async (trx) => {
    for (let i = 0; i < n; i++) await appendAudit(trx, systemActor('test'), { action: 'test.event', targetType: 'test', targetId: String(i), tenantId: null, after: { i } }, Date.now());
  });
}

const headSeq = async () => Number((await t.core.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);

/** Rewrites an event's `after` and its own hash (a forger who recomputes one link): the next link breaks. */
async function forge(id: number): Promise<void> {
  const row = await t.core.db.selectFrom('audit_events').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const { hash: _old, ...rest } = row;
  const forged = { ...rest, after: '{"forged":true}' };
  await t.core.db
    .updateTable('audit_events')
    .set({ after: forged.after, hash: auditHash(row.prev_hash, forged) })
    .where('id', '=', id)
    .execute();
}

describe('incremental audit chain verification', () => {
  it('verifies only the new events, from a persisted checkpoint', async () => {
    const first = await verifyAuditChain(t.core.db);
    expect(first.ok).toBe(true);
    const verified = await headSeq();
    await append(30);
    const r = await verifyAuditChainSince(t.core.db);
    expect(r).toEqual({ ok: true, events: verified + 30 });
    const cp = await t.core.db.selectFrom('settings').select('value').where('key', '=', 'audit.chain.verified').executeTakeFirstOrThrow();
    expect(JSON.parse(cp.value)).toMatchObject({ seq: verified + 30 });
  });

  it('detects a tampered new event (after the checkpoint)', async () => {
    await verifyAuditChain(t.core.db);
    const verified = await headSeq();
    await append(10);
    await t.core.db
      .updateTable('audit_events')
      .set({ after: '{"i":"changed"}' })
      .where('id', '=', verified + 4)
      .execute();
    expect(await verifyAuditChainSince(t.core.db)).toEqual({ ok: false, events: verified + 3, firstBadEventId: verified + 4 });
    // the checkpoint did not move past the break: the next run finds it again
    expect((await verifyAuditChainSince(t.core.db)).firstBadEventId).toBe(verified + 4);
  });

  it('a change inside the verified prefix is found by the next full verification', async () => {
    await append(5);
    await verifyAuditChain(t.core.db);
    await forge(3);
    await append(5);
    // the incremental run reads only the new events (the prefix is the full check's job)
    expect((await verifyAuditChainSince(t.core.db)).ok).toBe(true);
    expect(await verifyAuditChain(t.core.db)).toMatchObject({ ok: false, firstBadEventId: 4 });
  });

  it('detects a change of the last verified event itself', async () => {
    await verifyAuditChain(t.core.db);
    const verified = await headSeq();
    await forge(verified);
    await append(3);
    expect(await verifyAuditChainSince(t.core.db)).toMatchObject({ ok: false, firstBadEventId: verified });
  });

  it('detects an event inserted past the head, and a missing tail', async () => {
    await verifyAuditChain(t.core.db);
    const seq = await headSeq();
    const last = await t.core.db.selectFrom('audit_events').selectAll().where('id', '=', seq).executeTakeFirstOrThrow();
    await t.core.db
      .insertInto('audit_events')
      .values({ ...last, id: seq + 1, prev_hash: last.hash })
      .execute();
    expect(await verifyAuditChain(t.core.db)).toMatchObject({ ok: false, firstBadEventId: seq + 1 });
    await t.core.db.deleteFrom('audit_events').where('id', '>=', seq).execute();
    expect(await verifyAuditChainSince(t.core.db)).toMatchObject({ ok: false });
  });

  it('yields to the event loop between batches of a long chain', async () => {
    await append(1200);
    let turns = 0;
    let done = false;
    const tick = () => {
      if (done) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const r = await verifyAuditChain(t.core.db);
    done = true;
    expect(r.ok).toBe(true);
    // 1,200+ events in batches of 250: other callbacks ran in between (one turn at least per batch)
    expect(turns).toBeGreaterThanOrEqual(4);
  });
});
