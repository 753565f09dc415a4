/**
 * The one credential module (see credentials.types.ts). Runs in the appliance process; the
 * Haraka child reaches it over RPC, so throttling and revocation are shared by all protocols.
 */
import { createHash } from 'node:crypto';
import { type Executor, repos } from '../../db/repos/index.js';
import type { MailboxesRepo } from '../../db/repos/mailboxes.js';
import type { Logger } from '../../logger.js';
import { type MetricsPort, NO_METRICS } from '../kernel/metrics-port.js';
import type { CredentialId, Credentials, LoginAttempt, LoginResult } from './credentials.types.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { type LoginGate, LoginThrottle, type LoginThrottleOptions, LogRateLimiter } from './login-throttle.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { revokeMailboxAccess } from '../mailboxes/lifecycle.js';
import { type ClusterNotifier, TOPICS } from '../../cluster/notifier.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const CACHE_TTL_MS = 5 * 60_000;

/** A sustained attack on one account (many failures from any sources), reported once per alert interval. */
export interface AttackReport {
  account: string;
  protocol: LoginAttempt['protocol'];
  failures: number;
  sources: number;
  lastSource: string;
  at: number;
}

/** Normalizes an app password as typed (groups separated by spaces or dashes, any case). */
export function normalizeAppPassword(password: string): string | null {
  const compact = password.replace(/[\s-]/g, '').toLowerCase();
  return /^[a-z]{16}$/.test(compact) ? compact : null;
}

export function appPasswordHash(normalized: string): string {
  return createHash('sha256').update(`postern-app-password:${normalized}`).digest('hex');
}

type Listener = { fn: (reason: string) => void; credentialId: CredentialId | undefined; credentialVersion: number | undefined };

export class CredentialService implements Credentials {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Verified passwords by mailbox (key: credential version and password digest → valid until). */
  private readonly verified = new Map<string, Map<string, number>>();
  private verifiedCount = 0;
  /** The other nodes of a cluster (joinCluster): revocations are told to them and theirs applied here. */
  private cluster: ClusterNotifier | null = null;
  /** Shared with the console's logins (appliance/main.ts hands the same instance to the control plane). */
  readonly throttle: LoginGate;
  private readonly logLimit = new LogRateLimiter();
  /** A real hash to verify against when the account does not exist, so timing does not reveal it. */
  private dummyHash: Promise<string> | null = null;
  /** The serving layer's look-ups: every tenant (a login names its mailbox by address). */
  private readonly mailboxes: MailboxesRepo;

  constructor(
    private readonly db: Executor,
    private readonly logger: Logger,
    throttle: Partial<LoginThrottleOptions> | LoginGate = {},
    private readonly metrics: MetricsPort = NO_METRICS,
  ) {
    this.throttle = typeof (throttle as LoginGate).check === 'function' ? (throttle as LoginGate) : new LoginThrottle(throttle as Partial<LoginThrottleOptions>);
    this.mailboxes = repos(db, PLATFORM_SCOPE).mailboxes;
  }

  /** Logs at most a few lines per event and source a minute; the rest are counted (metrics and `suppressed`). */
  private logLimited(level: 'info' | 'warn', key: string, fields: Record<string, unknown>, msg: string): void {
    const ok = this.logLimit.admit(key, Date.now());
    if (!ok) {
      this.metrics.logSuppressed('auth');
      return;
    }
    this.logger[level](ok.suppressed ? { ...fields, suppressed: ok.suppressed } : fields, msg);
  }

  async verifyLogin(attempt: LoginAttempt): Promise<LoginResult> {
    const now = Date.now();
    const username = String(attempt.username ?? '')
      .trim()
      .toLowerCase();
    const ip = attempt.remoteAddress || 'unknown';
    const decision = await this.throttle.check(username, ip, now);
    if (decision.action === 'refuse') {
      this.metrics.auth(attempt.protocol, 'throttled');
      this.metrics.throttle(decision.scope, 'refused');
      this.logLimited(
        'warn',
        `throttled\u0000${ip}`,
        { event: 'auth.throttled', protocol: attempt.protocol, username, ip, scope: decision.scope, retryAfterMs: decision.retryAfterMs },
        'login throttled',
      );
      return { ok: false, reason: 'throttled', retryAfterMs: decision.retryAfterMs };
    }
    if (decision.action === 'delay') {
      // Slowed, never refused: a correct password from a source that has not been failing passes.
      this.metrics.throttle(decision.scope, 'delayed');
      await sleep(decision.delayMs);
    }
    const fail = async (reason: 'invalid' | 'disabled'): Promise<LoginResult> => {
      const outcome = await this.throttle.fail(username, ip, now);
      this.metrics.auth(attempt.protocol, reason);
      this.logLimited('info', `fail\u0000${ip}`, { event: `${attempt.protocol}.auth.fail`, protocol: attempt.protocol, username, ip, reason }, 'login failed');
      if (outcome.alert) this.reportAttack({ account: username, protocol: attempt.protocol, failures: outcome.accountFailures, sources: outcome.sources, lastSource: ip, at: now });
      return { ok: false, reason };
    };

    const mailbox = username.includes('@') ? await this.mailboxes.forLogin(username) : undefined;
    const password = String(attempt.password ?? '');
    // App passwords: 16 random letters (~75 bits), scoped to protocols; a fast hash suffices.
    const app = mailbox ? normalizeAppPassword(password) : null;
    if (mailbox && app) {
      const row = await this.mailboxes.liveAppPassword(mailbox.id, appPasswordHash(app));
      if (row) {
        const scopes = JSON.parse(row.scopes) as string[];
        if (attempt.protocol === 'web' || !scopes.includes(attempt.protocol)) return fail('invalid');
        if (mailbox.status !== 'active') return fail('disabled');
        await this.mailboxes.touchAppPassword(row.id, now);
        await this.succeeded(attempt, username, ip, now);
        this.metrics.auth(attempt.protocol, 'success');
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
    const cacheKey = `${version}:${createHash('sha256').update(password).digest('base64')}`;
    const cachedUntil = this.verified.get(mailbox.id)?.get(cacheKey);
    let good = cachedUntil !== undefined && cachedUntil > now;
    if (!good) {
      good = await verifyPassword(password, mailbox.password_hash);
      if (good) this.remember(mailbox.id, cacheKey, now + CACHE_TTL_MS);
    }
    if (!good) return fail('invalid');
    if (mailbox.status !== 'active') return fail('disabled');
    await this.succeeded(attempt, username, ip, now);
    this.metrics.auth(attempt.protocol, 'success');
    return { ok: true, mailboxId: mailbox.id, tenantId: mailbox.tenant_id, address: mailbox.address, credentialVersion: version, credentialId: 'password' };
  }

  /**
   * IMAP and SMTP logins are complete here. A console login ('web') may still need its second
   * factor: the session service records its success only after that, or a password-knowing
   * attacker would reset the failure count with every code guess.
   */
  private async succeeded(attempt: LoginAttempt, username: string, ip: string, now: number): Promise<void> {
    if (attempt.protocol !== 'web') await this.throttle.succeed(username, ip, now);
  }

  /** Logs the attack (the throttle's onAttack alerts the owner and tenant admins). */
  private reportAttack(report: AttackReport): void {
    this.logger.warn({ event: 'auth.attack', account: report.account, protocol: report.protocol, failures: report.failures, sources: report.sources }, 'sustained login attack on an account');
  }

  async isCurrent(mailboxId: string, credentialVersion: number, credentialId?: CredentialId): Promise<boolean> {
    const row = await this.mailboxes.credentialState(mailboxId);
    if (!row || row.status !== 'active' || Number(row.credential_version) !== credentialVersion) return false;
    if (credentialId?.startsWith('app:')) return this.mailboxes.appPasswordLive(mailboxId, credentialId.slice(4));
    return true;
  }

  private remember(mailboxId: string, key: string, until: number): void {
    if (this.verifiedCount > 50_000) {
      this.verified.clear();
      this.verifiedCount = 0;
    }
    let m = this.verified.get(mailboxId);
    if (!m) this.verified.set(mailboxId, (m = new Map()));
    if (!m.has(key)) this.verifiedCount++;
    m.set(key, until);
  }

  /** Drops the mailbox's cached verifications (its credentials changed, here or on another node). */
  private forget(mailboxId: string): void {
    const m = this.verified.get(mailboxId);
    if (!m) return;
    this.verifiedCount -= m.size;
    this.verified.delete(mailboxId);
  }

  onRevoke(mailboxId: string, listener: (reason: string) => void, credentialId?: CredentialId, credentialVersion?: number): () => void {
    let set = this.listeners.get(mailboxId);
    if (!set) this.listeners.set(mailboxId, (set = new Set()));
    const entry: Listener = { fn: listener, credentialId, credentialVersion };
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
    // In a cluster the other nodes do the same on receipt (sent after the commit: the data is there).
    if (this.cluster?.clustered) {
      void this.cluster
        .publish(TOPICS.revoke, { m: mailboxId, r: reason, c: credentialId ?? null })
        .catch((err: unknown) => this.logger.error({ event: 'cluster.subscriber.error', err }, 'revocation not sent to the other nodes'));
    }
    return this.revokeHere(mailboxId, reason, credentialId);
  }

  /** Forgets cached verifications and ends this node's sessions of the mailbox (or of one app password). */
  private revokeHere(mailboxId: string, reason: string, credentialId?: CredentialId): number {
    this.forget(mailboxId);
    const set = this.listeners.get(mailboxId);
    if (!set) return 0;
    // Revoking one app password ends only the sessions that logged in with it.
    const hit = [...set].filter((l) => credentialId === undefined || l.credentialId === credentialId);
    return this.end(mailboxId, hit, reason);
  }

  private end(mailboxId: string, hit: Listener[], reason: string): number {
    const set = this.listeners.get(mailboxId);
    if (!set) return 0;
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
   * "Cut this mailbox off now" outside any other use case: the one revocation call
   * (lifecycle.revokeMailboxAccess: credential version, console sessions) in its own
   * transaction, then closes open sessions. Use cases that change a mailbox call
   * revokeMailboxAccess in their own transaction instead.
   */
  async revokeAccess(mailboxId: string, reason: string): Promise<void> {
    await repos(this.db, PLATFORM_SCOPE).transaction((t) => revokeMailboxAccess(t, mailboxId, Date.now(), { appPasswords: false }));
    const closed = this.notifyRevoked(mailboxId, reason);
    this.logger.info({ event: 'auth.revoked', mailboxId, reason, sessions: closed }, 'mailbox access revoked');
  }

  /**
   * Joins the cluster: revocations made here are sent to the other nodes, theirs end this node's
   * sessions and cached verifications; after a reconnect (revocations may have been missed) every
   * open session's credential is checked against the database again.
   */
  joinCluster(cluster: ClusterNotifier): void {
    this.cluster = cluster;
    cluster.subscribe(TOPICS.revoke, (p, { origin }) => {
      if (typeof p.m !== 'string') return;
      const credentialId = typeof p.c === 'string' && (p.c === 'password' || p.c.startsWith('app:')) ? (p.c as CredentialId) : undefined;
      const reason = typeof p.r === 'string' ? p.r : 'access revoked';
      const closed = this.revokeHere(p.m, reason, credentialId);
      this.logger.info({ event: 'cluster.revoke.received', mailboxId: p.m, origin, sessions: closed }, 'revocation from another node applied');
    });
    cluster.onResync(async () => {
      await this.recheckSessions();
    });
  }

  /** Ends every open session whose credential no longer holds (status, version, app password). */
  async recheckSessions(): Promise<number> {
    let closed = 0;
    for (const [mailboxId, set] of [...this.listeners]) {
      const row = await this.mailboxes.credentialState(mailboxId);
      const stale: Listener[] = [];
      for (const l of set) {
        const gone = !row || row.status !== 'active' || (l.credentialVersion !== undefined && Number(row.credential_version) !== l.credentialVersion);
        if (gone || (l.credentialId?.startsWith('app:') && !(await this.mailboxes.appPasswordLive(mailboxId, l.credentialId.slice(4))))) stale.push(l);
      }
      if (!stale.length) continue;
      this.forget(mailboxId);
      closed += this.end(mailboxId, stale, 'credentials revoked');
    }
    return closed;
  }

  activeSessionCount(mailboxId: string): number {
    return this.listeners.get(mailboxId)?.size ?? 0;
  }

  /** The Revoker's view (appliance/core/deps.ts): open IMAP sessions of the mailbox, for offboarding plans. */
  sessionCount(mailboxId: string): number {
    return this.activeSessionCount(mailboxId);
  }
}
