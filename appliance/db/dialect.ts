/**
 * The only place that knows which SQL dialect runs. SQLite (better-sqlite3, WAL) is the embedded
 * default; PostgreSQL plugs in here later through kysely's PostgresDialect.
 */
import Database from 'better-sqlite3';
import { type CreateTableBuilder, Kysely, SqliteDialect } from 'kysely';
import type { DB } from './schema.js';

export interface OpenedDatabase {
  db: Kysely<DB>;
  /** Closes the connection (checkpointing the WAL). */
  close(): Promise<void>;
}

export function openSqlite(file: string): OpenedDatabase {
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  // FULL: every commit is fsync'd before it returns, so an acknowledged message survives a crash.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -65536');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    db,
    async close() {
      await db.destroy();
    },
  };
}

/** An auto-incrementing integer primary key (SQLite: INTEGER PRIMARY KEY AUTOINCREMENT). */
export function autoIdColumn<T extends string>(builder: CreateTableBuilder<T, never>, name: string) {
  return builder.addColumn(name, 'integer', (c) => c.primaryKey().autoIncrement());
}
