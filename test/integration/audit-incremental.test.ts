/**
 * Issue 18: the scheduled audit chain verification (at boot too) checks only the events
 * appended since the last verified head (persisted), in bounded batches that yield to the event
 * loop; the full verification (on demand, and scheduled once a day by a persisted date) reads
 * the whole chain — on SQLite on a thread of its own, with one read snapshot.
 */
import { getPriority } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHECK_NICE, lastCheckNice } from '../../appliance/db/audit-chain-thread.js';
import {
  appendAudit,
  AUDIT_CHAIN_COLUMNS,
  AUDIT_GENESIS_HASH,
  auditHash,
  canonicalAuditRow,
  FULL_VERIFY_EVERY_MS,
  verifyAuditChain,
  verifyAuditChainScheduled,
  verifyAuditChainSince,
} from '../../appliance/core/audit/audit.js';
import { PLATFORM_SCOPE } from '../../appliance/core/kernel/scope.js';
import { repos } from '../../appliance/db/repos/index.js';
import { testOnPostgres } from '../helpers/database.js';
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

/** Appends a copy of the head event linked to it, behind the head's back (an insert the chain's head does not know); returns the head's seq. */
async function insertPastHead(): Promise<number> {
  const seq = await headSeq();
  const last = await t.core.db.selectFrom('audit_events').selectAll().where('id', '=', seq).executeTakeFirstOrThrow();
  await t.core.db
    .insertInto('audit_events')
    .values({ ...last, id: seq + 1, prev_hash: last.hash })
    .execute();
  return seq;
}

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
    const seq = await insertPastHead();
    expect(await verifyAuditChain(t.core.db)).toMatchObject({ ok: false, firstBadEventId: seq + 1 });
    await t.core.db.deleteFrom('audit_events').where('id', '>=', seq).execute();
    expect(await verifyAuditChainSince(t.core.db)).toMatchObject({ ok: false });
  });

  it('leaves the event loop free while a long chain is checked (a thread on SQLite, batches on PostgreSQL)', async () => {
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

describe('scheduled verification (boot and timer)', () => {
  it('is incremental after the first full pass, and full again once the persisted date is a day old', async () => {
    await append(5);
    const t0 = Date.now();
    // no checkpoint yet: the whole chain, and the date of that pass is recorded
    expect(await verifyAuditChainScheduled(t.core.db, t0)).toMatchObject({ ok: true, full: true });
    const cp = await t.core.db.selectFrom('settings').select('value').where('key', '=', 'audit.chain.verified').executeTakeFirstOrThrow();
    expect(JSON.parse(cp.value)).toMatchObject({ fullAt: t0 });
    // an edit inside the verified prefix that leaves the hashes inconsistent (not a consistent rewrite)
    await t.core.db.updateTable('audit_events').set({ reason: 'edited' }).where('id', '=', 3).execute();
    await append(2);
    // a restart keeps nothing in memory: the next scheduled runs (the boot's included) read only the new events...
    expect(await verifyAuditChainScheduled(t.core.db, t0 + 60_000)).toMatchObject({ ok: true, full: false });
    expect(await verifyAuditChainScheduled(t.core.db, t0 + FULL_VERIFY_EVERY_MS - 1)).toMatchObject({ ok: true, full: false });
    // ...until the last full pass is a day old: the whole chain again, and the edit is found
    expect(await verifyAuditChainScheduled(t.core.db, t0 + FULL_VERIFY_EVERY_MS)).toMatchObject({ ok: false, full: true, firstBadEventId: 3 });
  });

  it('a consistent rewrite of verified history (every later hash recomputed) is found by the incremental run', async () => {
    await append(4);
    const t0 = Date.now();
    await verifyAuditChainScheduled(t.core.db, t0);
    const seq = await headSeq();
    // rewrite event 2 and re-chain every event after it, head included
    const rows = await t.core.db.selectFrom('audit_events').selectAll().where('id', '>=', 2).orderBy('id').execute();
    let prev = rows[0]!.prev_hash;
    for (const r of rows) {
      const { hash: _h, ...rest } = r;
      const row = { ...rest, prev_hash: prev, ...(Number(r.id) === 2 ? { after: '{"rewritten":true}' } : {}) };
      prev = auditHash(prev, row);
      await t.core.db.updateTable('audit_events').set({ after: row.after, prev_hash: row.prev_hash, hash: prev }).where('id', '=', r.id).execute();
    }
    await t.core.db.updateTable('audit_head').set({ hash: prev }).where('id', '=', 1).execute();
    expect(await verifyAuditChainScheduled(t.core.db, t0 + 60_000)).toMatchObject({ ok: false, full: false, firstBadEventId: seq });
  });
});

describe.skipIf(testOnPostgres())('the chain checked on a thread of its own (SQLite)', () => {
  const offThread = (fromSeq = 0, prev = AUDIT_GENESIS_HASH) => repos(t.core.db, PLATFORM_SCOPE).audit.verifyOffThread(AUDIT_CHAIN_COLUMNS, fromSeq, prev);

  it('reads the columns in the order of the canonical row', async () => {
    await append(1);
    const row = await t.core.db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
    const { hash: _h, ...rest } = row;
    const byColumns = JSON.stringify(AUDIT_CHAIN_COLUMNS.map((c) => (c === 'id' || c === 'at' ? Number(rest[c]) : rest[c])));
    expect(byColumns).toBe(canonicalAuditRow(rest));
  });

  it('answers as the batched check does: a sound chain, an edit, a forged link, a gap, an event past the head', async () => {
    await append(40);
    const seq = await headSeq();
    const sound = await offThread();
    expect(sound).toEqual({ ok: true, events: seq, head: { seq, hash: expect.any(String) } });
    // from a checkpoint: only the rest (a wrong checkpoint hash breaks the next link)
    const at20 = (await t.core.db.selectFrom('audit_events').select('hash').where('id', '=', 20).executeTakeFirstOrThrow()).hash;
    expect(await offThread(20, at20)).toMatchObject({ ok: true, events: seq });
    expect(await offThread(20, AUDIT_GENESIS_HASH)).toEqual({ ok: false, events: 20, firstBadEventId: 21 });

    await t.core.db.updateTable('audit_events').set({ reason: 'edited' }).where('id', '=', 20).execute();
    expect(await offThread()).toEqual({ ok: false, events: 19, firstBadEventId: 20 });
    await t.core.db.updateTable('audit_events').set({ reason: null }).where('id', '=', 20).execute();
    expect(await offThread()).toMatchObject({ ok: true });

    await forge(10);
    expect(await offThread()).toEqual({ ok: false, events: 10, firstBadEventId: 11 });
    expect(await verifyAuditChain(t.core.db)).toEqual({ ok: false, events: 10, firstBadEventId: 11 });
  });

  it.runIf(process.platform === 'linux')('runs at the lowest priority (its own thread only): the serving loop and the readers keep the CPU', async () => {
    await append(3);
    expect(await offThread()).toMatchObject({ ok: true });
    expect(lastCheckNice()).toBe(CHECK_NICE);
    expect(CHECK_NICE).toBe(19);
    expect(getPriority(process.pid)).not.toBe(CHECK_NICE);
  });

  it('finds a deleted event and an event past the head; a long chain takes the thread through verifyAuditChain', async () => {
    await append(1100);
    const seq = await insertPastHead();
    expect(await offThread()).toEqual({ ok: false, events: seq, firstBadEventId: seq + 1 });
    expect(await verifyAuditChain(t.core.db)).toEqual({ ok: false, events: seq, firstBadEventId: seq + 1 });
    await t.core.db
      .deleteFrom('audit_events')
      .where('id', '=', seq + 1)
      .execute();
    await t.core.db.deleteFrom('audit_events').where('id', '=', 700).execute();
    expect(await offThread()).toEqual({ ok: false, events: 699, firstBadEventId: 700 });
    expect(await verifyAuditChain(t.core.db)).toEqual({ ok: false, events: 699, firstBadEventId: 700 });
  });
});
