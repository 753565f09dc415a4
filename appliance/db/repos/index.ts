/**
 * The wall: the only code outside the mail store that builds SQL. `repos(db, scope)` hands a
 * use case its repositories, one per aggregate, all bound to the same executor (the database
 * or one transaction) and the same scope. `inTransaction` runs a use case's writes in one
 * transaction with repositories bound to it.
 *
 * Each aggregate's repository lives in its own file beside this one and is added below as one
 * getter (created on first use, so a use case pays only for what it touches).
 */
import type { Scope } from '../../core/kernel/scope.js';
import type { Executor } from './base.js';
import { MailboxesRepo } from './mailboxes.js';
import { AliasesRepo } from './aliases.js';
import { RecycleBinRepo } from './recycle-bin.js';

export type { Executor } from './base.js';

export class Repos {
  private readonly made = new Map<string, unknown>();

  constructor(
    readonly db: Executor,
    readonly scope: Scope,
  ) {}

  protected one<T>(key: string, make: () => T): T {
    let r = this.made.get(key) as T | undefined;
    if (r === undefined) {
      r = make();
      this.made.set(key, r);
    }
    return r;
  }

  /** Runs `fn` in one transaction (or in the current one) with repositories bound to it. */
  transaction<T>(fn: (r: Repos) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return this.db.transaction().execute((trx) => fn(new Repos(trx, this.scope)));
  }

  // Aggregates (one getter each, e.g.):
  // get mailboxes(): MailboxesRepo { return this.one('mailboxes', () => new MailboxesRepo(this.db, this.scope)); }
  get mailboxes(): MailboxesRepo { return this.one('mailboxes', () => new MailboxesRepo(this.db, this.scope)); }
  get aliases(): AliasesRepo { return this.one('aliases', () => new AliasesRepo(this.db, this.scope)); }
  get recycleBin(): RecycleBinRepo { return this.one('recycleBin', () => new RecycleBinRepo(this.db, this.scope)); }
}

export function repos(db: Executor, scope: Scope): Repos {
  return new Repos(db, scope);
}

/** `repos(db, scope).transaction(fn)`. */
export function inTransaction<T>(db: Executor, scope: Scope, fn: (r: Repos) => Promise<T>): Promise<T> {
  return repos(db, scope).transaction(fn);
}
