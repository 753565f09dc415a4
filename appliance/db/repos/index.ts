/**
 * The wall: the only code outside the mail store that builds SQL. `repos(db, scope)` hands a
 * use case its repositories, one per aggregate, all bound to the same executor (the database
 * or one transaction) and the same scope. `inTransaction` runs a use case's writes in one
 * transaction with repositories bound to it.
 *
 * Each aggregate's repository lives in its own file beside this one and is added below as one
 * getter (created on first use, so a use case pays only for what it touches).
 */
import type { Transaction } from 'kysely';
import type { Scope } from '../../core/kernel/scope.js';
import type { DB } from '../schema.js';
import type { Executor } from './base.js';
import { DeliveryRepo } from './delivery.js';
import { StatsRepo } from './stats.js';
import { HealthRepo } from './health.js';
import { PrincipalsRepo } from './principals.js';
import { TokensRepo } from './tokens.js';
import { SessionsRepo } from './sessions.js';
import { AppPasswordsRepo } from './app-passwords.js';
import { SetupLinksRepo } from './setup-links.js';
import { OwnerSecurityRepo } from './owner-security.js';
import { PoliciesRepo } from './policies.js';
import { OffboardingRepo } from './offboarding.js';
import { ResetsRepo } from './resets.js';
import { SendingRepo } from './sending.js';
import { LimitsRepo } from './limits.js';
import { SpamRepo } from './spam.js';
import { TenantsRepo } from './tenants.js';
import { DomainsRepo } from './domains.js';
import { BatchesRepo } from './batches.js';
import { MigrationBatchesRepo } from './migration-batches.js';
import { TemplatesRepo } from './templates.js';
import { DnsRepo } from './dns.js';
import { DkimRepo } from './dkim.js';
import { AuditRepo } from './audit.js';
import { OwnershipRepo } from './ownership.js';
import { MailboxesRepo } from './mailboxes.js';
import { AliasesRepo } from './aliases.js';
import { RecycleBinRepo } from './recycle-bin.js';
import { LeasesRepo } from './leases.js';
import { RateWindowsRepo } from './rate-windows.js';
import { IdempotencyRepo } from './idempotency.js';
import { MigrationsRepo } from './migrations.js';
import { GrantsRepo } from './grants.js';

export type { Executor } from './base.js';
/** The write epoch of the tables API token authentication reads (SQLite; null on PostgreSQL). */
export { authWriteEpoch, listWriteEpoch, mtaWriteEpoch } from '../sqlite-readers.js';

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
  get grants(): GrantsRepo {
    return this.one('grants', () => new GrantsRepo(this.db, this.scope));
  }
  get leases(): LeasesRepo {
    return this.one('leases', () => new LeasesRepo(this.db, this.scope));
  }
  get rateWindows(): RateWindowsRepo {
    return this.one('rateWindows', () => new RateWindowsRepo(this.db, this.scope));
  }
  get idempotency(): IdempotencyRepo {
    return this.one('idempotency', () => new IdempotencyRepo(this.db, this.scope));
  }
  get delivery(): DeliveryRepo {
    return this.one('delivery', () => new DeliveryRepo(this.db, this.scope));
  }
  get stats(): StatsRepo {
    return this.one('stats', () => new StatsRepo(this.db, this.scope));
  }
  get health(): HealthRepo {
    return this.one('health', () => new HealthRepo(this.db, this.scope));
  }
  get principals(): PrincipalsRepo {
    return this.one('principals', () => new PrincipalsRepo(this.db, this.scope));
  }
  get tokens(): TokensRepo {
    return this.one('tokens', () => new TokensRepo(this.db, this.scope));
  }
  get sessions(): SessionsRepo {
    return this.one('sessions', () => new SessionsRepo(this.db, this.scope));
  }
  get appPasswords(): AppPasswordsRepo {
    return this.one('appPasswords', () => new AppPasswordsRepo(this.db, this.scope));
  }
  get setupLinks(): SetupLinksRepo {
    return this.one('setupLinks', () => new SetupLinksRepo(this.db, this.scope));
  }
  get ownerSecurity(): OwnerSecurityRepo {
    return this.one('ownerSecurity', () => new OwnerSecurityRepo(this.db, this.scope));
  }
  get policies(): PoliciesRepo {
    return this.one('policies', () => new PoliciesRepo(this.db, this.scope));
  }
  get offboarding(): OffboardingRepo {
    return this.one('offboarding', () => new OffboardingRepo(this.db, this.scope));
  }
  get resets(): ResetsRepo {
    return this.one('resets', () => new ResetsRepo(this.db, this.scope));
  }
  get sending(): SendingRepo {
    return this.one('sending', () => new SendingRepo(this.db, this.scope));
  }
  get limits(): LimitsRepo {
    return this.one('limits', () => new LimitsRepo(this.db, this.scope));
  }
  get spam(): SpamRepo {
    return this.one('spam', () => new SpamRepo(this.db, this.scope));
  }
  get tenants(): TenantsRepo {
    return this.one('tenants', () => new TenantsRepo(this.db, this.scope));
  }
  get domains(): DomainsRepo {
    return this.one('domains', () => new DomainsRepo(this.db, this.scope));
  }
  get batches(): BatchesRepo {
    return this.one('batches', () => new BatchesRepo(this.db, this.scope));
  }
  get migrationBatches(): MigrationBatchesRepo {
    return this.one('migrationBatches', () => new MigrationBatchesRepo(this.db, this.scope));
  }
  get templates(): TemplatesRepo {
    return this.one('templates', () => new TemplatesRepo(this.db, this.scope));
  }
  get dns(): DnsRepo {
    return this.one('dns', () => new DnsRepo(this.db, this.scope));
  }
  get dkim(): DkimRepo {
    return this.one('dkim', () => new DkimRepo(this.db, this.scope));
  }
  get audit(): AuditRepo {
    return this.one('audit', () => new AuditRepo(this.db, this.scope));
  }
  get ownership(): OwnershipRepo {
    return this.one('ownership', () => new OwnershipRepo(this.db, this.scope));
  }
  get mailboxes(): MailboxesRepo {
    return this.one('mailboxes', () => new MailboxesRepo(this.db, this.scope));
  }
  get aliases(): AliasesRepo {
    return this.one('aliases', () => new AliasesRepo(this.db, this.scope));
  }
  get recycleBin(): RecycleBinRepo {
    return this.one('recycleBin', () => new RecycleBinRepo(this.db, this.scope));
  }
  get migrations(): MigrationsRepo {
    return this.one('migrations', () => new MigrationsRepo(this.db, this.scope));
  }
}

/** A handle's shared repositories: the platform scope's, and one per tenant scope. */
interface SharedRepos {
  platform: Repos | null;
  tenants: Map<string, Repos>;
}
const shared = new WeakMap<Executor, SharedRepos>();
/** Tenant scopes kept per handle before they start over. */
const TENANTS_MAX = 1000;

/**
 * The repositories of `scope` on `db`. Outside a transaction they are shared per handle and scope
 * tenant (issue 18: a use case such as the ownership answer asked for them half a dozen times per
 * request, each time a new set and its repositories): a repository holds nothing but its handle and
 * scope, so sharing changes no answer. A transaction's are its own.
 */
export function repos(db: Executor, scope: Scope): Repos {
  if (db.isTransaction) return new Repos(db, scope);
  let s = shared.get(db);
  if (!s) shared.set(db, (s = { platform: null, tenants: new Map() }));
  const tenant = scope.tenantId;
  if (tenant === null) return (s.platform ??= new Repos(db, scope));
  let r = s.tenants.get(tenant);
  if (!r) {
    if (s.tenants.size >= TENANTS_MAX) s.tenants.clear();
    s.tenants.set(tenant, (r = new Repos(db, scope)));
  }
  return r;
}

/** `repos(db, scope).transaction(fn)`. */
export function inTransaction<T>(db: Executor, scope: Scope, fn: (r: Repos) => Promise<T>): Promise<T> {
  return repos(db, scope).transaction(fn);
}

/**
 * The transaction `t` is bound to (inside `Repos.transaction` / `inTransaction` only), for the
 * calls that take one: the audit log's append, setup links, the revocation call.
 */
export function trxOf(t: Repos): Transaction<DB> {
  if (!t.db.isTransaction) throw new Error('trxOf: the repositories are not bound to a transaction');
  return t.db as Transaction<DB>;
}
