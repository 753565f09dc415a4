/**
 * SQLite reads off the serving event loop (issue 18). better-sqlite3 runs every statement
 * synchronously on the thread that calls it, and kysely's SqliteDriver serializes all of them
 * on one connection behind a mutex whose hand-overs are microtasks: under 50 concurrent API
 * clients the queued statements ran back to back without ever yielding to the event loop
 * (stalls of a second and more, timers and sockets starved meanwhile).
 *
 * Here, a few worker threads each hold a read-only connection to the same file (WAL: readers
 * never block the writer and see every transaction committed before their statement starts).
 * The driver below hands them the SELECTs a `readsOffThread(db)` handle marks, outside a
 * transaction only; every other statement (writes, raw SQL, pragmas, anything after `begin`)
 * runs on the main connection as before. Read-your-writes holds: a commit on the main
 * connection returns before the caller issues its next read, and a reader's statement is its
 * own read transaction, started after that.
 */
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  AliasNode,
  ColumnNode,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type KyselyPlugin,
  type OperationNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryCompiler,
  type QueryResult,
  type RootOperationNode,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  TableNode,
  type UnknownRow,
  type UpdateQueryNode,
} from 'kysely';

/**
 * The worker: one read-only connection, statements prepared once per SQL text. Rows leave as
 * arrays of values with the statement's column names (better-sqlite3's raw mode): building a
 * named object per row in the worker and cloning every row's keys cost about three times as
 * much as the values alone (100 rows of 17 columns: 1.5 ms against 0.45); the main thread
 * builds the row objects it would otherwise have deserialized.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -32768');
const cache = new Map();
const asBuffer = (v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);
function run(m) {
  try {
    let prepared = cache.get(m.sql);
    if (!prepared) {
      const stmt = db.prepare(m.sql);
      if (!stmt.reader) throw new Error('only statements that return rows run on a reader');
      stmt.raw(true);
      prepared = { stmt, columns: stmt.columns().map((c) => c.name) };
      cache.set(m.sql, prepared);
      if (cache.size > 500) cache.delete(cache.keys().next().value);
    }
    const rows = prepared.stmt.all(m.params.map(asBuffer));
    let blobs = false;
    for (const r of rows) { for (const v of r) if (v instanceof Uint8Array) { blobs = true; break; } if (blobs) break; }
    return { id: m.id, columns: prepared.columns, rows, blobs };
  } catch (err) {
    return { id: m.id, error: { message: String(err && err.message), code: err && err.code, name: err && err.name } };
  }
}
// a batch of reads in, their results out in as few messages as keep the first answers prompt
parentPort.on('message', (batch) => {
  let out = [];
  let started = performance.now();
  for (const m of batch) {
    out.push(run(m));
    if (performance.now() - started > 2) {
      parentPort.postMessage(out);
      out = [];
      started = performance.now();
    }
  }
  if (out.length) parentPort.postMessage(out);
});
`;

interface Pending {
  resolve: (rows: UnknownRow[]) => void;
  reject: (err: Error) => void;
}

interface Request {
  id: number;
  sql: string;
  params: readonly unknown[];
}

type Answer = { id: number; columns?: string[]; rows?: unknown[][]; blobs?: boolean; error?: { message: string; code?: string; name?: string } };

interface Reader {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Reads not yet sent: the reads of one turn of the event loop go in one message. */
  outbox: Request[];
}

/**
 * Row objects as the main connection answers them, from a reader's value arrays: the column
 * names in order (a repeated name keeps the last value, as better-sqlite3's objects do), and
 * Buffers where cloning left plain Uint8Arrays (`blobs`).
 */
function rowObjects(columns: readonly string[], rows: readonly unknown[][], blobs: boolean): UnknownRow[] {
  const out = new Array<UnknownRow>(rows.length);
  const n = columns.length;
  for (let i = 0; i < rows.length; i++) {
    const values = rows[i]!;
    const row: UnknownRow = {};
    for (let j = 0; j < n; j++) {
      const v = values[j];
      row[columns[j]!] = blobs && v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
    }
    out[i] = row;
  }
  return out;
}

function readerError(e: { message: string; code?: string; name?: string }): Error {
  const err = new Error(e.message) as Error & { code?: string };
  if (e.name) err.name = e.name;
  if (e.code) err.code = e.code;
  return err;
}

/**
 * Tables whose rows decide whether an API token authenticates (the token, the person who
 * created it, its tenant). A write to one of them ends every cached authentication answer.
 */
const AUTH_TABLES = new Set(['api_tokens', 'principals', 'tenants']);
/**
 * Columns of AUTH_TABLES that decide nothing about authentication: the record of a token's last
 * use. An update that sets these alone keeps the cached answers (issue 18: the once-a-minute
 * last_used_at write had ended them all, and the next requests read the token again together).
 */
const NOT_AUTH_COLUMNS: ReadonlyMap<string, ReadonlySet<string>> = new Map([['api_tokens', new Set(['last_used_at'])]]);
/**
 * Tables whose rows decide the MTA's DKIM signing keys and outbound routes (hosted domains, their
 * keys, smarthost routes): the Haraka child keeps those answers until a write to one of them.
 */
const MTA_TABLES = new Set(['domains', 'dkim_keys', 'outbound_routes']);
/** Tables a mailbox list page reads (its rows, its tenant): a write ends the kept pages (core/mailboxes/list-pages.ts). */
const LIST_TABLES = new Set(['mailboxes', 'tenants']);

function tableOf(node: OperationNode | undefined): string | null {
  if (!node) return null;
  if (TableNode.is(node)) return node.table.identifier.name;
  if (AliasNode.is(node)) return tableOf(node.node);
  return null;
}

const TX_CONTROL = /^\s*(pragma|select|begin|commit|end|rollback|savepoint|release)\b/i;

/** Bits of `writes()`: the statement may write AUTH_TABLES, MTA_TABLES, LIST_TABLES. */
const AUTH = 1;
const MTA = 2;
const LIST = 4;
const EVERY = AUTH | MTA | LIST;

function bitsOf(table: string | null): number {
  if (table === null) return 0;
  return (AUTH_TABLES.has(table) ? AUTH : 0) | (MTA_TABLES.has(table) ? MTA : 0) | (LIST_TABLES.has(table) ? LIST : 0);
}

/** True when every column the update sets is one of `columns`. */
function onlyColumns(updates: UpdateQueryNode['updates'], columns: ReadonlySet<string> | undefined): boolean {
  if (!columns || !updates?.length) return false;
  return updates.every((u) => ColumnNode.is(u.column) && columns.has(u.column.column.name));
}

/**
 * Which of AUTH_TABLES, MTA_TABLES and LIST_TABLES the statement may write, in one pass over its tree (issue
 * 18: it runs for every statement on the main connection): none for a read, a pragma,
 * transaction control, or an insert, update or delete of other tables. Other raw SQL and schema
 * changes count as writes to all three.
 */
function writes(node: RootOperationNode, sqlText: string): number {
  switch (node.kind) {
    case 'SelectQueryNode':
      return 0;
    case 'InsertQueryNode':
      return bitsOf(tableOf(node.into));
    case 'UpdateQueryNode': {
      const table = tableOf(node.table);
      let bits = bitsOf(table);
      if (!node.from && onlyColumns(node.updates, NOT_AUTH_COLUMNS.get(table ?? ''))) bits &= ~AUTH;
      for (const f of node.from?.froms ?? []) bits |= bitsOf(tableOf(f));
      return bits;
    }
    case 'DeleteQueryNode': {
      let bits = 0;
      for (const f of node.from.froms) {
        const table = tableOf(f);
        bits |= table === null ? EVERY : bitsOf(table);
      }
      return bits;
    }
    case 'RawNode':
      // Transaction control writes nothing itself (kysely's SQLite driver sends begin/commit as
      // raw SQL): the statements inside count, and a commit or rollback settles the connection.
      return TX_CONTROL.test(sqlText) ? 0 : EVERY;
    default:
      return EVERY;
  }
}

/** A small pool of reader threads on one database file, started at the first read. */
export class SqliteReaders {
  private readonly readers: Array<Reader | null>;
  private nextId = 1;
  private closed = false;
  /**
   * Moves (at least) before and after every statement that may write AUTH_TABLES on the main
   * connection, and after the commit or rollback of a transaction that ran one: an answer read
   * while it stayed the same was read from committed rows no later write has changed.
   */
  authEpoch = 0;
  /** The same for MTA_TABLES; each move is told to `mtaListeners` at once (the Haraka child's cache). */
  mtaEpoch = 0;
  readonly mtaListeners = new Set<(epoch: number) => void>();
  /** The same for LIST_TABLES. */
  listEpoch = 0;

  moveMta(): void {
    this.mtaEpoch++;
    for (const l of this.mtaListeners) l(this.mtaEpoch);
  }

  constructor(
    readonly file: string,
    size = Math.max(1, Math.min(2, cpus().length)),
  ) {
    this.readers = Array.from({ length: size }, () => null);
  }

  /**
   * Starts the reader threads that are not running (issue 18: the second one used to start at the
   * first two overlapping reads, which a cold FETCH of many bodies was the first to make: the
   * thread booted, loaded the native module and opened the file while its reads waited).
   */
  prestart(): void {
    if (this.closed) return;
    for (let i = 0; i < this.readers.length; i++) this.readers[i] ??= this.start(i);
  }

  /** How many reader threads the pool holds at most. */
  get size(): number {
    return this.readers.length;
  }

  /** How many reader threads run. */
  get running(): number {
    return this.readers.filter((r) => r !== null).length;
  }

  /** Rows of one SELECT, on the least busy reader. */
  read(sql: string, params: readonly unknown[]): Promise<UnknownRow[]> {
    if (this.closed) return Promise.reject(new Error('the database is closed'));
    const reader = this.pick();
    const id = this.nextId++;
    return new Promise<UnknownRow[]>((resolve, reject) => {
      if (reader.pending.size === 0) reader.worker.ref();
      reader.pending.set(id, { resolve, reject });
      if (reader.outbox.push({ id, sql, params }) === 1) setImmediate(() => this.flush(reader));
    });
  }

  private flush(reader: Reader): void {
    const batch = reader.outbox;
    reader.outbox = [];
    if (batch.length) reader.worker.postMessage(batch);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.readers.map((r) => r?.worker.terminate()));
    this.readers.fill(null);
  }

  private pick(): Reader {
    let best: Reader | null = null;
    for (let i = 0; i < this.readers.length; i++) {
      const r = this.readers[i] ?? (this.readers[i] = this.start(i));
      if (r.pending.size === 0) return r;
      if (!best || r.pending.size < best.pending.size) best = r;
    }
    return best!;
  }

  private start(slot: number): Reader {
    const module = createRequire(__filename).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file: this.file } });
    const reader: Reader = { worker, pending: new Map(), outbox: [] };
    worker.unref();
    worker.on('message', (answers: Answer[]) => {
      for (const m of answers) {
        const p = reader.pending.get(m.id);
        if (!p) continue;
        reader.pending.delete(m.id);
        if (m.error) p.reject(readerError(m.error));
        else p.resolve(rowObjects(m.columns!, m.rows!, m.blobs === true));
      }
      if (reader.pending.size === 0) worker.unref();
    });
    // a reader that dies fails its pending reads; the next read starts a new one in its slot
    const fail = (err: Error) => {
      if (this.readers[slot] === reader) this.readers[slot] = null;
      for (const p of reader.pending.values()) p.reject(err);
      reader.pending.clear();
      reader.outbox = [];
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`database reader thread exited (${code})`)));
    return reader;
  }
}

/** Query trees a `readsOffThread` handle built (only SELECTs are marked). */
const offThread = new WeakSet<RootOperationNode>();

class MarkReads implements KyselyPlugin {
  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    if (node.kind !== 'SelectQueryNode') return node;
    const marked = Object.freeze({ ...node });
    offThread.add(marked);
    return marked;
  }

  async transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return result;
  }
}

export const MARK_READS: KyselyPlugin = new MarkReads();

/**
 * A connection as kysely sees it: it holds the main connection (and its mutex) only from the
 * first statement that must run there (a write, raw SQL, `begin`) until it is released; marked
 * SELECTs before that go to a reader.
 */
class RoutedConnection implements DatabaseConnection {
  private main: Promise<DatabaseConnection> | null = null;
  /** This use of the connection ran a statement that may write AUTH_TABLES (its commit moves the epoch again). */
  authWrite = false;
  /** The same for MTA_TABLES. */
  mtaWrite = false;
  /** The same for LIST_TABLES. */
  listWrite = false;

  constructor(
    private readonly driver: OffThreadReadsDriver,
    private readonly readers: SqliteReaders,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.main && offThread.has(query.query)) {
      return this.readers.read(query.sql, query.parameters).then((rows) => ({ rows: rows as R[] }));
    }
    const bits = writes(query.query, query.sql);
    if (bits === 0) return this.pinned().then((c) => c.executeQuery<R>(query));
    const auth = (bits & AUTH) !== 0;
    const mta = (bits & MTA) !== 0;
    const list = (bits & LIST) !== 0;
    const move = () => {
      if (auth) this.readers.authEpoch++;
      if (mta) this.readers.moveMta();
      if (list) this.readers.listEpoch++;
    };
    this.listWrite ||= list;
    this.authWrite ||= auth;
    this.mtaWrite ||= mta;
    move();
    const done = move;
    return this.pinned()
      .then((c) => c.executeQuery<R>(query))
      .finally(done);
  }

  /** After a commit, rollback or release: moves the epoch once more when this use wrote AUTH_TABLES. */
  settled(): void {
    if (this.listWrite) {
      this.listWrite = false;
      this.readers.listEpoch++;
    }
    if (this.mtaWrite) {
      this.mtaWrite = false;
      this.readers.moveMta();
    }
    if (!this.authWrite) return;
    this.authWrite = false;
    this.readers.authEpoch++;
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    const c = await this.pinned();
    yield* c.streamQuery<R>(query, chunkSize);
  }

  /** The main connection, taken (behind the driver's mutex) once for the rest of this use. */
  pinned(): Promise<DatabaseConnection> {
    return (this.main ??= this.driver.lockMain());
  }

  /** Gives the main connection back (when it was taken); true when it was. */
  async unpin(): Promise<boolean> {
    if (!this.main) return false;
    await this.main;
    this.main = null;
    return true;
  }
}

class OffThreadReadsDriver implements Driver {
  private readonly main: SqliteDriver;
  private readonly idle: RoutedConnection[] = [];

  constructor(
    config: SqliteDialectConfig,
    private readonly readers: SqliteReaders,
  ) {
    this.main = new SqliteDriver(config);
  }

  init(): Promise<void> {
    return this.main.init();
  }

  lockMain(): Promise<DatabaseConnection> {
    return this.main.acquireConnection();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // kysely keeps every connection object it was given: a few are reused, not one per query
    return this.idle.pop() ?? new RoutedConnection(this, this.readers);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = connection as RoutedConnection;
    if (await c.unpin()) await this.main.releaseConnection();
    c.settled();
    this.idle.push(c);
  }

  // transaction statements are raw SQL: they run on (and pin) the main connection
  beginTransaction(connection: DatabaseConnection): Promise<void> {
    return this.main.beginTransaction(connection);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.main.commitTransaction(connection);
    } finally {
      (connection as RoutedConnection).settled();
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.main.rollbackTransaction(connection);
    } finally {
      (connection as RoutedConnection).settled();
    }
  }

  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.main.savepoint(connection, name, compile);
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.main.rollbackToSavepoint(connection, name, compile);
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.main.releaseSavepoint(connection, name, compile);
  }

  async destroy(): Promise<void> {
    await this.readers.close();
    await this.main.destroy();
  }
}

/** kysely's SqliteDialect whose marked reads run on `readers`. */
export class OffThreadReadsDialect extends SqliteDialect {
  constructor(
    private readonly settings: SqliteDialectConfig,
    private readonly readers: SqliteReaders,
  ) {
    super(settings);
  }

  override createDriver(): Driver {
    return new OffThreadReadsDriver(this.settings, this.readers);
  }
}

/** The reader pools of the databases openSqlite opened (and of their readsOffThread handles). */
export const READERS_OF = new WeakMap<object, SqliteReaders>();

/** Starts every reader thread of `db` (a database openSqlite opened, or a readsOffThread handle of one); nothing elsewhere. */
export function prestartReaders(db: object): void {
  READERS_OF.get(db)?.prestart();
}

/**
 * A counter that moves with every write to the tables that decide API token authentication
 * (AUTH_TABLES), for a cache of authentication answers: an answer read while it stayed the same
 * is current until it moves. Every write of this process goes through the one main connection
 * (SQLite, a single node); null where writes can come from elsewhere (PostgreSQL: other nodes)
 * and such a cache would outlive a revocation.
 */
export function authWriteEpoch(db: object): (() => number) | null {
  const readers = READERS_OF.get(db);
  return readers ? () => readers.authEpoch : null;
}

/**
 * The same for the tables of the MTA's signing keys and routes (MTA_TABLES): the current value,
 * and a listener told of every move as it happens (before and after each such statement and after
 * the commit or rollback of its transaction). Null on PostgreSQL (other nodes write too).
 */
export function mtaWriteEpoch(db: object): { current(): number; onMove(listener: (epoch: number) => void): () => void } | null {
  const readers = READERS_OF.get(db);
  if (!readers) return null;
  return {
    current: () => readers.mtaEpoch,
    onMove(listener) {
      readers.mtaListeners.add(listener);
      return () => void readers.mtaListeners.delete(listener);
    },
  };
}

/**
 * The rows of a compiled SELECT that a `readsOffThread` handle built, read on a reader thread
 * straight away: what kysely's executor would do with it (a connection taken from the driver,
 * the marked read handed to the readers, the connection given back, results passed through the
 * plugins unchanged) without the connection and the promises it takes for that, about a dozen
 * per query on the serving loop (issue 18: the ownership answer's dozen prepared reads). Null
 * when the query must go through the executor: not a marked read, or `db` is not a registered
 * handle (a transaction, a single-connection handle, PostgreSQL).
 */
export function readOffThread(db: object, query: CompiledQuery): Promise<UnknownRow[]> | null {
  if (!offThread.has(query.query)) return null;
  const readers = READERS_OF.get(db);
  if (!readers || (db as { isTransaction?: boolean }).isTransaction) return null;
  return readers.read(query.sql, query.parameters);
}

/** The same for the tables of a mailbox list page (LIST_TABLES): the current value; null on PostgreSQL. */
export function listWriteEpoch(db: object): (() => number) | null {
  const readers = READERS_OF.get(db);
  return readers ? () => readers.listEpoch : null;
}
