/**
 * SQLite reads off the serving thread (issue 18, appliance/db/sqlite-readers.ts): a
 * `readsOffThread` handle runs its SELECTs outside transactions on reader threads, everything
 * else on the one main connection. Checked on a real database file: reads see every committed
 * write (read-your-writes), a read is not queued behind an open transaction of the main
 * connection (so it did not run there), a transaction's own reads see its uncommitted rows,
 * BLOBs come back as Buffers, SQL errors keep their code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlite, readsOffThread, type OpenedDatabase } from '../../appliance/db/dialect.js';

// a scratch table outside the schema's types
type Scratch = { notes: { id: number; body: string; data: Buffer | null } };

describe('SQLite reads off the serving thread', () => {
  let dir: string;
  let opened: OpenedDatabase;
  let main: Kysely<Scratch>;
  let reading: Kysely<Scratch>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postern-readers-'));
    opened = openSqlite(path.join(dir, 'test.db'));
    main = opened.db as unknown as Kysely<Scratch>;
    reading = readsOffThread(opened.db) as unknown as Kysely<Scratch>;
    await sql`create table notes (id integer primary key, body text not null, data blob)`.execute(main);
  });

  afterAll(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a read sees every write committed before it', async () => {
    for (let i = 1; i <= 20; i++) {
      await main
        .insertInto('notes')
        .values({ id: i, body: `note ${i}`, data: null })
        .execute();
      const row = await reading.selectFrom('notes').select(['id', 'body']).where('id', '=', i).executeTakeFirst();
      expect(row).toEqual({ id: i, body: `note ${i}` });
    }
    await reading.updateTable('notes').set({ body: 'changed' }).where('id', '=', 1).execute();
    expect(await reading.selectFrom('notes').select('body').where('id', '=', 1).executeTakeFirstOrThrow()).toEqual({ body: 'changed' });
  });

  it('a read is not queued behind an open transaction of the main connection, and does not see its rows', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const insertedP = new Promise<void>((resolve) => (inserted = resolve));
    const trx = main.transaction().execute(async (t) => {
      await t.insertInto('notes').values({ id: 100, body: 'uncommitted', data: null }).execute();
      inserted();
      await held;
    });
    await insertedP;
    // on the main connection this read would wait for the transaction (kysely's mutex) and see row 100
    const during = await reading.selectFrom('notes').select('id').where('id', '=', 100).execute();
    expect(during).toEqual([]);
    // the plain handle does queue behind it
    let plainDone = false;
    const plain = main
      .selectFrom('notes')
      .select('id')
      .where('id', '=', 100)
      .execute()
      .then((rows) => ((plainDone = true), rows));
    await new Promise((r) => setTimeout(r, 50));
    expect(plainDone).toBe(false);
    release();
    await trx;
    expect(await plain).toEqual([{ id: 100 }]);
    expect(await reading.selectFrom('notes').select('id').where('id', '=', 100).execute()).toEqual([{ id: 100 }]);
  });

  it("a transaction's reads run on its own connection and see its uncommitted rows", async () => {
    const seen = await reading.transaction().execute(async (t) => {
      await t.insertInto('notes').values({ id: 200, body: 'mine', data: null }).execute();
      return t.selectFrom('notes').select('body').where('id', '=', 200).executeTakeFirst();
    });
    expect(seen).toEqual({ body: 'mine' });
    await expect(
      reading.transaction().execute(async (t) => {
        await t.insertInto('notes').values({ id: 201, body: 'rolled back', data: null }).execute();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await reading.selectFrom('notes').select('id').where('id', '=', 201).execute()).toEqual([]);
  });

  it('answers the same row objects as the main connection: columns in order, nulls, numbers, BLOBs, a repeated name', async () => {
    await main
      .insertInto('notes')
      .values([
        { id: 400, body: 'first', data: Buffer.from('ab') },
        { id: 401, body: 'second', data: null },
      ])
      .execute();
    const query = (db: Kysely<Scratch>) =>
      db
        .selectFrom('notes as n')
        .innerJoin('notes as m', 'm.id', 'n.id')
        .select(['n.id', 'n.body', 'n.data', sql<number>`n.id * 2`.as('twice'), 'm.body as body'])
        .where('n.id', '>=', 400)
        .orderBy('n.id')
        .execute();
    const fromReader = await query(reading);
    // inside a transaction: the main connection's own objects
    const fromMain = await reading.transaction().execute((t) => query(t));
    expect(fromReader).toEqual(fromMain);
    expect(fromReader.map((r) => Object.keys(r))).toEqual(fromMain.map((r) => Object.keys(r)));
    expect(fromReader[0]).toEqual({ id: 400, body: 'first', data: Buffer.from('ab'), twice: 800 });
    expect(Buffer.isBuffer(fromReader[0]!.data)).toBe(true);
    expect(fromReader[1]!.data).toBeNull();
  });

  it('BLOBs come back as Buffers; errors keep their message and code', async () => {
    await main
      .insertInto('notes')
      .values({ id: 300, body: 'bytes', data: Buffer.from([0, 1, 2, 255]) })
      .execute();
    const row = await reading.selectFrom('notes').select('data').where('id', '=', 300).executeTakeFirstOrThrow();
    expect(Buffer.isBuffer(row.data)).toBe(true);
    expect([...row.data!]).toEqual([0, 1, 2, 255]);
    const byBlob = await reading
      .selectFrom('notes')
      .select('id')
      .where('data', '=', Buffer.from([0, 1, 2, 255]))
      .execute();
    expect(byBlob).toEqual([{ id: 300 }]);
    const err = await (reading as unknown as Kysely<{ missing: { id: number } }>)
      .selectFrom('missing')
      .select('id')
      .execute()
      .catch((e: Error & { code?: string }) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/no such table: missing/);
    expect((err as { code?: string }).code).toBe('SQLITE_ERROR');
  });

  it('many concurrent reads all answer, in order of their own results', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => (i % 20) + 1);
    const rows = await Promise.all(ids.map((id) => reading.selectFrom('notes').select('id').where('id', '=', id).executeTakeFirstOrThrow()));
    expect(rows.map((r) => r.id)).toEqual(ids);
  });
});
