/**
 * The control plane application: Fastify instance, plugins, then routes (as fastify/demo).
 * Three encapsulated contexts: public routes (health, setup links, login, OpenAPI), session
 * routes (the console session of a principal or mailbox owner becomes the actor in one hook),
 * and the protected API under /api/v1, where one hook authenticates the bearer token and
 * enforces each route's declared permission. server.ts listens; tests call buildApp and use inject().
 */
import Fastify, { type FastifyHttpsOptions, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type https from 'node:https';
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Config } from '../appliance/config.js';
import { type CoreDeps, NO_SESSIONS_REVOKER } from '../appliance/core/deps.js';
import { hasSecretKey, loadSecretKey } from '../appliance/core/access/secret-box.js';
import type { Logger } from '../appliance/logger.js';
import cookie from '@fastify/cookie';
import { DOCS_HTML, DOCS_JS } from './docs/docs-page.js';
import { installAuthentication } from './plugins/authn.js';
import { installIdempotency } from './plugins/idempotency.js';
import { idempotencyStore } from '../appliance/core/access/idempotency-store.js';
import { installErrorHandling } from './plugins/errors.js';
import { registerOpenApi } from './plugins/openapi.js';
import { installRequestLog, requestLogger } from './plugins/request-log.js';
import { installSecurityHeaders } from './plugins/security-headers.js';
import consoleRoutes from './routes/console.routes.js';
import healthRoutes from './routes/health.routes.js';
import metricsRoutes, { installRequestMetrics } from './routes/metrics.routes.js';
import aliasesRoutes from './routes/v1/aliases.routes.js';
import auditRoutes from './routes/v1/audit.routes.js';
import authRoutes from './routes/v1/auth.routes.js';
import principalsRoutes from './routes/v1/principals.routes.js';
import domainsRoutes from './routes/v1/domains.routes.js';
import mailboxesRoutes from './routes/v1/mailboxes.routes.js';
import setupRoutes from './routes/v1/setup.routes.js';
import setupInfoRoutes from './routes/v1/setup-info.routes.js';
import tenantsRoutes from './routes/v1/tenants.routes.js';
import tokensRoutes from './routes/v1/tokens.routes.js';
import sendingRoutes from './routes/v1/sending.routes.js';
import batchesRoutes from './routes/v1/batches.routes.js';
import migrationBatchesRoutes from './routes/v1/migration-batches.routes.js';
import dnsRoutes, { mtaStsRoutes } from './routes/v1/dns.routes.js';
import templatesRoutes from './routes/v1/templates.routes.js';
import appPasswordsRoutes from './routes/v1/app-passwords.routes.js';
import offboardingRoutes from './routes/v1/offboarding.routes.js';
import resetsRoutes from './routes/v1/resets.routes.js';
import selfRecoveryRoutes from './routes/v1/self-recovery.routes.js';
import sessionContext from './routes/session-context.js';
import resetQueueRoutes from './routes/v1/reset-queue.routes.js';
import mailflowRoutes from './routes/v1/mailflow.routes.js';
import ownerTotpRoutes from './routes/v1/owner-totp.routes.js';
import autoconfigRoutes from './routes/autoconfig.routes.js';
import requiredAddressesRoutes from './routes/v1/required-addresses.routes.js';
import spamRoutes from './routes/v1/spam.routes.js';
import exportRoutes from './routes/v1/export.routes.js';
import type { MailStore } from '../appliance/mailstore/store.types.js';
import migrationsRoutes from './routes/v1/migrations.routes.js';
import accessRoutes from './routes/v1/access.routes.js';
import type { MigrationRunnerPort } from '../appliance/core/migration/index.js';
import { spamStats } from '../appliance/spam/metrics.js';
import { mailStats } from '../appliance/metrics-rolling.js';
import { httpLimitMetrics } from '../appliance/metrics.js';
import { limitConnections } from './plugins/connection-limits.js';
import { installTurnBudget } from './plugins/turn-budget.js';
import type { QueueSource } from '../appliance/core/sending/outbound-queue.service.js';
import type { Mailer, MailIngest } from '../appliance/core/delivery/mailer.js';
import { createResolver } from '../appliance/net/resolver.js';
import './types.js';
import type { ConnectionOptions } from 'node:tls';

export type HealthCheck = () => Promise<Record<string, { ok: boolean; detail?: string }>>;

export interface ControlDeps {
  /**
   * The appliance's one core (built by appliance/main.ts, the composition root): database,
   * clock, revoker (production: the CredentialService, which closes a mailbox's open sessions
   * after a suspension or deletion commits), mailbox credential checks, the login throttle
   * shared with IMAP and SMTP AUTH, and the metrics port. The control plane never builds its own.
   */
  core: CoreDeps;
  config: Readonly<Config>;
  logger: Logger;
  /** Readiness of each component (database, mta, store…); /readyz is 200 only when all are ok. */
  health: HealthCheck;
  tls: { key: string; cert: string };
  /** TLS options for connections to IMAP migration sources, as the runner has them (the plan's test logins; tests trust their private source here). */
  migrationSourceTls?: ConnectionOptions;
  /** Sends the appliance's own mail (setup links of bulk-created mailboxes); without it delivery stays pending. */
  mailer?: Mailer;
  /** The store's one ingest path (SqlMailStore.ingest), for batch delivery tests. */
  mailIngest?: MailIngest;
  /** Haraka's outbound queue as the queue view reads it (production: appliance/mta/outbound-queue.ts); absent: an empty queue. */
  queue?: QueueSource;
  /** The mail store (exports and point-in-time mailbox restores read and write through it); absent: those answer 503. */
  mailStore?: MailStore;
  /** The background runner of IMAP migration jobs (absent: jobs are recorded and wait for one). */
  migrations?: MigrationRunnerPort;
}

const NO_QUEUE: QueueSource = { list: async () => [], lastError: () => null };

export const API_VERSION = '1.0.0';

/** One registered route and the permission it declares (for the route-table tests and docs). */
export interface RouteEntry {
  method: string;
  url: string;
  permission: string | undefined;
  /** The session kind a route of the session context accepts. */
  session?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of the control plane with its declared permission, in registration order. */
    controlRoutes: readonly RouteEntry[];
  }
}

/** The Fastify options used in production and in tests alike. */
export function serverOptions(deps: ControlDeps): FastifyServerOptions {
  return {
    loggerInstance: deps.logger.child({ service: 'control' }),
    logController: new LogController({ disableRequestLogging: true }),
    // req.log is made at a request's first line through it (most write none: request-log.ts)
    childLoggerFactory: requestLogger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    exposeHeadRoutes: false,
    bodyLimit: 1024 * 1024,
    // Wrong types and unknown fields are errors (400), never coerced or silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // A client must have sent its whole request within this time (slow-loris senders are cut).
    requestTimeout: deps.config.httpLimits.requestTimeoutSeconds * 1000,
  };
}

export async function buildApp(deps: ControlDeps): Promise<FastifyInstance> {
  const base = serverOptions(deps);
  const app = (deps.config.httpTls ? Fastify({ ...(base as FastifyHttpsOptions<https.Server>), https: { key: deps.tls.key, cert: deps.tls.cert } }) : Fastify(base)) as unknown as FastifyInstance;
  limitConnections(app, deps.config.httpLimits, httpLimitMetrics);
  installTurnBudget(app); // a batch of ready requests spread over turns of the loop (issue 18's stall)
  if (!hasSecretKey()) loadSecretKey(deps.config.dataDir);
  const core: CoreDeps = deps.core;
  if (core.revoker === NO_SESSIONS_REVOKER) app.log.warn({ event: 'control.revoker.unwired' }, 'no revoker: suspensions will not close open sessions at once');

  const routes: RouteEntry[] = [];
  app.decorate('controlRoutes', routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, permission: route.config?.permission, ...(route.config?.session ? { session: route.config.session } : {}) });
  });
  app.decorateRequest('actor', null);
  installErrorHandling(app);
  installRequestLog(app);
  installRequestMetrics(app);
  installSecurityHeaders(app, { https: deps.config.httpTls });
  await app.register(cookie);
  const secureCookies = deps.config.httpTls || deps.config.publicUrl.startsWith('https:');
  await registerOpenApi(app, { publicUrl: deps.config.publicUrl, version: API_VERSION });

  // Public context: no authentication; every route declares permission 'public'.
  await app.register(async (pub) => {
    pub.addHook('onRoute', (route) => {
      if (route.config?.permission !== 'public') throw new Error(`public route ${route.method} ${route.url} must declare config.permission 'public'`);
    });
    await pub.register(healthRoutes, { health: deps.health });
    await pub.register(metricsRoutes, { config: deps.config });
    await pub.register(setupRoutes, { core: { ...core, mailer: deps.mailer ?? null } });
    await pub.register(setupInfoRoutes, { core });
    await pub.register(authRoutes, { core, secureCookies });
    await pub.register(selfRecoveryRoutes, { core: { ...core, mailer: deps.mailer ?? null } });
    await pub.register(mtaStsRoutes, { core });
    await pub.register(autoconfigRoutes, { core });
    pub
      .withTypeProvider<TypeBoxTypeProvider>()
      .get(
        '/api/v1/openapi.json',
        { config: { permission: 'public' }, schema: { hide: true, response: { 200: Type.Object({}, { additionalProperties: true }) } } },
        async () => app.swagger() as unknown as Record<string, unknown>,
      );
    await pub.register(consoleRoutes);
    pub.get('/api/v1/docs', { config: { permission: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(DOCS_HTML));
    pub.get('/api/v1/docs/docs.js', { config: { permission: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(DOCS_JS));
  });

  // Session context: one hook turns the console (principal) or owner (mailbox) session into the actor; routes declare which kind.
  await app.register(sessionContext, { core, mailer: deps.mailer ?? null, spamDefaults: deps.config.spam });

  // Protected context: one hook authenticates and enforces config.permission.
  await app.register(
    async (api) => {
      installAuthentication(api, core);
      installIdempotency(api, Date.now, idempotencyStore(deps.core, deps.config.storage.databaseUrl !== null));
      await api.register(tenantsRoutes, { core });
      await api.register(domainsRoutes, { core });
      await api.register(mailboxesRoutes, { core });
      await api.register(aliasesRoutes, { core });
      await api.register(tokensRoutes, { core });
      await api.register(auditRoutes, { core });
      await api.register(principalsRoutes, { core });
      await api.register(sendingRoutes, { core });
      await api.register(batchesRoutes, { core: { ...core, mailer: deps.mailer ?? null, mailIngest: deps.mailIngest ?? null } });
      await api.register(migrationBatchesRoutes, { core: { ...core, migrations: deps.migrations ?? null, migrationSourceTls: deps.migrationSourceTls } });
      await api.register(templatesRoutes, { core });
      await api.register(resetsRoutes, { core: { ...core, mailer: deps.mailer ?? null } });
      await api.register(appPasswordsRoutes, { core });
      await api.register(offboardingRoutes, { core });
      await api.register(resetQueueRoutes, { core });
      await api.register(ownerTotpRoutes, { core });
      await api.register(requiredAddressesRoutes, { core });
      await api.register(mailflowRoutes, { core, queue: deps.queue ?? NO_QUEUE, stats: { snapshot: (o) => mailStats.snapshot(o), spam: (o) => spamStats.snapshot(o) } });
      await api.register(spamRoutes, { core: { ...core, spamDefaults: deps.config.spam } });
      await api.register(dnsRoutes, { core, resolve: createResolver(deps.config.dnsResolver) });
      await api.register(exportRoutes, { core, mail: deps.mailStore ?? null });
      await api.register(migrationsRoutes, { core: { ...core, migrations: deps.migrations ?? null } });
      await api.register(accessRoutes, { core });
    },
    { prefix: '/api/v1' },
  );

  await app.ready();
  return app;
}
