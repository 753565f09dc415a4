/**
 * The database's reader threads start with the mail store's warm-up (issue 18, FETCH BODY[] of
 * 1,000 messages cold): every one of them, not only the first. The second used to start at the
 * first two overlapping reads, which a cold FETCH of many bodies was the first to make (its row
 * lookups are read a few batches ahead): that thread booted, loaded the native module and
 * opened the file while the FETCH's reads waited for it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlite, readsOffThread, type OpenedDatabase } from '../../appliance/db/dialect.js';
import { READERS_OF, SqliteReaders } from '../../appliance/db/sqlite-readers.js';
import { createTestCore, type TestCore } from '../helpers/core.js';
import { testOnPostgres } from '../helpers/database.js';

type Scratch = { notes: { id: number; body: string } };

describe('SQLite reader threads started ahead of use', () => {
  let dir: string;
  let opened: OpenedDatabase;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postern-r8read-readers-'));
    opened = openSqlite(path.join(dir, 'test.db'));
    await sql`create table notes (id integer primary key, body text not null)`.execute(opened.db);
    await sql`insert into notes (id, body) values (1, 'one'), (2, 'two')`.execute(opened.db);
  });

  afterAll(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prestart starts every thread of the pool, and reads still answer on them', async () => {
    const readers = new SqliteReaders(path.join(dir, 'test.db'), 3);
    try {
      expect(readers.running).toBe(0);
      readers.prestart();
      expect(readers.running).toBe(3);
      readers.prestart(); // running threads are kept, not started again
      expect(readers.running).toBe(3);
      const answers = await Promise.all([1, 2, 1, 2].map((id) => readers.read('select body from notes where id = ?', [id])));
      expect(answers.map((rows) => rows[0]!.body)).toEqual(['one', 'two', 'one', 'two']);
    } finally {
      await readers.close();
    }
  });

  it('a read handle of the database reaches the same pool', async () => {
    const reading = readsOffThread(opened.db) as unknown as Kysely<Scratch>;
    const readers = READERS_OF.get(reading)!;
    expect(readers).toBe(READERS_OF.get(opened.db));
    expect(await reading.selectFrom('notes').select('body').where('id', '=', 2).executeTakeFirstOrThrow()).toEqual({ body: 'two' });
  });
});

describe.skipIf(testOnPostgres())('the mail store warm-up', () => {
  let core: TestCore;

  beforeAll(async () => {
    core = await createTestCore();
  });
  afterAll(async () => core?.close());

  it('starts every reader thread of the database, not only the first', () => {
    const readers = READERS_OF.get(core.db)!;
    expect(readers.size).toBeGreaterThan(0);
    core.store.warmReads();
    expect(readers.running).toBe(readers.size);
  });
});
