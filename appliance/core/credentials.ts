/**
 * The one credential module (see credentials.types.ts). Runs in the appliance process; the
 * Haraka child reaches it over RPC, so throttling and revocation are shared by all protocols.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { countAuth } from '../metrics.js';
import type { CredentialId, Credentials, LoginAttempt, LoginResult } from './credentials.types.js';
import { hashPassword, verifyPassword } from './passwords.js';

export interface ThrottleOptions {
  /** Failures per account within the window before logins are delayed. */
  accountFailures: number;
  /** Failures per client IP within the window before logins are delayed. */
  ipFailures: number;
  windowMs: number;
  /** Lock-out after the limit: base * 2^(excess failures), capped. */
  baseLockMs: number;
  maxLockMs: number;
}

const DEFAULT_THROTTLE: ThrottleOptions = { accountFailures: 5, ipFailures: 20, windowMs: 15 * 60_000, baseLockMs: 1_000, maxLockMs: 15 * 60_000 };
const CACHE_TTL_MS = 5 * 60_000;

interface FailureRecord {
  times: number[];
  lockedUntil: number;
}

class FailureCounter {
  private readonly records = new Map<string, FailureRecord>();

  constructor(
    private readonly limit: number,
    private readonly opts: ThrottleOptions,
  ) {}

  lockedFor(key: string, now: number): number {
    const rec = this.records.get(key);
    return rec && rec.lockedUntil > now ? rec.lockedUntil - now : 0;
  }

  fail(key: string, now: number): void {
    const rec = this.records.get(key) ?? { times: [], lockedUntil: 0 };
    rec.times = rec.times.filter((t) => now - t < this.opts.windowMs);
    rec.times.push(now);
    const excess = rec.times.length - this.limit;
    if (excess >= 0) rec.lockedUntil = now + Math.min(this.opts.maxLockMs, this.opts.baseLockMs * 2 ** excess);
    this.records.set(key, rec);
    if (this.records.size > 100_000) this.prune(now);
  }

  clear(key: string): void {
    this.records.delete(key);
  }

  private prune(now: number): void {
    for (const [k, rec] of this.records) {
      if (rec.lockedUntil < now && rec.times.every((t) => now - t >= this.opts.windowMs)) this.records.delete(k);
    }
  }
}

/** Normalizes an app password as typed (groups separated by spaces or dashes, any case). */
export function normalizeAppPassword(password: string): string | null {
  const compact = password.replace(/[\s-]/g, '').toLowerCase();
  return /^[a-z]{16}$/.test(compact) ? compact : null;
}

export function appPasswordHash(normalized: string): string {
  return createHash('sha256').update(`postern-app-password:${normalized}`).digest('hex');
}

type Listener = { fn: (reason: string) => void; credentialId: CredentialId | undefined };

export class CredentialService implements Credentials {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly verified = new Map<string, number>();
  private readonly accounts: FailureCounter;
  private readonly ips: FailureCounter;
  /** A real hash to verify against when the account does not exist, so timing does not reveal it. */
  private dummyHash: Promise<string> | null = null;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly logger: Logger,
    throttle: Partial<ThrottleOptions> = {},
  ) {
    const opts = { ...DEFAULT_THROTTLE, ...throttle };
    this.accounts = new FailureCounter(opts.accountFailures, opts);
    this.ips = new FailureCounter(opts.ipFailures, opts);
  }

  async verifyLogin(attempt: LoginAttempt): Promise<LoginResult> {
    const now = Date.now();
    const username = String(attempt.username ?? '').trim().toLowerCase();
    const ip = attempt.remoteAddress || 'unknown';
    const locked = Math.max(this.accounts.lockedFor(username, now), this.ips.lockedFor(ip, now));
    if (locked > 0) {
      this.logger.warn({ event: 'auth.throttled', protocol: attempt.protocol, username, ip, retryAfterMs: locked }, 'login throttled');
      countAuth(attempt.protocol, 'throttled');
      return { ok: false, reason: 'throttled', retryAfterMs: locked };
    }
    const fail = (reason: 'invalid' | 'disabled'): LoginResult => {
      this.accounts.fail(username, now);
      this.ips.fail(ip, now);
      countAuth(attempt.protocol, reason);
      this.logger.info({ event: `${attempt.protocol}.auth.fail`, protocol: attempt.protocol, username, ip, reason }, 'login failed');
      return { ok: false, reason };
    };

    const mailbox = username.includes('@')
      ? await this.db
          .selectFrom('mailboxes')
          .select(['id', 'tenant_id', 'address', 'status', 'password_hash', 'credential_version'])
          .where('address', '=', username)
          .executeTakeFirst()
      : undefined;
    const password = String(attempt.password ?? '');
    // App passwords: 16 random letters (~75 bits), scoped to protocols; a fast hash suffices.
    const app = mailbox ? normalizeAppPassword(password) : null;
    if (mailbox && app) {
      const row = await this.db
        .selectFrom('app_passwords')
        .select(['id', 'scopes'])
        .where('mailbox_id', '=', mailbox.id)
        .where('secret_hash', '=', appPasswordHash(app))
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (row) {
        const scopes = JSON.parse(row.scopes) as string[];
        if (attempt.protocol === 'web' || !scopes.includes(attempt.protocol)) return fail('invalid');
        if (mailbox.status !== 'active') return fail('disabled');
        await this.db.updateTable('app_passwords').set({ last_used_at: now }).where('id', '=', row.id).execute();
        this.accounts.clear(username);
        countAuth(attempt.protocol, 'success');
        return {
          ok: true,
          mailboxId: mailbox.id,
          tenantId: mailbox.tenant_id,
          address: mailbox.address,
          credentialVersion: Number(mailbox.credential_version),
          credentialId: `app:${row.id}`,
        };
      }
    }
    if (!mailbox || !mailbox.password_hash) {
      this.dummyHash ??= hashPassword('postern-dummy-password');
      await verifyPassword(password, await this.dummyHash);
      return fail('invalid');
    }
    const version = Number(mailbox.credential_version);
    const cacheKey = `${mailbox.id}:${version}:${createHash('sha256').update(password).digest('base64')}`;
    const cachedUntil = this.verified.get(cacheKey);
    let good = cachedUntil !== undefined && cachedUntil > now;
    if (!good) {
      good = await verifyPassword(password, mailbox.password_hash);
      if (good) {
        if (this.verified.size > 50_000) this.verified.clear();
        this.verified.set(cacheKey, now + CACHE_TTL_MS);
      }
    }
    if (!good) return fail('invalid');
    if (mailbox.status !== 'active') return fail('disabled');
    this.accounts.clear(username);
    countAuth(attempt.protocol, 'success');
    return { ok: true, mailboxId: mailbox.id, tenantId: mailbox.tenant_id, address: mailbox.address, credentialVersion: version, credentialId: 'password' };
  }

  async isCurrent(mailboxId: string, credentialVersion: number, credentialId?: CredentialId): Promise<boolean> {
    const row = await this.db.selectFrom('mailboxes').select(['status', 'credential_version']).where('id', '=', mailboxId).executeTakeFirst();
    if (!row || row.status !== 'active' || Number(row.credential_version) !== credentialVersion) return false;
    if (credentialId?.startsWith('app:')) {
      const app = await this.db.selectFrom('app_passwords').select('revoked_at').where('id', '=', credentialId.slice(4)).where('mailbox_id', '=', mailboxId).executeTakeFirst();
      return !!app && app.revoked_at === null;
    }
    return true;
  }

  onRevoke(mailboxId: string, listener: (reason: string) => void, credentialId?: CredentialId): () => void {
    let set = this.listeners.get(mailboxId);
    if (!set) this.listeners.set(mailboxId, (set = new Set()));
    const entry: Listener = { fn: listener, credentialId };
    set.add(entry);
    return () => {
      set!.delete(entry);
      if (!set!.size) this.listeners.delete(mailboxId);
    };
  }

  /**
   * Tells every open session of the mailbox that its credentials no longer hold. Call it after
   * the transaction that suspended the mailbox or changed/revoked its credentials (which bumps
   * `credential_version`, so cached verifications and `isCurrent` fail from then on).
   */
  notifyRevoked(mailboxId: string, reason: string, credentialId?: CredentialId): number {
    const set = this.listeners.get(mailboxId);
    if (!set) return 0;
    // Revoking one app password ends only the sessions that logged in with it.
    const hit = [...set].filter((l) => credentialId === undefined || l.credentialId === credentialId);
    for (const l of hit) set.delete(l);
    if (!set.size) this.listeners.delete(mailboxId);
    for (const l of hit) {
      try {
        l.fn(reason);
      } catch (err) {
        this.logger.error({ event: 'auth.revoke.listener_error', err }, 'revocation listener failed');
      }
    }
    return hit.length;
  }

  /**
   * The one domain call for "cut this mailbox off now": bumps the credential version (new
   * logins and cached verifications fail, authenticated SMTP sessions fail their next check)
   * and closes open sessions. Suspension and password changes use it too.
   */
  async revokeAccess(mailboxId: string, reason: string): Promise<void> {
    await this.db
      .updateTable('mailboxes')
      .set((eb) => ({ credential_version: eb('credential_version', '+', 1), updated_at: Date.now() }))
      .where('id', '=', mailboxId)
      .execute();
    const closed = this.notifyRevoked(mailboxId, reason);
    this.logger.info({ event: 'auth.revoked', mailboxId, reason, sessions: closed }, 'mailbox access revoked');
  }

  activeSessionCount(mailboxId: string): number {
    return this.listeners.get(mailboxId)?.size ?? 0;
  }

  /** The Revoker's view (appliance/core/deps.ts): open IMAP sessions of the mailbox, for offboarding plans. */
  sessionCount(mailboxId: string): number {
    return this.activeSessionCount(mailboxId);
  }
}
