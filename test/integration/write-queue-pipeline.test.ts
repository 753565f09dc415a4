/**
 * The write queue's pipelined group commit on SQLite (issue 18, write-queue.ts): the next batch's
 * transaction is written while the previous batch's WAL sync runs, and no job is answered before
 * the sync that covers its commit (batches answered in commit order). The real queue over a real
 * database; the WAL sync itself is the real one, held back by a gate so the order is observable.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitDurability } from '../../appliance/db/dialect.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { testOnPostgres } from '../helpers/database.js';

describe.skipIf(testOnPostgres())('write queue: WAL sync pipelined with the next batch', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await createTestCore();
  });
  afterAll(async () => core?.close());

  it('writes batch B while batch A waits for its sync; A is answered first, each only after its own sync', async () => {
    const queue = core.store.queue;
    const durability = (queue as unknown as { durability: CommitDurability | null }).durability!;
    expect(durability).not.toBeNull();
    const realSync = durability.sync.bind(durability);
    const gates: Array<() => void> = [];
    let syncsDone = 0;
    durability.sync = () =>
      new Promise<void>((resolve) => gates.push(resolve)).then(realSync).then(() => {
        syncsDone++;
      });
    const events: string[] = [];
    try {
      await sql`create table if not exists pipeline_probe (name text)`.execute(core.db);
      const a = queue.run(async ({ trx }) => {
        await sql`insert into pipeline_probe values ('a')`.execute(trx);
        events.push('A written');
      });
      void a.then(() => events.push(`A answered after ${syncsDone} sync(s)`));
      for (let i = 0; gates.length < 1 && i < 1000; i++) await new Promise((r) => setImmediate(r));
      expect(gates.length).toBe(1);
      // A is committed and its sync is held: B's transaction must still run.
      const b = queue.run(async ({ trx }) => {
        await sql`insert into pipeline_probe values ('b')`.execute(trx);
        events.push('B written');
      });
      void b.then(() => events.push(`B answered after ${syncsDone} sync(s)`));
      // Bounded: without pipelining B's transaction waits for A's sync, which is held.
      for (let i = 0; gates.length < 2 && i < 1000; i++) await new Promise((r) => setImmediate(r));
      expect(events).toEqual(['A written', 'B written']);
      // B's sync finishing first changes nothing: A is answered first, B after both.
      gates[1]!();
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      expect(events).toEqual(['A written', 'B written']);
      gates[0]!();
      await Promise.all([a, b]);
      expect(events).toEqual(['A written', 'B written', 'A answered after 2 sync(s)', 'B answered after 2 sync(s)']);
      const rows = await sql<{ name: string }>`select name from pipeline_probe order by name`.execute(core.db);
      expect(rows.rows.map((r) => r.name)).toEqual(['a', 'b']);
    } finally {
      durability.sync = realSync;
      for (const g of gates) g();
    }
  });

  it('answers a non-durable job (the \\Recent claim) at commit even when batched with durable jobs whose sync is held', async () => {
    const queue = core.store.queue;
    const durability = (queue as unknown as { durability: CommitDurability | null }).durability!;
    const realSync = durability.sync.bind(durability);
    const gates: Array<() => void> = [];
    durability.sync = () => new Promise<void>((resolve) => gates.push(resolve)).then(realSync);
    const events: string[] = [];
    try {
      await sql`create table if not exists pipeline_probe2 (name text)`.execute(core.db);
      // queued in the same turn: one batch, one transaction
      const durable = queue.run(async ({ trx }) => {
        await sql`insert into pipeline_probe2 values ('durable')`.execute(trx);
      });
      const hint = queue.run(
        async ({ trx }) => {
          await sql`insert into pipeline_probe2 values ('hint')`.execute(trx);
        },
        { durable: false },
      );
      void durable.then(() => events.push('durable answered'));
      void hint.then(() => events.push('hint answered'));
      for (let i = 0; gates.length < 1 && i < 1000; i++) await new Promise((r) => setImmediate(r));
      expect(gates.length).toBe(1);
      expect(queue.maxBatch).toBeGreaterThanOrEqual(2);
      await hint;
      expect(events).toEqual(['hint answered']);
      gates[0]!();
      await durable;
      expect(events).toEqual(['hint answered', 'durable answered']);
    } finally {
      durability.sync = realSync;
      for (const g of gates) g();
    }
  });
});
