/**
 * `npm run bench:roundtrips`: database statements (round trips) and bytes per inbound message and
 * per IMAP command, on SQLite and on PostgreSQL, for docs/scaling.md (issue 17).
 *
 *   node dist/scripts/bench/roundtrips.js [--messages N] [--repeats N] [--json]
 *
 * The real mail store, recipient router, credential module and IMAP server run in this process
 * over each backend; a raw IMAPS client sends the commands. Every statement the database driver
 * executes is counted (SQLite: each prepared statement run; PostgreSQL: each query on the wire,
 * BEGIN/COMMIT included). Bytes: on PostgreSQL the client sockets' bytes written/read (the real
 * wire cost); on SQLite, which has no wire, the SQL text plus parameters in and the row values out.
 * PostgreSQL: POSTERN_BENCH_PG_URL, or a private server started here (initdb/pg_ctl on loopback).
 * Message bytes go to the local blob folder on both (S3 costs are per design: one PUT per inbound
 * message, one GET per body fetch that misses the cache; not counted here).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { type Config, dataPaths, loadConfig } from '../../appliance/config.js';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { hashPassword } from '../../appliance/core/access/passwords.js';
import { RecipientRouter } from '../../appliance/core/delivery/routing.js';
import { PLATFORM_SCOPE } from '../../appliance/core/kernel/scope.js';
import { migrateToLatest } from '../../appliance/db/migrate.js';
import { repos } from '../../appliance/db/repos/index.js';
import type { DB } from '../../appliance/db/schema.js';
import { startImapServer } from '../../appliance/imap/server.js';
import { createLogger } from '../../appliance/logger.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { createDefaultFolders } from '../../appliance/mailstore/folders.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { ensureTls } from '../../appliance/tls.js';
import { ImapClient } from './imap-client.js';
import { variedMessages } from './messages.js';

interface Counter {
  statements: number;
  /** COMMITs (write transactions; on PostgreSQL each one waits for its WAL flush). */
  commits: number;
  /** Transaction control among the statements (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE): how many depends on how the write queue groups jobs. */
  control: number;
  sent: number;
  received: number;
}

const CONTROL = /^\s*(begin|commit|rollback|savepoint|release)\b/i;

type Backend = 'sqlite' | 'postgres';

const valueBytes = (v: unknown): number => (v == null ? 0 : Buffer.isBuffer(v) ? v.length : typeof v === 'string' ? Buffer.byteLength(v) : 8);
const rowBytes = (rows: unknown): number => (Array.isArray(rows) ? rows.reduce<number>((a, r) => a + Object.values(r as object).reduce<number>((b, v) => b + valueBytes(v), 0), 0) : 0);

/** SQLite with the appliance's pragmas, every statement run counted. */
function countedSqlite(file: string, c: Counter): Kysely<DB> {
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const prepare = sqlite.prepare.bind(sqlite);
  (sqlite as unknown as { prepare: typeof prepare }).prepare = ((src: string) => {
    const st = prepare(src);
    for (const m of ['all', 'run', 'get', 'iterate'] as const) {
      const orig = (st as any)[m].bind(st);
      (st as any)[m] = (...args: unknown[]) => {
        c.statements++;
        if (/^\s*commit/i.test(src)) c.commits++;
        if (CONTROL.test(src)) c.control++;
        c.sent += Buffer.byteLength(src) + args.flat().reduce<number>((a, v) => a + valueBytes(v), 0);
        const out = orig(...args);
        c.received += m === 'all' ? rowBytes(out) : m === 'get' ? rowBytes([out ?? {}]) : 0;
        return out;
      };
    }
    return st;
  }) as typeof prepare;
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
}

/** PostgreSQL through a pg pool whose clients count their queries and socket bytes. */
function countedPostgres(url: string, c: Counter): { db: Kysely<DB>; wire: () => { sent: number; received: number } } {
  pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const sockets = new Set<net.Socket>();
  pool.on('connect', (client) => {
    sockets.add((client as unknown as { connection: { stream: net.Socket } }).connection.stream);
    const query = client.query.bind(client) as (...a: unknown[]) => unknown;
    (client as unknown as { query: (...a: unknown[]) => unknown }).query = (...args: unknown[]) => {
      c.statements++;
      const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string } | undefined)?.text ?? '');
      if (/^\s*commit/i.test(text)) c.commits++;
      if (CONTROL.test(text)) c.control++;
      return query(...args);
    };
  });
  const wire = () => {
    let sent = 0;
    let received = 0;
    for (const s of sockets) {
      sent += s.bytesWritten;
      received += s.bytesRead;
    }
    return { sent, received };
  };
  return { db: new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }), wire };
}

/** A private PostgreSQL 15 on loopback (as the tests start one); returns its URL and a stop function. */
function privatePostgres(): { url: string; stop: () => void } {
  const bin = ['15', '16', '17'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => existsSync(path.join(d, 'initdb')));
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql-15), or set POSTERN_BENCH_PG_URL');
  const root = mkdtempSync(path.join(os.tmpdir(), 'postern-bench-pg-'));
  execFileSync('chmod', ['755', root]);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(root, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const run = (prog: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, prog), ...args], { cwd: '/', stdio: 'ignore' }) : execFileSync(path.join(bin, prog), args, { stdio: 'ignore' });
  const data = path.join(root, 'data');
  run('initdb', ['-D', data, '-U', 'postern', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = 20000 + Math.floor(Math.random() * 20000);
  run('pg_ctl', ['-D', data, '-l', path.join(root, 'log'), '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${root}`, '-w', 'start']);
  return {
    url: `postgres://postern@127.0.0.1:${port}/postgres`,
    stop: () => {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

interface Row {
  operation: string;
  statements: number;
  commits: number;
  control: number;
  sent: number;
  received: number;
}

async function fixture(db: Kysely<DB>, address: string, password: string): Promise<void> {
  const r = repos(db, PLATFORM_SCOPE);
  const now = Date.now();
  await r.tenants.insert({ id: 'tnt_bench', name: 'Bench', now });
  await r.domains.insert({ id: 'dom_bench', tenant_id: 'tnt_bench', name: address.split('@')[1]!, alias_of: null, now });
  await r.mailboxes.insert({
    id: 'mbx_bench',
    tenant_id: 'tnt_bench',
    domain_id: 'dom_bench',
    local_part: address.split('@')[0]!,
    address,
    status: 'active',
    quota_bytes: 50 * 1024 ** 3,
    password_hash: await hashPassword(password),
    owner_name: 'Bench Owner',
    owner_email: 'owner@example.net',
    reset_destination: 'owner@example.net',
    created_at: now,
    updated_at: now,
  });
  await createDefaultFolders(db, 'mbx_bench', now);
}

/** Runs every measured operation on one backend; each figure is the mean over `repeats` runs. */
/** The database's size on disk: SQLite's file and WAL, or pg_database_size (after a checkpoint, so the heap is counted). */
async function databaseBytes(backend: Backend, dir: string, pgUrl: string | null): Promise<number> {
  if (backend === 'sqlite') return ['postern.db', 'postern.db-wal'].map((f) => path.join(dir, f)).reduce((a, f) => a + (existsSync(f) ? statSync(f).size : 0), 0);
  const client = new pg.Client({ connectionString: pgUrl! });
  await client.connect();
  try {
    await client.query('checkpoint');
    const { rows } = await client.query('select pg_database_size(current_database()) as n');
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

async function measureBackend(backend: Backend, pgUrl: string | null, opts: { messages: number; repeats: number }): Promise<{ rows: Row[]; bytesPerMessage: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `postern-rt-${backend}-`));
  const c: Counter = { statements: 0, commits: 0, control: 0, sent: 0, received: 0 };
  const counted = backend === 'sqlite' ? { db: countedSqlite(path.join(dir, 'postern.db'), c), wire: null } : countedPostgres(pgUrl!, c);
  const { db } = counted;
  const snap = () => (counted.wire ? { statements: c.statements, commits: c.commits, control: c.control, ...counted.wire() } : { ...c });
  const base = loadConfig({ POSTERN_DATA_DIR: dir, POSTERN_LOG_LEVEL: 'silent' });
  const config = Object.freeze({ ...base, ports: { ...base.ports, imap: 0, imaps: 0 } }) as Readonly<Config>;
  const logger = createLogger('silent', { pretty: false });
  await migrateToLatest(db);
  const address = 'bench@roundtrips.test';
  const password = 'Bench-Passw0rd!';
  await fixture(db, address, password);
  // A synced blob's unlisting rides on the next ingest transaction, as under steady load; with the
  // default 1 s fallback a slow window (a loaded box) gave it a transaction of its own instead.
  // SQLite's search index merges its segments after its batches (a step of a few statements in a
  // non-durable job, fulltext-backfill.ts); PostgreSQL has no such step, so it is left out of the
  // statements compared here.
  const store = new SqlMailStore({
    db,
    blobs: await FileBlobStore.open(path.join(dir, 'blobs')),
    maxMessageBytes: config.maxMessageBytes,
    unlistDelayMs: 600_000,
    searchMerges: false,
  });
  const router = new RecipientRouter(db);
  const credentials = new CredentialService(db, logger);
  const corpus = variedMessages(opts.messages + opts.repeats * 2, address).messages;
  const rows: Row[] = [];
  const measure = async (operation: string, fn: (i: number) => Promise<unknown>, repeats = opts.repeats) => {
    const t = { statements: 0, commits: 0, control: 0, sent: 0, received: 0 };
    // the search index is written just after each commit (SearchTextIndexer): its statements count with the message
    // and so do the session's own follow-up writes (its \Recent claim once the change notice arrives,
    // over LISTEN/NOTIFY on PostgreSQL): a window closes once the database has been quiet for 25 ms
    const settle = async () => {
      for (let seen = -1, round = 0; seen !== snap().statements && round < 40; round++) {
        seen = snap().statements;
        await store.searchIndexer.idle();
        await store.queue.drain();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    for (let i = 0; i < repeats; i++) {
      await settle();
      const a = snap();
      await fn(i);
      await settle();
      const b = snap();
      t.statements += b.statements - a.statements;
      t.commits += b.commits - a.commits;
      t.control += b.control - a.control;
      t.sent += b.sent - a.sent;
      t.received += b.received - a.received;
    }
    rows.push({ operation, statements: t.statements / repeats, commits: t.commits / repeats, control: t.control / repeats, sent: Math.round(t.sent / repeats), received: Math.round(t.received / repeats) });
  };
  const deliver = async (raw: Buffer) => {
    const r = await router.resolve(address, raw.length);
    if (!r.ok) throw new Error(`cannot deliver: ${r.refusal}`);
    await store.ingest.ingest(raw, [{ mailboxId: 'mbx_bench', folder: 'INBOX', prefix: `Delivered-To: ${address}\r\n` }], { enforceQuota: true });
  };
  const sizeBefore = await databaseBytes(backend, dir, pgUrl);
  for (let i = 0; i < opts.messages; i++) await deliver(corpus[i]!);
  await store.queue.drain();
  const bytesPerMessage = Math.round(((await databaseBytes(backend, dir, pgUrl)) - sizeBefore) / opts.messages);
  await measure('inbound message (RCPT resolve + ingest)', (i) => deliver(corpus[opts.messages + i]!));

  const imap = await startImapServer({ config, logger, store, credentials, tls: await ensureTls(config, dataPaths(config), logger) });
  const client = await ImapClient.connect(imap.ports.imaps);
  try {
    await measure('LOGIN', async () => {
      const x = await ImapClient.connect(imap.ports.imaps);
      await x.command(`LOGIN ${address} "${password}"`);
      await x.logout();
    });
    await client.command(`LOGIN ${address} "${password}"`);
    const n = opts.messages + opts.repeats;
    await measure('SELECT INBOX', () => client.command('SELECT INBOX'));
    await measure(`FETCH 1:* (FLAGS) (${n} messages)`, () => client.command('FETCH 1:* (FLAGS)'));
    await measure('FETCH n BODY.PEEK[] (one message)', (i) => client.command(`FETCH ${i + 1} BODY.PEEK[]`));
    await measure('STORE n +FLAGS (\\Flagged) (one message)', (i) => client.command(`STORE ${i + 1} +FLAGS (\\Flagged)`));
    await measure(`SEARCH SUBJECT (${n} messages)`, () => client.command('SEARCH SUBJECT "invoice"'));
    await measure(`SEARCH BODY (${n} messages)`, () => client.command('SEARCH BODY "zebrafish"'));
    await measure('APPEND (one message)', (i) => client.command('APPEND INBOX', { literal: corpus[opts.messages + opts.repeats + i]! }));
    await client.logout();
    // Another node (its own store, nothing in memory) opening the same folder: the index is read once.
    const cold = new SqlMailStore({ db, blobs: await FileBlobStore.open(path.join(dir, 'blobs')), maxMessageBytes: config.maxMessageBytes });
    const imap2 = await startImapServer({ config, logger, store: cold, credentials, tls: await ensureTls(config, dataPaths(config), logger) });
    const c2 = await ImapClient.connect(imap2.ports.imaps);
    await c2.command(`LOGIN ${address} "${password}"`);
    await measure(`SELECT INBOX on a node that has not read the folder yet (${n + opts.repeats} messages)`, () => c2.command('SELECT INBOX'), 1);
    await c2.logout();
    await imap2.close();
    await cold.queue.drain();
  } finally {
    await imap.close();
    await store.queue.drain();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, bytesPerMessage };
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const opts = { messages: arg('messages', 200), repeats: arg('repeats', 10) };
  let pgUrl = process.env.POSTERN_BENCH_PG_URL ?? null;
  const own = pgUrl ? null : privatePostgres();
  pgUrl ??= own!.url;
  try {
    const measured = { sqlite: await measureBackend('sqlite', null, opts), postgres: await measureBackend('postgres', pgUrl, opts) };
    const results: Record<Backend, Row[]> = { sqlite: measured.sqlite.rows, postgres: measured.postgres.rows };
    const perMessage = { sqlite: measured.sqlite.bytesPerMessage, postgres: measured.postgres.bytesPerMessage };
    if (argv.includes('--json')) {
      process.stdout.write(`${JSON.stringify({ ...opts, results, databaseBytesPerMessage: perMessage }, null, 2)}\n`);
      return;
    }
    process.stdout.write(`Database statements and bytes per operation (mean of ${opts.repeats}; folder of ${opts.messages}+ messages)\n\n`);
    process.stdout.write('| operation | SQLite statements (commits) | SQLite bytes in/out* | PostgreSQL round trips (commits) | PostgreSQL wire bytes sent/received |\n|---|---:|---:|---:|---:|\n');
    results.sqlite.forEach((s, i) => {
      const p = results.postgres[i]!;
      process.stdout.write(`| ${s.operation} | ${s.statements} (${s.commits}) | ${s.sent} / ${s.received} | ${p.statements} (${p.commits}) | ${p.sent} / ${p.received} |\n`);
    });
    process.stdout.write('\n* SQLite has no wire: SQL text + parameters in, row values out.\n');
    process.stdout.write("SQLite's search-index segment merge after the index's batches (a few statements in a non-durable job; PostgreSQL has no such step) is off in this run.\n");
    process.stdout.write(`\nDatabase growth per stored message (index rows, header prefix, MIME map, sort keys; bytes excluded): SQLite ${perMessage.sqlite} B, PostgreSQL ${perMessage.postgres} B\n`);
  } finally {
    own?.stop();
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`roundtrips: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
