/**
 * What the domain core needs from the appliance: the database, the configuration, a clock, the
 * hooks into the serving layer (revocation of open sessions, mailbox credential checks) and the
 * metrics port. Built ONCE at boot by the composition root (appliance/main.ts) and handed to the
 * MTA handlers, the schedulers and the control plane (buildApp({ core })), then to every core
 * function after the actor.
 */
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { DB } from '../db/schema.js';
import type { CredentialId, Credentials } from './access/credentials.types.js';
import { type LoginGate, LoginThrottle } from './access/login-throttle.js';
import { DbGrantsServing } from './access/grants-serving.js';
import type { GrantsServing } from './access/grants.types.js';
import { type MetricsPort, NO_METRICS } from './kernel/metrics-port.js';

export type CoreConfig = Pick<Config, 'hostname' | 'publicUrl' | 'setupTokenTtlHours' | 'defaultQuotaBytes' | 'bootstrapToken'> &
  Partial<Pick<Config, 'recycleBinDays' | 'httpTls' | 'publicHostname' | 'publicPorts'>>;

/**
 * Closes the open sessions of a mailbox (IMAP, authenticated SMTP, console). The core calls it
 * after committing a change that bumped the mailbox's `credential_version` (suspension,
 * deletion, ownership changes that revoke access). The appliance passes its CredentialService.
 */
export interface Revoker {
  /** `credentialId` ('app:<id>'): only the sessions that logged in with that app password end. */
  notifyRevoked(mailboxId: string, reason: string, credentialId?: CredentialId): unknown;
  /** Open protocol sessions of the mailbox (IMAP, authenticated SMTP), when the revoker can count them. */
  sessionCount?(mailboxId: string): number;
}

/** The mailbox-credential check used by the self-service login (CredentialService in production). */
export type MailboxCredentials = Pick<Credentials, 'verifyLogin' | 'isCurrent'>;

export interface CoreDeps {
  db: Kysely<DB>;
  config: Readonly<CoreConfig>;
  /** Epoch milliseconds; injectable so tests can move time. */
  now(): number;
  revoker: Revoker;
  /** null: mailbox-owner login is unavailable (the self-service login answers 503). */
  credentials: MailboxCredentials | null;
  /** Console login throttling (per account and per IP). */
  loginThrottle: LoginGate;
  /** What the core counts (appliance/metrics.ts in production, NO_METRICS in tools). */
  metrics: MetricsPort;
  /** Shared-mailbox grants as IMAP/SMTP serve them; the core notifies it after grant changes (one instance per process). */
  grants: GrantsServing;
}

/** A revoker that reaches no session: for tools that never change mailboxes (boot, bootstrap). */
export const NO_SESSIONS_REVOKER: Revoker = { notifyRevoked: () => 0 };

export function createCoreDeps(
  db: Kysely<DB>,
  config: Readonly<CoreConfig>,
  now: () => number = Date.now,
  hooks: { revoker?: Revoker; credentials?: MailboxCredentials | null; loginThrottle?: LoginGate; metrics?: MetricsPort; grants?: GrantsServing } = {},
): CoreDeps {
  return {
    db,
    config,
    now,
    revoker: hooks.revoker ?? NO_SESSIONS_REVOKER,
    credentials: hooks.credentials ?? null,
    loginThrottle: hooks.loginThrottle ?? new LoginThrottle(),
    metrics: hooks.metrics ?? NO_METRICS,
    grants: hooks.grants ?? new DbGrantsServing(db, null, now),
  };
}

/** Days a deleted mailbox or domain stays restorable. */
export function recycleBinDays(deps: CoreDeps): number {
  return deps.config.recycleBinDays ?? 7;
}
