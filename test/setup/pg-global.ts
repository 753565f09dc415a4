/**
 * Global setup of the PostgreSQL run (vitest.pg.config.ts): one private PostgreSQL 15 on
 * loopback for the whole run (test/helpers/postgres.ts), its URL handed to the workers as
 * POSTERN_TEST_PG_URL; every test app or core then opens its own fresh database on it.
 * The databases are copies of a template migrated once here (POSTERN_TEST_PG_TEMPLATE), so a
 * test app or appliance does not run every migration again at start (its own migrateToLatest
 * finds nothing to do). The server and its data dir are removed when the run ends.
 */
import { openPostgres } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let server: TestPostgres | undefined;

export async function setup(): Promise<void> {
  server = await startPostgres();
  const template = await server.createDatabase('postern_template');
  const opened = openPostgres(template, { max: 1 });
  try {
    await migrateToLatest(opened.db);
  } finally {
    await opened.close();
  }
  process.env.POSTERN_TEST_PG_URL = server.url('postgres');
  process.env.POSTERN_TEST_PG_TEMPLATE = new URL(template).pathname.slice(1);
}

export async function teardown(): Promise<void> {
  await server?.destroy();
}
