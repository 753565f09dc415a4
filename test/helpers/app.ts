/**
 * Builds the control plane exactly as production does (buildApp with serverOptions) over a
 * real, migrated SQLite database in a fresh temporary data dir, bootstrapped with an operator
 * token. Tests talk to it through `app.inject()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '../../appliance/db/schema.js';
import { type Config, dataPaths, loadConfig } from '../../appliance/config.js';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { bootstrapOperator } from '../../appliance/core/access/bootstrap.js';
import { createCoreDeps, type CoreDeps, type MailboxCredentials, type Revoker } from '../../appliance/core/deps.js';
import { repos } from '../../appliance/db/repos/index.js';
import { PLATFORM_SCOPE } from '../../appliance/core/kernel/scope.js';
import { outboundQueueSource } from '../../appliance/mta/outbound-queue.js';
import { createLogger } from '../../appliance/logger.js';
import { LoginThrottle } from '../../appliance/core/access/login-throttle.js';
import { buildApp, type HealthCheck } from '../../control/app.js';
import type { MailStore } from '../../appliance/mailstore/store.types.js';
import { FileBlobStore } from '../../appliance/mailstore/blobstore.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { openTestDatabase } from './database.js';
import { readsOffThread } from '../../appliance/db/dialect.js';
import type { Mailer, MailIngest } from '../../appliance/core/delivery/mailer.js';

export interface TestApp {
  app: FastifyInstance;
  core: CoreDeps;
  config: Readonly<Config>;
  dir: string;
  operatorToken: string;
  /** Every call the core made to the revoker, in order (also when a custom revoker was passed). */
  revocations: Array<{ mailboxId: string; reason: string }>;
  /** Moves the clock of the control plane (ms added to Date.now()). */
  advance(ms: number): void;
  /**
   * Stops (true) or restarts (false) the control plane's clock: while stopped only advance() moves
   * it, so a test of failure windows and lock times does not depend on how fast a loaded machine is.
   */
  hold(stopped: boolean): void;
  /**
   * Injects a JSON request; `token` null sends no Authorization header. `body` is the parsed JSON
   * answer: pass its type as T; it stays `any` by default because ~490 reads in 33 test files rely on it.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call<T = any>(
    method: InjectOptions['method'],
    url: string,
    opts?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: T; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  health?: (core: CoreDeps) => HealthCheck;
  /** false: boot without POSTERN_BOOTSTRAP_TOKEN (no operator token exists). */
  bootstrapToken?: boolean;
  /** Receives the revocations after they are recorded (e.g. a real CredentialService, built on the test database). */
  revoker?: Revoker | ((db: Kysely<DB>) => Revoker);
  /** Mailbox credential checks for the self-service login (e.g. a real CredentialService). */
  credentials?: MailboxCredentials | ((db: Kysely<DB>) => MailboxCredentials);
  /** The core Mailer (setup links of bulk batches), e.g. one that delivers to a test sink. */
  mailer?: Mailer;
  /** The store's ingest path for batch delivery tests (built on the test database). */
  mailIngest?: MailIngest | ((db: Kysely<DB>, dir: string) => MailIngest);
  /** The mail store (exports, point-in-time restores), built on the test database. */
  mailStore?: (db: Kysely<DB>, dir: string) => MailStore | Promise<MailStore>;
  /** Key and certificate (PEM) when the app serves HTTPS (POSTERN_HTTP_TLS=true). */
  tls?: { key: string; cert: string };
}

export async function createTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'postern-api-'));
  const operatorToken = `pst_test_operator_${randomBytes(16).toString('hex')}`;
  const config = loadConfig({
    POSTERN_DATA_DIR: dir,
    POSTERN_LOG_LEVEL: 'silent',
    POSTERN_HOSTNAME: 'mx.postern.test',
    POSTERN_PUBLIC_URL: 'https://console.postern.test',
    POSTERN_HTTP_TLS: 'false',
    ...(opts.bootstrapToken === false ? {} : { POSTERN_BOOTSTRAP_TOKEN: operatorToken }),
    ...opts.env,
  });
  const opened = await openTestDatabase(dataPaths(config).database);
  let offset = 0;
  let heldAt: number | null = null;
  const now = () => (heldAt ?? Date.now()) + offset;
  const revocations: Array<{ mailboxId: string; reason: string }> = [];
  const downstream = typeof opts.revoker === 'function' ? opts.revoker(opened.db) : opts.revoker;
  const credentials = typeof opts.credentials === 'function' ? opts.credentials(opened.db) : opts.credentials;
  const revoker: Revoker = {
    notifyRevoked(mailboxId, reason, credentialId) {
      revocations.push({ mailboxId, reason });
      return credentialId === undefined ? downstream?.notifyRevoked(mailboxId, reason) : downstream?.notifyRevoked(mailboxId, reason, credentialId);
    },
    sessionCount(mailboxId) {
      const d = downstream as (Revoker & { activeSessionCount?(id: string): number }) | undefined;
      return d?.sessionCount?.(mailboxId) ?? d?.activeSessionCount?.(mailboxId) ?? 0;
    },
  };
  // A real CredentialService brings its login throttle: the console shares it, as in production.
  const loginThrottle = (credentials as { throttle?: unknown } | undefined)?.throttle instanceof LoginThrottle ? (credentials as unknown as { throttle: LoginThrottle }).throttle : undefined;
  const core = createCoreDeps(opened.db, config, now, { revoker, credentials: credentials ?? null, loginThrottle });
  await bootstrapOperator(systemActor('boot'), core);
  const health: HealthCheck = opts.health
    ? opts.health(core)
    : async () => {
        try {
          await repos(opened.db, PLATFORM_SCOPE).health.probe();
          return { database: { ok: true } };
        } catch (err) {
          return { database: { ok: false, detail: (err as Error).message } };
        }
      };
  // As main.ts: the control plane receives the one core (no database of its own).
  const app = await buildApp({
    // as main.ts: the control plane's reads outside transactions on reader threads (SQLite)
    core: { ...core, db: readsOffThread(core.db) },
    config,
    logger: createLogger('silent', { pretty: false }),
    health,
    tls: opts.tls ?? { key: '', cert: '' },
    mailer: opts.mailer,
    mailIngest: typeof opts.mailIngest === 'function' ? opts.mailIngest(opened.db, dir) : opts.mailIngest,
    queue: outboundQueueSource(dataPaths(config).queue),
    // The real mail store over this app's database and a blob folder in its data dir (exports, restores).
    mailStore: opts.mailStore
      ? await opts.mailStore(opened.db, dir)
      : new SqlMailStore({ db: opened.db, blobs: await FileBlobStore.open(path.join(dir, 'blobs')), maxMessageBytes: config.maxMessageBytes }),
  });

  return {
    app,
    core,
    config,
    dir,
    operatorToken,
    revocations,
    advance(ms) {
      offset += ms;
    },
    hold(stopped) {
      if (stopped) heldAt ??= Date.now();
      else if (heldAt !== null) {
        offset += heldAt - Date.now(); // the clock goes on from where it stood
        heldAt = null;
      }
    },
    async call<T>(method: InjectOptions['method'], url: string, o: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) {
      const token = o.token === undefined ? operatorToken : o.token;
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let payload: string | undefined;
      if (o.raw !== undefined) payload = o.raw;
      else if (o.body !== undefined) payload = JSON.stringify(o.body);
      if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      const res = await app.inject({ method, url, headers, payload });
      let body: unknown = null;
      if (res.body) {
        try {
          body = JSON.parse(res.body);
        } catch {
          body = res.body;
        }
      }
      return { status: res.statusCode, body: body as T, headers: res.headers as Record<string, unknown> };
    },
    async close() {
      await app.close();
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const OWNER = { name: 'Ada Lovelace', email: 'ada@client-home.example' };

/** Creates a tenant with one domain and a tenant-admin token, through the API. */
export async function provisionTenant(t: TestApp, name: string, domain: string): Promise<{ tenantId: string; domainId: string; token: string }> {
  const tenant = await t.call<{ id: string }>('POST', '/api/v1/tenants', { body: { name } });
  if (tenant.status !== 201) throw new Error(`tenant: ${tenant.status} ${JSON.stringify(tenant.body)}`);
  const dom = await t.call<{ id: string }>('POST', `/api/v1/tenants/${tenant.body.id}/domains`, { body: { name: domain } });
  if (dom.status !== 201) throw new Error(`domain: ${dom.status} ${JSON.stringify(dom.body)}`);
  const tok = await t.call<{ token: string }>('POST', `/api/v1/tenants/${tenant.body.id}/tokens`, { body: { name: `${name} admin` } });
  if (tok.status !== 201) throw new Error(`token: ${tok.status} ${JSON.stringify(tok.body)}`);
  return { tenantId: tenant.body.id, domainId: dom.body.id, token: tok.body.token };
}

/** Creates a mailbox through the API and returns the response body. */
export async function provisionMailbox(t: TestApp, domainId: string, localPart: string, extra: Record<string, unknown> = {}, token?: string) {
  const res = await t.call<{ id: string; address: string; setup: { token: string; url: string; expiresAt: string } }>('POST', `/api/v1/domains/${domainId}/mailboxes`, {
    token,
    body: { localPart, owner: OWNER, credentialDelivery: 'link', ...extra },
  });
  if (res.status !== 201) throw new Error(`mailbox: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
