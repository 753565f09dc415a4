/**
 * Issue 18, eighth round: a prepared read (appliance/db/repos/prepared.ts) of a readsOffThread
 * handle goes to a reader thread without kysely's executor (sqlite-readers.ts readOffThread):
 * the same rows, one read handed to the readers per call and no connection taken from the
 * driver. Everything else goes through the executor as before: the plain handle, transactions
 * (which must read their own uncommitted writes on the main connection), and PostgreSQL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readsOffThread } from '../../appliance/db/dialect.js';
import { preparedRows } from '../../appliance/db/repos/prepared.js';
import { READERS_OF } from '../../appliance/db/sqlite-readers.js';
import type { Executor } from '../../appliance/db/repos/base.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';
import { testOnPostgres } from '../helpers/database.js';

let t: TestApp;
let mailboxId: string;

beforeAll(async () => {
  t = await createTestApp();
  const ta = await provisionTenant(t, 'Direct A', 'direct-a.example');
  mailboxId = (await provisionMailbox(t, ta.domainId, 'alice')).id;
});
afterAll(async () => t.close());
// the handles share one reader pool (and on PostgreSQL readsOffThread is the handle itself): counts start over per test
afterEach(() => vi.restoreAllMocks());

const byId = (db: Executor, id: string) => preparedRows(db, 'r8ctl.byId', null, [id] as const, (x) => db.selectFrom('mailboxes').select(['id', 'address']).where('id', '=', x));

describe('prepared reads of a readsOffThread handle', () => {
  it('answer the same rows, straight from a reader on SQLite and through the executor on PostgreSQL', async () => {
    const db = readsOffThread(t.core.db);
    const executor = vi.spyOn(db, 'executeQuery');
    const readers = READERS_OF.get(db);
    const reads = readers ? vi.spyOn(readers, 'read') : null;
    for (let i = 0; i < 3; i++) {
      expect(await byId(db, mailboxId)).toEqual([{ id: mailboxId, address: 'alice@direct-a.example' }]);
      expect(await byId(db, 'mbx_none')).toEqual([]);
    }
    if (testOnPostgres()) {
      expect(readers).toBeUndefined();
      expect(executor).toHaveBeenCalledTimes(6);
    } else {
      expect(executor).not.toHaveBeenCalled();
      expect(reads).toHaveBeenCalledTimes(6);
    }
  });

  it('go through the executor on the plain handle', async () => {
    const db = t.core.db;
    const executor = vi.spyOn(db, 'executeQuery');
    expect(await byId(db, mailboxId)).toEqual([{ id: mailboxId, address: 'alice@direct-a.example' }]);
    expect(executor).toHaveBeenCalledTimes(1);
  });

  it('in a transaction, read its own uncommitted writes through the executor', async () => {
    const db = readsOffThread(t.core.db);
    const readers = READERS_OF.get(db);
    const reads = readers ? vi.spyOn(readers, 'read') : null;
    await db
      .transaction()
      .execute(async (trx) => {
        const executor = vi.spyOn(trx, 'executeQuery');
        await trx.updateTable('mailboxes').set({ address: 'renamed@direct-a.example' }).where('id', '=', mailboxId).execute();
        expect(await byId(trx, mailboxId)).toEqual([{ id: mailboxId, address: 'renamed@direct-a.example' }]);
        // the prepared read (the update's builder runs through the executor itself, not this method)
        expect(executor).toHaveBeenCalledTimes(1);
        throw new Error('rolled back');
      })
      .catch((err: Error) => expect(err.message).toBe('rolled back'));
    expect(reads?.mock.calls.length ?? 0).toBe(0);
    // the rollback left the row as it was, and the handle reads it so
    expect(await byId(db, mailboxId)).toEqual([{ id: mailboxId, address: 'alice@direct-a.example' }]);
  });
});
