import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.destroy();
});

describe('the migrations on PostgreSQL', () => {
  it('runs every migration on an empty database, and a second run applies nothing', async () => {
    const url = await server.createDatabase('migrations');
    const { db, close } = openPostgres(url);
    try {
      const applied = await migrateToLatest(db);
      expect(applied.length).toBeGreaterThan(10);
      expect(await migrateToLatest(db)).toEqual([]);
    } finally {
      await close();
    }
  });
});
