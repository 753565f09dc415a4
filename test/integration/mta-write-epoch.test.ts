/**
 * The write epoch behind the answers Haraka keeps (DKIM keys, hosted domains, outbound routes;
 * appliance/db/sqlite-readers.ts `mtaWriteEpoch`, mta-plugins/shared/kept.ts): every write to
 * domains, dkim_keys or outbound_routes moves it, through any handle and any kind of statement,
 * the last move after the commit; a transaction that writes other tables (the mail store's
 * batches: begin, savepoints, commit) does not, or Haraka would drop its answers on every message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlite, readsOffThread, type OpenedDatabase } from '../../appliance/db/dialect.js';
import { mtaWriteEpoch } from '../../appliance/db/repos/index.js';

// scratch tables with the names the epoch watches, outside the schema's types
type Scratch = { domains: { id: number; status: string }; dkim_keys: { id: number; status: string }; notes: { id: number; body: string } };

describe('the MTA write epoch', () => {
  let dir: string;
  let opened: OpenedDatabase;
  let main: Kysely<Scratch>;
  let epoch: NonNullable<ReturnType<typeof mtaWriteEpoch>>;
  const moves: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postern-mta-epoch-'));
    opened = openSqlite(path.join(dir, 'test.db'));
    main = opened.db as unknown as Kysely<Scratch>;
    for (const t of ['domains', 'dkim_keys']) await sql`create table ${sql.table(t)} (id integer primary key, status text not null)`.execute(main);
    await sql`create table notes (id integer primary key, body text not null)`.execute(main);
    epoch = mtaWriteEpoch(opened.db)!;
    epoch.onMove((e) => moves.push(e));
  });

  afterAll(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not move for transactions, savepoints and writes of other tables', async () => {
    const before = epoch.current();
    await main.transaction().execute(async (t) => {
      await sql`savepoint job`.execute(t);
      await t.insertInto('notes').values({ id: 1, body: 'a message row' }).execute();
      await sql`release savepoint job`.execute(t);
    });
    await main.insertInto('notes').values({ id: 2, body: 'another' }).execute();
    await readsOffThread(opened.db as never)
      .selectFrom('domains' as never)
      .selectAll()
      .execute();
    expect(epoch.current()).toBe(before);
  });

  it('moves for every write to a watched table, the last time after the commit, and tells the listener each time', async () => {
    const start = epoch.current();
    let inside = 0;
    await main.transaction().execute(async (t) => {
      await t.insertInto('domains').values({ id: 1, status: 'active' }).execute();
      inside = epoch.current();
      expect(inside).toBeGreaterThan(start);
    });
    expect(epoch.current()).toBeGreaterThan(inside);
    expect(moves.at(-1)).toBe(epoch.current());

    for (const write of [
      () => main.updateTable('dkim_keys').set({ status: 'retired' }).execute(),
      () => main.deleteFrom('domains').where('id', '=', 1).execute(),
      () => sql`update domains set status = 'disabled'`.execute(main),
      () =>
        readsOffThread(opened.db as never)
          .insertInto('dkim_keys' as never)
          .values({ id: 7, status: 'active' } as never)
          .execute(),
    ]) {
      const before = epoch.current();
      await write();
      expect(epoch.current()).toBeGreaterThan(before);
      expect(moves.at(-1)).toBe(epoch.current());
    }
  });
});
