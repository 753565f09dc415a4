/**
 * Counts SQL statements while a callback runs: the texts run on SQLite (every better-sqlite3
 * statement passes through a prepared one, so only in-process SQLite is seen) and the SQL kysely
 * compiles (both engines: compiling happens in this process). better-sqlite3 is loaded once per
 * test worker and shared by the files it runs, so `restore` (afterAll) puts its prototype back.
 */
import Database from 'better-sqlite3';
import { DefaultQueryCompiler, type Kysely } from 'kysely';
import type { DB } from '../../appliance/db/schema.js';

export interface CountedStatements {
  /** SQL texts run on SQLite during the callback. */
  ran: string[];
  /** SQL compiled by kysely during the callback. */
  compiled: string[];
}

export interface StatementCounter {
  count<T>(fn: () => Promise<T>): Promise<CountedStatements & { value: T }>;
  restore(): void;
}

type Prepare = (this: Database.Database, source: string) => Database.Statement;

export function installStatementCounter(): StatementCounter {
  let active: CountedStatements | null = null;
  const proto = Database.prototype as unknown as { prepare: Prepare };
  const prepare = proto.prepare;
  proto.prepare = function (source: string) {
    const stmt = prepare.call(this, source);
    for (const m of ['run', 'all', 'get'] as const) {
      const fn = stmt[m] as (...args: unknown[]) => unknown;
      (stmt as unknown as Record<string, unknown>)[m] = function (this: unknown, ...args: unknown[]) {
        active?.ran.push(source);
        return fn.apply(this, args);
      };
    }
    return stmt;
  };
  const compiler = DefaultQueryCompiler.prototype as unknown as { compileQuery(...args: unknown[]): { sql: string } };
  const compileQuery = compiler.compileQuery;
  compiler.compileQuery = function (this: unknown, ...args: unknown[]) {
    const out = compileQuery.apply(this, args);
    active?.compiled.push(out.sql);
    return out;
  };
  return {
    async count(fn) {
      const counted: CountedStatements = { ran: [], compiled: [] };
      active = counted;
      try {
        return { ...counted, value: await fn() };
      } finally {
        active = null;
      }
    },
    restore() {
      proto.prepare = prepare;
      compiler.compileQuery = compileQuery;
    },
  };
}

/**
 * The database with every statement run counted by table while `counting.on` (both engines):
 * "select <table>" for a SELECT, the node kind for others. A statement is named when kysely
 * compiles it and counted when its result comes back, so a prepared statement (preparedRows:
 * compiled once, run many times) is counted at every run.
 */
export function countingDb(db: Kysely<DB>): { db: Kysely<DB>; ran: string[]; counting: { on: boolean } } {
  const ran: string[] = [];
  const counting = { on: false };
  const byQuery = new Map<unknown, string>();
  const counted = db.withPlugin({
    transformQuery(args) {
      const node = args.node as { kind: string; from?: { froms: Array<{ table?: { identifier?: { name?: string } } }> } };
      byQuery.set(args.queryId, node.kind === 'SelectQueryNode' ? `select ${node.from?.froms[0]?.table?.identifier?.name ?? '?'}` : node.kind);
      return args.node;
    },
    async transformResult(args) {
      if (counting.on) ran.push(byQuery.get(args.queryId) ?? '?');
      return args.result;
    },
  });
  return { db: counted, ran, counting };
}
