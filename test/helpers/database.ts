/**
 * The database a test opens: SQLite in the test's data dir by default, or a fresh PostgreSQL
 * database on the run's private server when POSTERN_TEST_PG_URL is set (`npm run test:pg`,
 * vitest.pg.config.ts). Migrated either way; `close()` also drops the PostgreSQL database.
 */
import pg from 'pg';
import { type OpenedDatabase, openPostgres, openSqlite } from '../../appliance/db/dialect.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { createTestDatabase } from './postgres.js';

/** True when this run's tests use PostgreSQL. */
export function testOnPostgres(): boolean {
  return !!process.env.POSTERN_TEST_PG_URL;
}

/** The database URL a test appliance (child process) should get, or undefined on SQLite. */
export async function testDatabaseUrl(prefix = 'postern'): Promise<string | undefined> {
  return testOnPostgres() ? createTestDatabase(prefix) : undefined;
}

async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: process.env.POSTERN_TEST_PG_URL });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}

export async function openTestDatabase(sqliteFile: string, opts: { migrate?: boolean; prefix?: string } = {}): Promise<OpenedDatabase & { url: string | null }> {
  let opened: OpenedDatabase;
  let url: string | null = null;
  if (testOnPostgres()) {
    url = await createTestDatabase(opts.prefix ?? 'postern');
    opened = openPostgres(url, { applicationName: 'postern-test' });
  } else {
    opened = openSqlite(sqliteFile);
  }
  if (opts.migrate !== false) await migrateToLatest(opened.db);
  const dbUrl = url;
  return {
    ...opened,
    url: dbUrl,
    async close() {
      await opened.close();
      if (dbUrl) await dropDatabase(dbUrl).catch(() => undefined);
    },
  };
}
