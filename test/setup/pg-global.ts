/**
 * Global setup of the PostgreSQL run (vitest.pg.config.ts): one private PostgreSQL 15 on
 * loopback for the whole run (test/helpers/postgres.ts), its URL handed to the workers as
 * POSTERN_TEST_PG_URL; every test app or core then opens its own fresh database on it.
 * The server and its data dir are removed when the run ends.
 */
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let server: TestPostgres | undefined;

export async function setup(): Promise<void> {
  server = await startPostgres();
  process.env.POSTERN_TEST_PG_URL = server.url('postgres');
}

export async function teardown(): Promise<void> {
  await server?.destroy();
}
