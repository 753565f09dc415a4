/**
 * The only place that knows which SQL dialect runs. SQLite (better-sqlite3, WAL) is the embedded
 * default; PostgreSQL (kysely's PostgresDialect over a `pg` pool) is the cluster's shared database.
 */
import Database from 'better-sqlite3';
import { closeSync, openSync } from 'node:fs';
import {
  CompiledQuery,
  type CreateTableBuilder,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  type PostgresDialectConfig,
  PostgresDriver,
  SqliteDialect,
  type SqliteDatabase,
} from 'kysely';
import { AppError } from '../core/kernel/errors.js';
import pg from 'pg';
import type { DB } from './schema.js';
import { WalCheckpointer } from './sqlite-checkpoint.js';
import { fsyncThreads } from './fsync-threads.js';
import { MARK_READS, OffThreadReadsDialect, READERS_OF, SqliteReaders } from './sqlite-readers.js';

export type DialectName = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  db: Kysely<DB>;
  dialect: DialectName;
  /** Closes the connection (checkpointing the WAL) or the pool. */
  close(): Promise<void>;
}

/** Which engine a handle (or a transaction on it) talks to; adapters branch on it, nothing outside appliance/db should. */
export function dialectOf(db: Kysely<any>): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** Prepared statements kept per connection (least recently used dropped beyond this). */
const STATEMENT_CACHE = 1000;

/**
 * better-sqlite3 as kysely's SqliteDialect sees it, with its prepared statements reused by SQL
 * text: kysely prepares every query again otherwise (SQLite parses and plans it each time, a
 * large part of a point read). A statement still iterating (a stream) is never handed out twice:
 * a fresh one is prepared for that call.
 */
function withStatementCache(sqlite: Database.Database): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      const kept = cache.get(sql);
      if (kept && !kept.busy) {
        cache.delete(sql); // most recently used last
        cache.set(sql, kept);
        return kept;
      }
      const stmt = sqlite.prepare(sql);
      if (kept) return stmt; // the kept one is busy: this one serves this call only
      cache.set(sql, stmt);
      if (cache.size > STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
      return stmt;
    },
  };
}

export function openSqlite(file: string): OpenedDatabase {
  const sqlite = new Database(file);
  const mode = sqlite.pragma('journal_mode = WAL', { simple: true });
  // FULL: every commit is fsync'd before it returns, so an acknowledged message survives a crash.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -65536');
  const isWal = String(mode).toLowerCase() === 'wal' && !sqlite.memory;
  // reader threads (started at the first read of a `readsOffThread` handle) need a file in WAL mode
  const readers = isWal ? new SqliteReaders(sqlite.name) : null;
  const settings = { database: withStatementCache(sqlite) };
  const db = new Kysely<DB>({ dialect: readers ? new OffThreadReadsDialect(settings, readers) : new SqliteDialect(settings) });
  const wal = isWal ? new WalSync(`${sqlite.name}-wal`, new WalCheckpointer(sqlite.name, (pages) => sqlite.pragma(`wal_autocheckpoint = ${pages}`))) : null;
  if (wal) walFiles.set(db, wal);
  if (readers) offThreadCapable.add(db);
  if (readers) READERS_OF.set(db, readers);
  return {
    db,
    dialect: 'sqlite',
    async close() {
      await wal?.checkpoints.close();
      await db.destroy();
      wal?.close();
    },
  };
}

/**
 * Commits that do not stop the process while the disk syncs (the mail store's group commit,
 * issue 18). better-sqlite3 runs on the event loop: with synchronous = FULL every commit waits
 * for the WAL's fsync there, and nothing else (IMAP reads, TLS, other sessions) runs meanwhile.
 * `unsynced` runs a transaction on the one connection with synchronous = NORMAL (the commit
 * writes the WAL frames, no fsync) and sets FULL again before the connection is released, so
 * no other writer ever commits unsynced; `sync` then fdatasyncs the WAL file on a sync thread.
 * A caller acknowledges only after `sync` resolved: the commit is then as durable as with FULL
 * (the frames up to the commit record are on disk), and a crash before it loses only what was
 * never acknowledged. Concurrent callers share syncs: one that arrives while a sync runs waits
 * for the next one (which starts after its commit), and callers arriving meanwhile share it.
 */
export interface CommitDurability {
  unsynced<T>(work: (db: Kysely<DB>) => Promise<T>): Promise<T>;
  sync(): Promise<void>;
}

class WalSync {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  /** The WAL file, opened at the first sync and kept: SQLite never replaces it while this process has the database open. */
  private fd: number | null = null;

  constructor(
    readonly walFile: string,
    /** Moves WAL checkpoints off the event loop once the WAL is large (sqlite-checkpoint.ts). */
    readonly checkpoints: WalCheckpointer,
  ) {}

  sync(): Promise<void> {
    if (this.queued) return this.queued;
    const prev = this.running;
    const next = (prev ? prev.catch(() => undefined).then(() => this.datasync()) : this.datasync()).finally(() => {
      if (this.running === next) this.running = null;
    });
    this.running = next;
    if (prev) this.queued = next;
    return next;
  }

  /** One fdatasync of the WAL, on a sync thread. */
  private datasync(): Promise<void> {
    this.queued = null;
    if (this.fd === null) {
      try {
        this.fd = openSync(this.walFile, 'r');
      } catch (err) {
        // No WAL: everything was checkpointed into the (synced) database file.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve();
        return Promise.reject(err);
      }
    }
    const fd = this.fd;
    this.checkpoints.committed(fd);
    return fsyncThreads.fdatasync(fd); // its own thread, not libuv's pool (fsync-threads.ts)
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

const walFiles = new WeakMap<Kysely<DB>, WalSync>();
const offThreadCapable = new WeakSet<Kysely<DB>>();

/**
 * The same database, with its SELECTs outside transactions run on reader threads (SQLite in WAL
 * mode, see sqlite-readers.ts), so a serving loop (the control plane) is not stopped while they
 * run; writes and transactions stay on the one main connection. PostgreSQL (already off this
 * thread) and in-memory SQLite: the handle itself.
 */
export function readsOffThread(db: Kysely<DB>): Kysely<DB> {
  if (!offThreadCapable.has(db)) return db;
  const reading = db.withPlugin(MARK_READS);
  const readers = READERS_OF.get(db);
  if (readers) READERS_OF.set(reading, readers);
  const wal = walFiles.get(db);
  if (wal) walFiles.set(reading, wal);
  return reading;
}

/** The WAL checkpointer of a SQLite database opened by openSqlite (observability, tests); null otherwise. */
export function walCheckpointer(db: Kysely<DB>): WalCheckpointer | null {
  return walFiles.get(db)?.checkpoints ?? null;
}

/** The group commit's pragmas, compiled once (kysely compiled them again for every batch). */
const SYNC_NORMAL = CompiledQuery.raw('pragma synchronous = NORMAL');
const SYNC_FULL = CompiledQuery.raw('pragma synchronous = FULL');

/** Unsynced commits + WAL sync for a SQLite database opened by openSqlite; null otherwise (PostgreSQL commits off this process already). */
export function commitDurability(db: Kysely<DB>): CommitDurability | null {
  const wal = walFiles.get(db);
  if (!wal) return null;
  return {
    unsynced: (work) =>
      db.connection().execute(async (conn) => {
        await conn.executeQuery(SYNC_NORMAL);
        try {
          return await work(conn);
        } finally {
          await conn.executeQuery(SYNC_FULL);
        }
      }),
    sync: () => wal.sync(),
  };
}

// int8 (bigint columns: millisecond times, sizes, counts) as numbers: every value the schema
// stores fits in 2^53, and the repositories compare them as numbers on both dialects.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

/**
 * PostgreSQL refuses values SQLite stores or compares without complaint: text with a NUL
 * character, a number beyond bigint, a non-number compared with an integer column (SQLSTATE
 * class 22, data exception). Such a value comes from the caller (an odd id in a URL, a name):
 * it is the caller's error (AppError Invalid: 400, IMAP BAD), never a server error. The value
 * itself is not repeated (it may be anything).
 */
function translatePgError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('22')) return new AppError('Invalid', `a value cannot be stored or compared by the database (SQLSTATE ${code})`);
  return err;
}

const translating = new WeakSet<DatabaseConnection>();

class PortablePostgresDriver extends PostgresDriver {
  override async acquireConnection(): Promise<DatabaseConnection> {
    const conn = await super.acquireConnection();
    if (!translating.has(conn)) {
      const execute = conn.executeQuery.bind(conn);
      conn.executeQuery = async (query) => {
        try {
          return await execute(query);
        } catch (err) {
          throw translatePgError(err);
        }
      };
      translating.add(conn);
    }
    return conn;
  }
}

class PortablePostgresDialect extends PostgresDialect {
  constructor(private readonly settings: PostgresDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new PortablePostgresDriver(this.settings);
  }
}

export function openPostgres(url: string, opts: { max?: number; applicationName?: string } = {}): OpenedDatabase {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, application_name: opts.applicationName ?? 'postern', connectionTimeoutMillis: 10_000 });
  // An idle client losing its server (a PostgreSQL restart) must not crash the process.
  pool.on('error', () => undefined);
  // A client checked out of the pool (mid-query or mid-transaction) has no pool listener: when
  // its server goes away it emits 'error' too (the query itself rejects), which must not crash.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<DB>({ dialect: new PortablePostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    async close() {
      await db.destroy();
    },
  };
}

/** The configured database: PostgreSQL when a URL is set, else SQLite at `sqliteFile`. */
export function openDatabase(storage: { databaseUrl: string | null }, sqliteFile: string, opts: { applicationName?: string } = {}): OpenedDatabase {
  return storage.databaseUrl ? openPostgres(storage.databaseUrl, opts) : openSqlite(sqliteFile);
}

/** An auto-incrementing integer primary key (SQLite: INTEGER PRIMARY KEY AUTOINCREMENT; PostgreSQL: serial). */
export function autoIdColumn<T extends string>(builder: CreateTableBuilder<T, never>, name: string, db?: Kysely<any>) {
  if (db && dialectOf(db) === 'postgres') return builder.addColumn(name, 'serial', (c) => c.primaryKey());
  return builder.addColumn(name, 'integer', (c) => c.primaryKey().autoIncrement());
}

/** A floating-point column (SQLite: REAL; PostgreSQL: double precision, so scores read back exactly as written). */
export function realType(db?: Kysely<any>): 'real' | 'double precision' {
  return db && dialectOf(db) === 'postgres' ? 'double precision' : 'real';
}

/**
 * True when a transaction failed only because it lost a race with another one and may simply
 * run again: PostgreSQL's deadlock (40P01) and serialization (40001) failures between writers
 * on different nodes; SQLite's busy/locked database (another process held the write lock).
 */
export function isRetryableConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001' || code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}
