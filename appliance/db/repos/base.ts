/**
 * The base of every aggregate repository: the executor (the database or the use case's
 * transaction) and the scope. Tenant-scoped repositories filter and guard by construction:
 * `scoped(q)` adds `tenant_id = <scope>` to a query, `guardTenant(id)` refuses a write for
 * another tenant. A platform scope is explicit (`PLATFORM_SCOPE`).
 */
import type { Kysely } from 'kysely';
import { AppError } from '../../core/kernel/errors.js';
import type { Scope } from '../../core/kernel/scope.js';
import type { DB } from '../schema.js';
import { commitDurability } from '../dialect.js';

export type { ListPage } from '../../core/kernel/util.js';

/** A LIKE pattern matching `text` anywhere, with LIKE's wildcards escaped (ESCAPE '\\'). */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The database or a transaction on it (a kysely Transaction is a Kysely). */
export type Executor = Kysely<DB>;

export abstract class Repo {
  constructor(
    protected readonly db: Executor,
    readonly scope: Scope,
  ) {}

  /** The scope's tenant, or null for the platform scope. */
  protected get tenantId(): string | null {
    return this.scope.tenantId;
  }

  /** Adds `<column> = <scope tenant>` to a query unless the scope is the platform's. */
  protected scoped<Q extends { where: (...args: any[]) => any }>(q: Q, column = 'tenant_id'): Q {
    return this.tenantId === null ? q : (q.where(column, '=', this.tenantId) as Q);
  }

  /** Refuses to write a row of another tenant (a tenant scope writes its own tenant's rows only). */
  protected guardTenant(tenantId: string | null): void {
    if (this.tenantId !== null && tenantId !== this.tenantId) throw new AppError('NotFound', 'not found');
  }

  /**
   * A short bookkeeping write of its own (a job's checkpoint or run time, a last-use time), not
   * part of a use case's transaction: see syncedOffLoop.
   */
  protected syncedOffLoop<T>(work: (db: Executor) => Promise<T>): Promise<T> {
    return syncedOffLoop(this.db, work);
  }
}

/**
 * Runs `work` (a write outside any transaction) so that its commit's fsync does not stop the event
 * loop, and resolves once the commit is durable (issue 18, round 10). On a SQLite file database it
 * commits with synchronous = NORMAL on the one connection (dialect.ts commitDurability) and the WAL
 * is then fdatasync'd on a sync thread, shared with concurrent syncs; a synchronous commit there
 * is an fsync on the serving loop (12-22 ms each under disk contention in the control bench,
 * where the scheduled jobs' single-row commits stalled every request in flight). Inside a
 * transaction (its commit decides), on PostgreSQL (commits off this process) or in memory: `work`
 * on `db` as is.
 */
export async function syncedOffLoop<T>(db: Executor, work: (db: Executor) => Promise<T>): Promise<T> {
  const durability = db.isTransaction ? null : commitDurability(db);
  if (!durability) return work(db);
  const result = await durability.unsynced(work);
  await durability.sync();
  return result;
}
