/**
 * Counts SQL statements while a callback runs: the texts run on SQLite (every better-sqlite3
 * statement passes through a prepared one, so only in-process SQLite is seen) and the SQL kysely
 * compiles (both engines: compiling happens in this process). better-sqlite3 is loaded once per
 * test worker and shared by the files it runs, so `restore` (afterAll) puts its prototype back.
 */
import Database from 'better-sqlite3';
import { DefaultQueryCompiler } from 'kysely';

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
