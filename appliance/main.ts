/**
 * Boot: config → data dir → database (migrations) → TLS → mail store → the core (built once,
 * here: the composition root) → control plane → IMAP → Haraka (supervised child) → first
 * operator. SIGINT/SIGTERM shut everything down in reverse.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startControlServer } from '../control/server.js';
import { type Config, ConfigError, dataPaths, loadConfig } from './config.js';
import { AutoResponder } from './core/delivery/auto-reply.js';
import { bootstrapOperator } from './core/access/bootstrap.js';
import { postmasterFallbackFor, reconcileRequiredAddresses } from './core/mailboxes/role-addresses.js';
import { drainBatches } from './core/portfolio/bulk.service.js';
import { rotateDueDkimKeys } from './core/templates/dkim-rotation.js';
import { domainOutboundLimits } from './core/templates/domain-policy.js';
import { startDnsScheduler } from './core/templates/dns-check.service.js';
import { purgeRecycleBin } from './core/mailboxes/recycle-bin.service.js';
import { enforceRetention } from './core/mailboxes/retention.js';
import { createResolver } from './net/resolver.js';
import { systemActor } from './core/kernel/authz.js';
import { CredentialService } from './core/access/credentials.js';
import { DbGrantsServing } from './core/access/grants-serving.js';
import { sweepExpiredGrants } from './core/access/grants.service.js';
import { SendLimiter } from './core/sending/limits.js';
import { SendingPolicy } from './core/sending/sending.js';
import { type CoreDeps, createCoreDeps } from './core/deps.js';
import { RecipientRouter } from './core/delivery/routing.js';
import { createDeliveryDeps } from './core/delivery/delivery-deps.js';
import { PLATFORM_SCOPE } from './core/kernel/scope.js';
import { openDatabase, readsOffThread } from './db/dialect.js';
import { migrateToLatest } from './db/migrate.js';
import { repos } from './db/repos/index.js';
import { startImapServer } from './imap/server.js';
import { sharedServing } from './imap/shared-serving.js';
import { createLogger, humanNotice, type Logger } from './logger.js';
import { wireMetrics } from './metrics-sources.js';
import { countAttackAlert, countSearchIndexFailure, metricsPort, setNodeInfo, setSmtpLimits } from './metrics.js';
import { loadSecretKey } from './core/access/secret-box.js';
import { alertLoginAttack } from './core/access/login-alerts.service.js';
import { type BlobStore, blobStoreHealth, openBlobStore } from './mailstore/blobstore.js';
import { SqlMailStore } from './mailstore/store.js';
import { MigrationRunner } from './core/migration/index.js';
import { writeHarakaConfig } from './mta/haraka-config.js';
import { ApplianceMailer } from './mta/mailer.js';
import { outboundQueueSource } from './mta/outbound-queue.js';
import { mtaRpcHandlers } from './mta/rpc-handlers.js';
import { HarakaSupervisor } from './mta/supervisor.js';
import { ensureTls } from './tls.js';
import { LeaseRunner } from './cluster/lease.js';
import { limitsFor, pruneSharedLimits } from './core/access/shared-limits.js';
import { SpamLearner } from './spam/learner.js';
import { SpamScanner } from './spam/scanner.js';
import { type ClusterNotifier, createNotifier } from './cluster/notifier.js';

const ORPHAN_SWEEP_INTERVAL_MS = 60 * 60_000;
const GRANT_SWEEP_INTERVAL_MS = 60_000;

type Db = ReturnType<typeof openDatabase>['db'];
type Paths = ReturnType<typeof dataPaths>;

/**
 * The composition root: the one core of the appliance (handed to the MTA handlers, the
 * schedulers and the control plane; nothing else builds core deps), the one delivery path (SMTP
 * inbound and the appliance's own mail), the Haraka supervisor and the mailer.
 */
async function composeAppliance(config: Readonly<Config>, logger: Logger, paths: Paths, db: Db, store: SqlMailStore, tls: Awaited<ReturnType<typeof ensureTls>>, cluster: ClusterNotifier) {
  // One login throttle for IMAP, SMTP AUTH and the console (per source, never per account alone).
  // One node: in memory; a cluster (PostgreSQL): in the shared database, so all nodes count alike.
  const shared = limitsFor(db, config.storage.databaseUrl !== null, config.sendLimits.windowMs);
  const loginThrottle = shared.loginThrottle;
  const credentials = new CredentialService(db, logger.child({ service: 'auth' }), loginThrottle, metricsPort);
  credentials.joinCluster(cluster); // revocations reach every node's sessions
  // Shared-mailbox grants: one serving instance for IMAP, SMTP and the core (changes reach every node).
  const grants = new DbGrantsServing(db, logger.child({ service: 'grants' }));
  grants.joinCluster(cluster);
  const core = createCoreDeps(db, config, Date.now, { revoker: credentials, credentials, loginThrottle, metrics: metricsPort, grants });
  const router = new RecipientRouter(db, { hostname: config.hostname, postmasterFallback: (domainId, address) => postmasterFallbackFor(systemActor('smtp'), core, domainId, address) });
  const sending = new SendingPolicy(db);
  const limiter = new SendLimiter(db, logger.child({ service: 'limits' }), config.sendLimits, shared.sendWindows);
  limiter.domainLimits = (domainId) => domainOutboundLimits(db, config, domainId);

  // Spam scanner (rspamd + redis, supervised children on loopback); absent: mail is unscanned.
  const scanner = new SpamScanner(config, paths, logger);
  await scanner.start();
  const learner = new SpamLearner(repos(db, PLATFORM_SCOPE).spam, store, scanner, logger);
  learner.start();

  const deliveryLog = logger.child({ service: 'delivery' });
  const delivery = createDeliveryDeps({
    router,
    store: store.ingest,
    sending,
    metrics: metricsPort,
    onAutoReplyError: (err) => deliveryLog.warn({ event: 'smtp.auto_reply.error', err }, 'auto-reply failed'),
  });
  const supervisor = new HarakaSupervisor({
    harakaRoot: await writeHarakaConfig(config, paths, tls, path.resolve(__dirname, '..', 'mta-plugins'), scanner.available),
    logger,
    handlers: mtaRpcHandlers({ config, core, delivery, credentials, sending, limiter, logger }),
    epoch: sending.epoch,
  });

  const mailer = new ApplianceMailer({ hostname: config.hostname, delivery, supervisor, sending, logger: logger.child({ service: 'mailer' }) });
  // Auto-replies are sent by the mailer, which needs the supervisor, which needs the handlers.
  delivery.autoResponder = new AutoResponder(db, mailer);
  const log = logger.child({ service: 'boot' });
  loginThrottle.onAttack = (alert) => {
    countAttackAlert();
    alertLoginAttack({ ...core, mailer }, alert)
      .then((sent) => log.warn({ event: 'auth.attack.alerted', failures: alert.failures, sources: alert.sources, recipients: sent.length }, 'login attack alert sent'))
      .catch((err) => log.error({ event: 'auth.attack.alert_error', err }, 'login attack alert failed'));
  };
  return { core, credentials, limiter, scanner, learner, supervisor, mailer };
}

/** Readiness of each component (GET /readyz). */
function healthCheck(db: Db, supervisor: HarakaSupervisor, store: SqlMailStore, scanner: SpamScanner, blobs: BlobStore, cluster: ClusterNotifier) {
  return async () => ({
    database: await repos(db, PLATFORM_SCOPE)
      .health.probe()
      .then(() => ({ ok: true }))
      .catch((err: Error) => ({ ok: false, detail: err.message })),
    mta: supervisor.isListening() ? { ok: true } : { ok: false, detail: 'Haraka is not listening' },
    mailstore: await store.health(),
    objectStore: await blobStoreHealth(blobs),
    // Not installed or switched off: ready, and the detail says mail is unscanned. Installed
    // but not running (starting, restarting): not ready.
    spam: scanner.available ? scanner.health() : { ok: true, detail: (scanner.health() as { detail: string }).detail },
    // Cluster notifications (LISTEN connection): not ready while it reconnects.
    cluster: cluster.state(),
  });
}

/** The first operator (bootstrap token or setup link) and the required addresses' audit backfill. */
async function bootstrapAtBoot(core: CoreDeps, log: Logger): Promise<void> {
  const bootstrap = await bootstrapOperator(systemActor('boot'), core);
  if (bootstrap.action === 'bootstrap-token-created') {
    log.info(
      { event: 'operator.bootstrap', tokenId: bootstrap.tokenId, revokedLinks: bootstrap.revokedLinks },
      bootstrap.revokedLinks ? 'operator token created from POSTERN_BOOTSTRAP_TOKEN; every open operator setup link revoked' : 'operator token created from POSTERN_BOOTSTRAP_TOKEN',
    );
  } else if (bootstrap.action === 'none' && bootstrap.revokedLinks) {
    log.info({ event: 'operator.setup_link.revoked', revokedLinks: bootstrap.revokedLinks }, 'an operator exists: every open operator setup link revoked');
  } else if (bootstrap.action === 'setup-link-issued') {
    log.warn(
      { event: 'operator.setup_link', expiresAt: bootstrap.expiresAt, setupUrl: bootstrap.setupUrl, curl: bootstrap.curl },
      'first operator: redeem the one-time setup link (the command is on stderr as a plain line)',
    );
    humanNotice([`First operator: redeem the one-time setup link (valid until ${bootstrap.expiresAt}) with:`, '', `  ${bootstrap.curl}`, '', 'It answers with your operator API token, shown once.']);
  }

  // Required addresses: migration 0019 made aliases without audit events; record them once.
  const required = await reconcileRequiredAddresses(systemActor('boot'), core);
  if (required.auditedBackfill) log.info({ event: 'domain.required_addresses.reconciled', ...required }, 'required addresses reconciled at boot');
}

/**
 * Hourly: offboarded mailboxes past their retention go to the recycle bin, DKIM keys rotate on
 * their template's cadence, what outlived the recycle bin is purged, then blobs nothing refers
 * to any more are removed.
 */
function startHousekeeping(core: CoreDeps, store: SqlMailStore, log: Logger, leases: LeaseRunner, intervalMs: number): void {
  // On the node holding the 'housekeeping' lease only (cluster); one node: always here.
  leases.every('housekeeping', intervalMs, () =>
    enforceRetention(systemActor('retention'), core)
      .then((ids) => {
        if (ids.length) log.info({ event: 'offboarding.retention.ended', mailboxes: ids.length }, 'retention ended: mailboxes moved to the recycle bin');
      })
      .catch((err) => log.error({ event: 'offboarding.retention.error', err }, 'retention job failed'))
      .then(() => rotateDueDkimKeys(systemActor('dkim-rotation'), core))
      .then((steps) => {
        if (steps && steps.length) log.info({ event: 'dkim.rotation', steps }, 'DKIM rotation steps');
      })
      .catch((err) => log.error({ event: 'dkim.rotation.error', err }, 'DKIM rotation failed'))
      .then(() => purgeRecycleBin(systemActor('purge'), core))
      .then((purged) => {
        if (purged.mailboxes.length || purged.domains.length) log.info({ event: 'recycle_bin.purged', mailboxes: purged.mailboxes.length, domains: purged.domains.length }, 'recycle bin purged');
      })
      .catch((err) => log.error({ event: 'recycle_bin.purge_error', err }, 'recycle bin purge failed'))
      .then(() => store.pruneFolderCopies())
      .then(() => store.sweepOrphanBlobs(ORPHAN_SWEEP_INTERVAL_MS))
      .catch((err) => log.error({ event: 'store.orphans.error', err }, 'orphan sweep failed'))
      .then(() => pruneSharedLimits(core, Date.now()))
      .then(() => undefined)
      .catch((err) => log.error({ event: 'store.orphans.error', err }, 'shared limits prune failed')),
  );
}

/** Every minute: shared-mailbox grants past their expiry end by themselves (audited as the system; open sessions told). */
function startGrantExpiry(core: CoreDeps, log: Logger, leases: LeaseRunner): void {
  leases.every('grant-expiry', GRANT_SWEEP_INTERVAL_MS, () =>
    sweepExpiredGrants(systemActor('grant-expiry'), core)
      .then((ended) => {
        if (ended) log.info({ event: 'grants.expired', grants: ended }, 'expired shared-mailbox grants ended');
      })
      .catch((err) => log.error({ event: 'grants.sweep.error', err }, 'grant expiry sweep failed')),
  );
}

/**
 * The search index's backfill (issue 18): messages stored before the index get their text in
 * bounded background batches, on one node; progress in the log at most every 10 s.
 */
function startSearchBackfill(store: SqlMailStore, log: Logger, leases: LeaseRunner): void {
  store.searchIndexer.onBatchError = (err, messages) => {
    countSearchIndexFailure();
    log.warn({ event: 'store.search_index.batch_failed', err, messages }, 'search index batch failed; the backfill will index its messages');
  };
  let logged = 0;
  const onProgress = (p: { done: number; total: number; finished: boolean }) => {
    if (!p.total) return;
    if (p.finished) log.info({ event: 'store.search_index.backfilled', messages: p.done }, 'search index backfilled');
    else if (Date.now() - logged >= 10_000) {
      logged = Date.now();
      log.info({ event: 'store.search_index.backfill', done: p.done, total: p.total }, `search index backfill: ${p.done} of ${p.total} messages`);
    }
  };
  leases.every(
    'search-index-backfill',
    ORPHAN_SWEEP_INTERVAL_MS,
    () =>
      store.searchBackfill
        .run({ onProgress })
        .then(() => undefined)
        .catch((err) => log.error({ event: 'store.search_index.error', err }, 'search index backfill failed')),
    { runOnAcquire: true },
  );
}

/**
 * The database (migrated), TLS files, the blob store, the cross-node notifier and the mail store,
 * after the boot's orphan-blob sweep.
 */
async function openStorage(config: Readonly<Config>, logger: Logger, paths: Paths, log: Logger) {
  const { db, close: closeDb } = openDatabase(config.storage, paths.database, { applicationName: `postern-${config.nodeId}` });
  const applied = await migrateToLatest(db);
  if (applied.length) log.info({ event: 'db.migrated', migrations: applied }, 'database migrated');

  const tls = await ensureTls(config, paths, logger);
  const blobs = await openBlobStore(config.storage, paths.blobs);
  // Cross-node change and revocation notification (PostgreSQL LISTEN/NOTIFY; single node: local).
  const cluster = await createNotifier(config, db, logger.child({ service: 'cluster' }));
  const store = new SqlMailStore({ db, blobs, maxMessageBytes: config.maxMessageBytes, metrics: metricsPort, cluster });
  store.warmReads(); // the blob read threads boot with the appliance, not at a first LOGIN (they took its first commands' CPU)
  // Nothing writes blobs before Haraka starts below, so every unreferenced blob is a leftover
  // of a crash between blob write and index commit (a shared store or a shared database: other
  // nodes write, so only blobs past the grace period). An unreachable store fails /readyz, not the boot.
  const grace = blobs.shared || config.storage.databaseUrl ? ORPHAN_SWEEP_INTERVAL_MS : 0;
  // APPENDs committed while their blob's fsync ran (issue 18): rows whose blob did not reach the disk go.
  const unsynced = await store.recoverUnsyncedBlobs().catch((err: Error) => (log.error({ event: 'store.unsynced.error', err }, 'unsynced blob recovery failed'), null));
  if (unsynced?.removed) log.warn({ event: 'store.unsynced.recovered', ...unsynced }, 'removed messages whose bytes did not reach the disk before a crash');
  else if (unsynced?.checked) log.info({ event: 'store.unsynced.recovered', ...unsynced }, 'blobs of the last messages stored before the stop are on disk');
  const swept = await store.sweepOrphanBlobs(grace).catch((err: Error) => (log.error({ event: 'store.orphans.error', err }, 'orphan sweep failed'), 0));
  if (swept) log.info({ event: 'store.orphans.swept', blobs: swept }, 'removed blobs of uncommitted deliveries');
  return { db, closeDb, tls, blobs, cluster, store };
}

/** The periodic jobs of the appliance, each on the node holding its lease. */
function startScheduledJobs(core: CoreDeps, store: SqlMailStore, log: Logger, leases: LeaseRunner, config: Readonly<Config>): void {
  startHousekeeping(core, store, log, leases, config.housekeepingIntervalMs);
  startGrantExpiry(core, log, leases);
  startSearchBackfill(store, log, leases);
}

export async function boot(config: Readonly<Config>, logger: Logger) {
  const paths = dataPaths(config);
  await mkdir(paths.root, { recursive: true, mode: 0o750 });
  await mkdir(paths.run, { recursive: true });
  const log = logger.child({ service: 'boot' });

  // TOTP secrets are sealed with a key kept outside the database (env or data-dir file, 0600).
  loadSecretKey(paths.root);
  const { db, closeDb, tls, blobs, cluster, store } = await openStorage(config, logger, paths, log);

  const { core, credentials, limiter, scanner, learner, supervisor, mailer } = await composeAppliance(config, logger, paths, db, store, tls, cluster);
  const health = healthCheck(db, supervisor, store, scanner, blobs, cluster);
  // IMAP migration jobs (issue 20): copied in the background, bounded per source host; interrupted ones resume on run.
  const migrations = new MigrationRunner(core, {
    store,
    logger: logger.child({ service: 'migration' }),
    source: { maxMessageBytes: config.maxMessageBytes },
    clustered: config.storage.databaseUrl !== null,
  });
  await migrations.start();
  const control = await startControlServer({
    // the control plane's reads outside transactions run on reader threads (SQLite), not on its serving loop
    core: { ...core, db: readsOffThread(core.db) },
    config,
    logger,
    health,
    tls,
    mailer,
    mailIngest: store.ingest,
    queue: outboundQueueSource(paths.queue, (p) => supervisor.call('outbound.send', p)),
    mailStore: store,
    migrations,
  });
  const imap = await startImapServer({ config, logger: logger.child({ service: 'imap' }), store, credentials, tls, shared: sharedServing(core) });
  // Metrics (GET /metrics): scrape-time sources, limiter hooks, audit chain timer, DNS statuses.
  // Scheduled jobs run on exactly one node (leases); one node holds them all.
  const leases = new LeaseRunner(db, { nodeId: config.nodeId, ttlMs: config.leaseTtlMs, logger: logger.child({ service: 'leases' }) });
  const dnsLease = leases.hold('dns-check');
  const auditLease = leases.hold('audit-verify');
  // the scheduled jobs' and the metrics' reads (audit chain verification among them) off the serving loop too
  startScheduledJobs({ ...core, db: readsOffThread(core.db) }, store, log, leases, config);
  await leases.start();
  const metrics = wireMetrics({ db: readsOffThread(db), logger, queueDir: paths.queue, supervisor, imap, limiter, auditLease, auditIntervalMs: config.auditVerifyIntervalMs });
  setSmtpLimits(config.smtpLimits);
  setNodeInfo(config.nodeId, config.storage.databaseUrl ? 'postgres' : 'sqlite', config.storage.blobStore);
  supervisor.start();

  await bootstrapAtBoot(core, log);
  const dnsScheduler = config.dnsCheckIntervalMs
    ? startDnsScheduler(core, { resolve: createResolver(config.dnsResolver), intervalMs: config.dnsCheckIntervalMs, exclusive: dnsLease, logger: logger.child({ service: 'dns-check' }) })
    : null;

  supervisor
    .waitListening(60_000)
    .then(() => log.info({ event: 'appliance.ready', http: control.url, smtp: config.ports.smtp, imap: config.ports.imap, imaps: config.ports.imaps }, 'Postern is ready'))
    .catch((err: Error) => log.error({ event: 'appliance.mta_slow', err: err.message }, 'Haraka did not come up'));

  let stopping: Promise<void> | null = null;
  return {
    config,
    db,
    store,
    credentials,
    supervisor,
    mailer,
    control,
    imap,
    scanner,
    learner,
    migrations,
    stop(): Promise<void> {
      stopping ??= (async () => {
        await migrations.stop(); // running copies stop at a batch boundary and become interrupted
        await store.searchBackfill.stop();
        await store.searchIndexer.stop(); // what it had not indexed yet is backfilled at the next boot
        await leases.stop();
        await dnsScheduler?.stop();
        metrics.stop();
        learner.stop();
        await Promise.allSettled([supervisor.stop(), imap.close(), control.close()]);
        await scanner.stop();
        await drainBatches(); // background bulk applies finish before the database closes
        await store.queue.drain();
        await cluster.close();
        await closeDb();
        log.info({ event: 'appliance.stopped' }, 'Postern stopped');
      })();
      return stopping;
    },
  };
}

async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`postern: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const appliance = await boot(config, logger).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`postern: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    logger.fatal({ event: 'appliance.boot_failed', err }, 'boot failed');
    process.exit(1);
  });
  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ event: 'appliance.signal', signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    appliance.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ event: 'appliance.stop_failed', err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // Benchmarks only (node --expose-gc): SIGUSR2 collects garbage, so memory is read settled.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) process.on('SIGUSR2', () => gc());
  process.on('unhandledRejection', (err) => logger.error({ event: 'appliance.unhandled_rejection', err }, 'unhandled rejection'));
}

if (require.main === module) void main();
