/**
 * Background jobs of the write queue (issue 18, APPEND in one session): the search index's batch
 * transaction no longer runs whenever it is ready (right after an APPEND's answer, holding up the
 * next command by its whole length) but waits for the next batch with durable jobs and runs in a
 * transaction of its own right after that commit, while its WAL sync runs and the serving loop
 * would only wait. A drain runs a waiting one at once. The real queue over a real database; the
 * WAL sync is the real one, held back by a gate so the order is observable.
 */
import { sql, type Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitDurability } from '../../appliance/db/dialect.js';
import type { DB } from '../../appliance/db/schema.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { testOnPostgres } from '../helpers/database.js';

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('write queue: background jobs', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await createTestCore();
    await sql`create table if not exists background_probe (name text)`.execute(core.db);
  });
  afterAll(async () => core?.close());

  it.skipIf(testOnPostgres())('runs a background job right after the next durable commit, in its own transaction, while that commit is synced', async () => {
    const queue = core.store.queue;
    const durability = (queue as unknown as { durability: CommitDurability | null }).durability!;
    const realSync = durability.sync.bind(durability);
    const gates: Array<() => void> = [];
    durability.sync = () => new Promise<void>((resolve) => gates.push(resolve)).then(realSync);
    const events: string[] = [];
    let durableTrx: Transaction<DB> | null = null;
    let backgroundTrx: Transaction<DB> | null = null;
    try {
      const background = queue.run(
        async ({ trx }) => {
          backgroundTrx = trx;
          await sql`insert into background_probe values ('background')`.execute(trx);
          events.push('background written');
        },
        { background: true },
      );
      await turns(50);
      expect(events).toEqual([]); // waiting for a durable batch
      const durable = queue.run(async ({ trx }) => {
        durableTrx = trx;
        await sql`insert into background_probe values ('durable')`.execute(trx);
        events.push('durable written');
      });
      void durable.then(() => events.push('durable answered'));
      await background;
      expect(gates.length).toBe(1); // the durable batch's sync is still held
      expect(events).toEqual(['durable written', 'background written']);
      expect(backgroundTrx).not.toBe(durableTrx);
      gates[0]!();
      await durable;
      expect(events).toEqual(['durable written', 'background written', 'durable answered']);
    } finally {
      durability.sync = realSync;
      for (const g of gates) g();
    }
  });

  it('runs a waiting background job when the queue is drained', async () => {
    const queue = core.store.queue;
    let ran = false;
    const background = queue.run(
      async ({ trx }) => {
        await sql`insert into background_probe values ('drained')`.execute(trx);
        ran = true;
      },
      { background: true },
    );
    await queue.drain();
    expect(ran).toBe(true);
    await background;
    const rows = await sql<{ name: string }>`select name from background_probe where name = 'drained'`.execute(core.db);
    expect(rows.rows).toHaveLength(1);
  });
});
