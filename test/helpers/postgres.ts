/**
 * A private PostgreSQL 15 for tests: its own data dir and socket dir under the system temp dir,
 * listening on 127.0.0.1 on a free port, trust authentication for the `postern` role. initdb
 * refuses to run as root, so as root the server runs as the `postgres` user (runuser).
 * Never the system's instance.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePorts } from './ports.js';

const run = promisify(execFile);

function binDir(): string {
  for (const v of ['15', '16', '17', '14']) {
    const d = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(path.join(d, 'initdb'))) return d;
  }
  throw new Error('PostgreSQL is not installed (apt-get install postgresql-15)');
}

export interface TestPostgres {
  port: number;
  /** postgres://postern@127.0.0.1:PORT/<db> */
  url(database?: string): string;
  /** Creates a fresh, empty database and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server (fast shutdown: open connections are cut, as in a real restart). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Restarts the server; clients see their connections drop. */
  restart(): Promise<void>;
  /** Stops the server and removes its data dir. */
  destroy(): Promise<void>;
}

let seq = 0;

export async function startPostgres(opts: { port?: number } = {}): Promise<TestPostgres> {
  const bin = binDir();
  const root = mkdtempSync(path.join(tmpdir(), 'postern-pg-'));
  const dataDir = path.join(root, 'data');
  const sockDir = path.join(root, 'sock');
  const asRoot = process.getuid?.() === 0;
  const cmd = async (program: string, args: string[]) => {
    const full = path.join(bin, program);
    if (asRoot) return run('runuser', ['-u', 'postgres', '--', full, ...args], { cwd: '/' });
    return run(full, args);
  };
  chmodSync(root, 0o755);
  for (const d of [dataDir, sockDir]) {
    await run('mkdir', ['-p', d]);
    if (asRoot) {
      const { stdout: uid } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      chownSync(d, Number(uid), Number(gid));
    }
  }
  await cmd('initdb', ['-D', dataDir, '-U', 'postern', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = opts.port ?? (await freePorts(1))[0]!;
  const logFile = path.join(sockDir, 'server.log');
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${sockDir} -c fsync=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB`;
  const start = async () => {
    await cmd('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
  };
  const stop = async () => {
    await cmd('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => undefined);
  };
  await start();
  const url = (database = 'postgres') => `postgres://postern@127.0.0.1:${port}/${database}`;
  const handle: TestPostgres = {
    port,
    url,
    async createDatabase(prefix = 'postern') {
      const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${++seq}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`create database "${name}" template template0 encoding 'UTF8' lc_collate 'C' lc_ctype 'C'`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async destroy() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return handle;
}

/** The server a vitest global setup started for this run (POSTERN_TEST_PG_URL), as a handle for new databases. */
export async function createTestDatabase(prefix = 'postern'): Promise<string> {
  const base = process.env.POSTERN_TEST_PG_URL;
  if (!base) throw new Error('POSTERN_TEST_PG_URL is not set (run the PostgreSQL part of the suite: npm run test:pg)');
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${++seq}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    // The run's pre-migrated template when the global setup made one (test/setup/pg-global.ts).
    const template = process.env.POSTERN_TEST_PG_TEMPLATE ?? 'template0';
    await client.query(`create database "${name}" template "${template}" encoding 'UTF8' lc_collate 'C' lc_ctype 'C'`);
  } finally {
    await client.end();
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Used by `spawn`-based helpers that want to know the binaries exist before starting. */
export function postgresInstalled(): boolean {
  try {
    binDir();
    return true;
  } catch {
    return false;
  }
}
