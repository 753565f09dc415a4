/**
 * Every Prometheus metric of the appliance, in one registry (prom-client), served by the control
 * plane at GET /metrics. The list is closed: instrumented code calls the functions and metric
 * objects exported here, and labels stay bounded (listener, protocol, command, reason code,
 * tenant id, domain name — never an address). The Haraka child exposes nothing itself: it sends
 * its counts over RPC (`metrics.report`, see mta-plugins/shared/metrics.ts) and applyMtaReport
 * folds them in here.
 *
 * Cost: counters and histograms are updated in place; gauges that need a query (store size per
 * tenant, outbound queue) compute on scrape with a short cache; the audit chain is verified on a
 * timer, never per scrape.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { mailStats } from './metrics-rolling.js';
import { outboundQueueStats } from './mta/outbound-queue.js';
import type { MtaCounterName, MtaListener, MtaMetricsReport } from './rpc/metrics-report.js';
import type { MetricsPort } from './core/kernel/metrics-port.js';

export const registry = new Registry();

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// ---- this node (several nodes share a database: Prometheus scrapes each; this names it) --------

const nodeInfo = new Gauge({
  name: 'postern_node_info',
  help: "Always 1: this node's id (POSTERN_NODE_ID) and the engines it runs on (database: sqlite or postgres; blob_store: fs or s3).",
  labelNames: ['node', 'database', 'blob_store'] as const,
  registers: [registry],
});

export function setNodeInfo(node: string, database: 'sqlite' | 'postgres', blobStore: 'fs' | 's3'): void {
  nodeInfo.reset();
  nodeInfo.set({ node, database, blob_store: blobStore }, 1);
}

// ---- SMTP (counted in the Haraka child, applied by applyMtaReport) ----------------------------

const smtpConnections = new Counter({
  name: 'postern_smtp_connections_total',
  help: 'SMTP connections accepted, by listener (mx, submission, submissions).',
  labelNames: ['listener'] as const,
  registers: [registry],
});
const smtpSessions = new Gauge({
  name: 'postern_smtp_sessions',
  help: 'Open SMTP sessions, by listener.',
  labelNames: ['listener'] as const,
  registers: [registry],
});
const smtpAccepted = new Counter({
  name: 'postern_smtp_messages_accepted_total',
  help: 'Messages acknowledged with 250 after DATA (stored and/or queued), by listener.',
  labelNames: ['listener'] as const,
  registers: [registry],
});
const smtpRejected = new Counter({
  name: 'postern_smtp_rejections_total',
  help: 'SMTP commands refused by a plugin, by listener, SMTP stage and reply code (enhanced status code when given).',
  labelNames: ['listener', 'stage', 'code'] as const,
  registers: [registry],
});
const dkimSigned = new Counter({
  name: 'postern_dkim_signatures_total',
  help: 'DKIM signatures added to submitted messages, by algorithm.',
  labelNames: ['algorithm'] as const,
  registers: [registry],
});
const inboundAuth = new Counter({
  name: 'postern_inbound_auth_results_total',
  help: 'Inbound SPF, DKIM and DMARC results (one DKIM result per signature; "none" when unsigned).',
  labelNames: ['check', 'result'] as const,
  registers: [registry],
});
const smtpLimitRefusals = new Counter({
  name: 'postern_smtp_limit_refusals_total',
  help: 'SMTP sessions refused or cut by an abuse limit: sessions, sessions_per_ip, line_length, data_line_length, data_rate, data_deadline.',
  labelNames: ['limit'] as const,
  registers: [registry],
});
const smtpLimitSetting = new Gauge({
  name: 'postern_smtp_limit',
  help: 'Configured SMTP abuse limits (0: off): max_sessions, max_sessions_per_ip, data_min_rate_bytes_per_second, data_rate_window_seconds, data_timeout_seconds.',
  labelNames: ['setting'] as const,
  registers: [registry],
});

const httpLimitSetting = new Gauge({
  name: 'postern_http_limit',
  help: 'Configured HTTP listener limits: max_connections, max_connections_per_ip, request_timeout_seconds.',
  labelNames: ['setting'] as const,
  registers: [registry],
});
const httpConnections = new Gauge({ name: 'postern_http_connections', help: 'Open connections to the control plane listener.', registers: [registry] });
const httpRefusals = new Counter({
  name: 'postern_http_limit_refusals_total',
  help: 'Connections to the control plane refused at accept: max-connections (all clients) or per-ip (one address, IPv6 per /64).',
  labelNames: ['limit'] as const,
  registers: [registry],
});

/** The control plane's connection limits (control/plugins/connection-limits.ts) report here. */
export const httpLimitMetrics = {
  configured(l: { maxConnections: number; maxConnectionsPerIp: number; requestTimeoutSeconds: number }): void {
    httpLimitSetting.set({ setting: 'max_connections' }, l.maxConnections);
    httpLimitSetting.set({ setting: 'max_connections_per_ip' }, l.maxConnectionsPerIp);
    httpLimitSetting.set({ setting: 'request_timeout_seconds' }, l.requestTimeoutSeconds);
  },
  open(n: number): void {
    httpConnections.set(n);
  },
  refused(limit: 'max-connections' | 'per-ip'): void {
    httpRefusals.inc({ limit });
  },
};

/** Publishes the configured SMTP limits (called once at boot). */
export function setSmtpLimits(l: { maxSessions: number; maxSessionsPerIp: number; dataMinRateBytesPerSecond: number; dataRateWindowSeconds: number; dataTimeoutSeconds: number }): void {
  smtpLimitSetting.set({ setting: 'max_sessions' }, l.maxSessions);
  smtpLimitSetting.set({ setting: 'max_sessions_per_ip' }, l.maxSessionsPerIp);
  smtpLimitSetting.set({ setting: 'data_min_rate_bytes_per_second' }, l.dataMinRateBytesPerSecond);
  smtpLimitSetting.set({ setting: 'data_rate_window_seconds' }, l.dataRateWindowSeconds);
  smtpLimitSetting.set({ setting: 'data_timeout_seconds' }, l.dataTimeoutSeconds);
}
const SMTP_LIMITS = new Set(['sessions', 'sessions_per_ip', 'line_length', 'data_line_length', 'data_rate', 'data_deadline']);
const mtaRss = new Gauge({ name: 'postern_mta_resident_memory_bytes', help: 'Resident memory of the Haraka child process.', registers: [registry] });
const mtaHeap = new Gauge({ name: 'postern_mta_heap_used_bytes', help: 'V8 heap used by the Haraka child process.', registers: [registry] });
const mtaCpu = new Counter({ name: 'postern_mta_cpu_seconds_total', help: 'CPU time (user + system) of the Haraka child processes.', registers: [registry] });
const mtaLag = new Gauge({ name: 'postern_mta_event_loop_lag_seconds', help: 'Event loop lag of the Haraka child (mean over the last report interval).', registers: [registry] });
// Registered with the registry on construction; its collect() reads the source at scrape time.
new Counter({
  name: 'postern_mta_restarts_total',
  help: 'Times the supervisor restarted a crashed Haraka child since the appliance started.',
  registers: [registry],
  collect() {
    // The supervisor counts; the counter mirrors it (it only grows within a process).
    if (!sources) return;
    this.reset();
    this.inc(sources.mtaRestarts());
  },
});
// Registered with the registry on construction; its collect() reads the source at scrape time.
new Gauge({
  name: 'postern_mta_up',
  help: '1 while the Haraka child runs and listens.',
  registers: [registry],
  collect() {
    if (sources) this.set(sources.mtaUp() ? 1 : 0);
  },
});

// ---- delivery and outbound (appliance side) --------------------------------------------------

export const localDeliveries = new Counter({
  name: 'postern_smtp_local_deliveries_total',
  help: 'Mailbox copies stored from SMTP (inbound and submission to hosted mailboxes).',
  registers: [registry],
});
export const outboundResults = new Counter({
  name: 'postern_outbound_results_total',
  help: 'Outbound delivery attempts by result (delivered, deferred, bounced); one per destination domain of a queued message.',
  labelNames: ['result'] as const,
  registers: [registry],
});
// Registered with the registry on construction; its collect() reads the source at scrape time.
new Gauge({
  name: 'postern_outbound_queue_messages',
  help: "Messages (per destination domain) in Haraka's outbound queue.",
  registers: [registry],
  async collect() {
    if (!sources) return;
    const s = await outboundQueueStats(sources.queueDir);
    this.set(s.messages);
    outboundQueueOldest.set(s.oldestAgeSeconds);
  },
});
const outboundQueueOldest = new Gauge({
  name: 'postern_outbound_queue_oldest_age_seconds',
  help: "Age of the oldest message in Haraka's outbound queue (0 when empty).",
  registers: [registry],
});

// ---- IMAP ------------------------------------------------------------------------------------

export const imapConnections = new Counter({
  name: 'postern_imap_connections_total',
  help: 'IMAP connections accepted, by listener (imap, imaps).',
  labelNames: ['listener'] as const,
  registers: [registry],
});
// Registered with the registry on construction; its collect() reads the source at scrape time.
new Gauge({
  name: 'postern_imap_sessions',
  help: 'Open IMAP sessions.',
  registers: [registry],
  collect() {
    if (sources) this.set(sources.imapSessions());
  },
});
const imapCommands = new Counter({
  name: 'postern_imap_commands_total',
  help: 'IMAP commands executed, by command name and tagged status (OK, NO, BAD).',
  labelNames: ['command', 'status'] as const,
  registers: [registry],
});
const imapCommandSeconds = new Histogram({
  name: 'postern_imap_command_duration_seconds',
  help: 'IMAP command latency by command name (IDLE excluded: it lasts as long as the client waits).',
  labelNames: ['command'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

const imapUnauthSessions = new Gauge({
  name: 'postern_imap_unauthenticated_sessions',
  help: 'Open IMAP sessions that have not logged in yet.',
  registers: [registry],
});
const imapLimit = new Gauge({
  name: 'postern_imap_limit',
  help: 'Configured IMAP limits: connection caps (sessions) and timeouts (seconds), by limit name.',
  labelNames: ['limit'] as const,
  registers: [registry],
});
const imapRefusals = new Counter({
  name: 'postern_imap_limit_refusals_total',
  help: 'IMAP connections closed or commands refused by a limit, by reason (max-connections, per-ip, preauth-timeout, command-timeout, idle-timeout, literal-too-large, preauth-literal, auth-failures, fetch-items).',
  labelNames: ['reason'] as const,
  registers: [registry],
});
const imapLogSuppressed = new Counter({
  name: 'postern_imap_log_lines_suppressed_total',
  help: 'IMAP log lines left out by the log rate limit (failed and throttled logins), by event.',
  labelNames: ['event'] as const,
  registers: [registry],
});

// ---- authentication and limits ---------------------------------------------------------------

const authAttempts = new Counter({
  name: 'postern_auth_attempts_total',
  help: 'Mailbox logins through the credential module, by protocol (imap, smtp, web) and result (success, invalid, disabled, throttled).',
  labelNames: ['protocol', 'result'] as const,
  registers: [registry],
});
const sendLimitRefusals = new Counter({
  name: 'postern_send_limit_refusals_total',
  help: 'Submissions refused by a send limit, by tenant and reason (mailbox-rate, tenant-rate).',
  labelNames: ['tenant', 'reason'] as const,
  registers: [registry],
});
const sendBlocks = new Counter({
  name: 'postern_send_blocks_total',
  help: 'Mailboxes blocked from sending by the anomaly threshold, by tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

// ---- mail store ------------------------------------------------------------------------------

const storeBytes = new Gauge({
  name: 'postern_mailstore_used_bytes',
  help: 'Bytes stored in mailboxes, by tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry],
  collect: () => refreshStore(),
});
const storeMessages = new Gauge({
  name: 'postern_mailstore_messages',
  help: 'Messages stored in mailboxes, by tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry],
  collect: () => refreshStore(),
});
const ingestSeconds = new Histogram({
  name: 'postern_ingest_commit_duration_seconds',
  help: 'Time to commit a message to the index (group-commit wait included), per ingest (SMTP delivery, IMAP APPEND).',
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});
const ingestCopies = new Counter({ name: 'postern_ingest_copies_total', help: 'Folder entries created by the ingest path (SMTP, APPEND, imports).', registers: [registry] });
const searchIndexFailures = new Counter({
  name: 'postern_search_index_failed_batches_total',
  help: 'Batches of new messages the search indexer failed to write (their messages are indexed by the backfill; SEARCH reads them meanwhile).',
  registers: [registry],
});
export function countSearchIndexFailure(): void {
  searchIndexFailures.inc();
}

// ---- control plane, DNS, audit ---------------------------------------------------------------

const httpSeconds = new Histogram({
  name: 'postern_http_request_duration_seconds',
  help: 'Control-plane request latency by method, route pattern and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});
const dnsStatus = new Gauge({
  name: 'postern_dns_check_status',
  help: 'Status of the last DNS check of each live hosted domain (ok, degraded, failing, unknown): one series per domain, value 1, labelled with its current status.',
  labelNames: ['domain', 'tenant', 'status'] as const,
  registers: [registry],
  collect: () => refreshDns(),
});
const auditOk = new Gauge({ name: 'postern_audit_chain_ok', help: '1 when the last verification of the audit hash chain succeeded, 0 when it found a break.', registers: [registry] });
const auditEvents = new Gauge({ name: 'postern_audit_chain_events', help: 'Audit events covered by the last chain verification.', registers: [registry] });
const auditVerifiedAt = new Gauge({ name: 'postern_audit_chain_verified_timestamp_seconds', help: 'When the audit chain was last verified (Unix time).', registers: [registry] });

// ---- functions the instrumented code calls ---------------------------------------------------

const authThrottle = new Counter({
  name: 'postern_auth_throttle_total',
  help: 'Login attempts throttled, by scope (source, account-source, network, account) and action (refused, delayed).',
  labelNames: ['scope', 'action'] as const,
  registers: [registry],
});
const authAttackAlerts = new Counter({
  name: 'postern_auth_attack_alerts_total',
  help: 'Sustained login attacks on an account reported to its owner and tenant admins (once per account and alert interval).',
  registers: [registry],
});
const logSuppressed = new Counter({
  name: 'postern_log_lines_suppressed_total',
  help: 'Log lines left out by rate limiting (counted instead), by source.',
  labelNames: ['source'] as const,
  registers: [registry],
});

export function countThrottle(scope: 'source' | 'account-source' | 'network' | 'account', action: 'refused' | 'delayed'): void {
  authThrottle.inc({ scope, action });
}
export function countAttackAlert(): void {
  authAttackAlerts.inc();
}
export function countLogSuppressed(source: 'auth' | 'imap' | 'smtp' | 'http'): void {
  logSuppressed.inc({ source });
}

export type AuthResult = 'success' | 'invalid' | 'disabled' | 'throttled';

export function countAuth(protocol: 'imap' | 'smtp' | 'web', result: AuthResult): void {
  authAttempts.inc({ protocol, result });
  if (result !== 'success') mailStats.add('authFailed');
}

/** Mailbox copies stored from SMTP; one tenant id per copy (the per-hour figures count per tenant). */
export function countLocalDeliveries(tenantIds: readonly string[]): void {
  if (!tenantIds.length) return;
  localDeliveries.inc(tenantIds.length);
  const per = new Map<string, number>();
  for (const t of tenantIds) per.set(t, (per.get(t) ?? 0) + 1);
  for (const [t, n] of per) mailStats.add('local', n, t);
}

/** Queued messages (queue id + destination domain) already counted as deferred in the mail-flow figures. */
const deferredMessages = new Set<string>();

/**
 * One outbound delivery attempt's result (per destination domain of a queued message). The
 * Prometheus counter counts attempts; the dashboard's "deferred" counts messages, once each
 * (`message` names it: queue id and destination domain), however often they are retried.
 */
export function countOutboundResult(kind: string, message?: string): void {
  const result = kind === 'delivered' || kind === 'deferred' ? kind : 'bounced';
  outboundResults.inc({ result });
  if (result !== 'deferred' || message === undefined) {
    if (message !== undefined) deferredMessages.delete(message);
    mailStats.add(result);
    return;
  }
  if (deferredMessages.has(message)) return;
  deferredMessages.add(message);
  if (deferredMessages.size > 10_000) deferredMessages.delete(deferredMessages.values().next().value!);
  mailStats.add('deferred');
}

export function countSendRefusal(tenantId: string, reason: string): void {
  sendLimitRefusals.inc({ tenant: tenantId, reason: reason === 'tenant-rate' ? 'tenant-rate' : 'mailbox-rate' });
}

export function countSendBlock(tenantId: string): void {
  sendBlocks.inc({ tenant: tenantId });
}

/** Starts the ingest timer; call the result with the number of folder entries committed (0 on failure). */
export function timeIngest(): (copies: number) => void {
  const end = ingestSeconds.startTimer();
  return (copies) => {
    end();
    if (copies) ingestCopies.inc(copies);
  };
}

export function observeImapCommand(command: string, status: string, seconds: number): void {
  imapCommands.inc({ command, status });
  if (command !== 'IDLE') imapCommandSeconds.observe({ command }, seconds);
}

export type ImapRefusal = 'max-connections' | 'per-ip' | 'preauth-timeout' | 'command-timeout' | 'idle-timeout' | 'literal-too-large' | 'preauth-literal' | 'auth-failures' | 'fetch-items';

export function countImapRefusal(reason: ImapRefusal): void {
  imapRefusals.inc({ reason });
}

export function setImapUnauthenticatedSessions(n: number): void {
  imapUnauthSessions.set(n);
}

export function setImapLimits(limits: {
  maxConnections: number;
  maxUnauthenticatedPerIp: number;
  preAuthTimeoutMs: number;
  commandTimeoutMs: number;
  idleTimeoutMs: number;
  maxAuthFailures: number;
}): void {
  imapLimit.set({ limit: 'max_auth_failures' }, limits.maxAuthFailures);
  imapLimit.set({ limit: 'max_connections' }, limits.maxConnections);
  imapLimit.set({ limit: 'max_unauthenticated_per_ip' }, limits.maxUnauthenticatedPerIp);
  imapLimit.set({ limit: 'preauth_timeout_seconds' }, limits.preAuthTimeoutMs / 1000);
  imapLimit.set({ limit: 'command_timeout_seconds' }, limits.commandTimeoutMs / 1000);
  imapLimit.set({ limit: 'idle_timeout_seconds' }, limits.idleTimeoutMs / 1000);
}

export function countImapLogSuppressed(event: string, n: number): void {
  if (n > 0) imapLogSuppressed.inc({ event }, n);
}

export function observeHttpRequest(method: string, route: string, status: number, seconds: number): void {
  httpSeconds.observe({ method, route, status: String(status) }, seconds);
}

export const DNS_STATUSES = ['ok', 'degraded', 'failing', 'unknown'] as const;
export type DnsStatus = (typeof DNS_STATUSES)[number];

/**
 * For the DNS checks (issue 7): record a domain's new status at once (`null`: the domain is
 * gone). Scrapes also re-read the latest snapshot of every domain (MetricSources.dnsStatuses).
 */
export function setDnsCheckStatus(domain: string, tenantId: string, status: DnsStatus | null): void {
  for (const s of DNS_STATUSES) dnsStatus.remove({ domain, tenant: tenantId, status: s });
  if (status !== null) dnsStatus.set({ domain, tenant: tenantId, status }, 1);
}

export function setAuditChainStatus(result: { ok: boolean; events: number }, at = Date.now()): void {
  auditOk.set(result.ok ? 1 : 0);
  auditEvents.set(result.events);
  auditVerifiedAt.set(Math.floor(at / 1000));
}

// ---- the Haraka child's reports --------------------------------------------------------------

const connectionChecks = new Counter({
  name: 'postern_smtp_connection_checks_total',
  help: 'Spam defence before DATA: dnsbl, connection_rate, recipient_rate and early_talker checks by result (pass, listed, limited, refused, error).',
  labelNames: ['check', 'result'],
  registers: [registry],
});
const CONNECTION_CHECKS = new Set(['dnsbl', 'connection_rate', 'recipient_rate', 'early_talker']);
const CHECK_RESULTS = new Set(['pass', 'listed', 'limited', 'refused', 'error']);

const LISTENERS: readonly MtaListener[] = ['mx', 'submission', 'submissions'];
const RESULT_WORDS = new Set(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy', 'quarantine', 'reject']);

/** Label values from the child are checked against what each metric may carry (bounded). */
function listener(v: unknown): MtaListener {
  return LISTENERS.includes(v as MtaListener) ? (v as MtaListener) : 'mx';
}
function word(v: unknown, allowed: (s: string) => boolean): string {
  const s = String(v ?? '').toLowerCase();
  return allowed(s) ? s : 'other';
}
const isStage = (s: string) => /^[a-z_]{1,24}$/.test(s);
const isCode = (s: string) => /^[245]\d\d( [245]\.\d{1,3}\.\d{1,3})?$/.test(s);
const isAlgorithm = (s: string) => /^(rsa|ed25519)-sha256$/.test(s);
const isCheck = (s: string) => s === 'spf' || s === 'dkim' || s === 'dmarc';

const APPLY: Record<MtaCounterName, (labels: Record<string, unknown>, n: number) => void> = {
  'smtp.connection': (l, n) => smtpConnections.inc({ listener: listener(l.listener) }, n),
  'smtp.accepted': (l, n) => smtpAccepted.inc({ listener: listener(l.listener) }, n),
  'smtp.rejected': (l, n) => {
    smtpRejected.inc({ listener: listener(l.listener), stage: word(l.stage, isStage), code: word(l.code, isCode) }, n);
    mailStats.add('rejected', n);
  },
  'dkim.signed': (l, n) => dkimSigned.inc({ algorithm: word(l.algorithm, isAlgorithm) }, n),
  'spam.check': (l, n) => connectionChecks.inc({ check: word(l.check, (c) => CONNECTION_CHECKS.has(c)), result: word(l.result, (r) => CHECK_RESULTS.has(r)) }, n),
  'inbound.auth': (l, n) => inboundAuth.inc({ check: word(l.check, isCheck), result: word(l.result, (s) => RESULT_WORDS.has(s)) }, n),
  'smtp.limit': (l, n) => smtpLimitRefusals.inc({ limit: word(l.limit, (s) => SMTP_LIMITS.has(s)) }, n),
};

let lastMtaCpu = 0;

export function applyMtaReport(report: MtaMetricsReport): void {
  for (const c of report.counters ?? []) {
    const apply = Object.prototype.hasOwnProperty.call(APPLY, c.name) ? APPLY[c.name] : undefined;
    const n = Number(c.n);
    if (apply && Number.isFinite(n) && n > 0) apply(c.labels ?? {}, n);
  }
  for (const l of LISTENERS) smtpSessions.set({ listener: l }, Math.max(0, Number(report.sessions?.[l] ?? 0)));
  const p = report.process;
  if (p) {
    mtaRss.set(p.rssBytes);
    mtaHeap.set(p.heapUsedBytes);
    mtaLag.set(p.eventLoopLagSeconds);
    // A restarted child starts counting from zero again.
    const delta = p.cpuSeconds >= lastMtaCpu ? p.cpuSeconds - lastMtaCpu : p.cpuSeconds;
    if (delta > 0) mtaCpu.inc(delta);
    lastMtaCpu = p.cpuSeconds;
  }
}

/** The child is gone: its sessions with it. */
export function mtaExited(): void {
  for (const l of LISTENERS) smtpSessions.set({ listener: l }, 0);
  lastMtaCpu = 0;
}

// ---- scrape-time sources, wired once by main.ts ----------------------------------------------

export interface MetricSources {
  /** Haraka's outbound queue directory (data/haraka/queue). */
  queueDir: string;
  mtaUp: () => boolean;
  mtaRestarts: () => number;
  imapSessions: () => number;
  /** Bytes and messages per tenant (one grouped query). */
  storeUsage: () => Promise<Array<{ tenantId: string; bytes: number; messages: number }>>;
  /** The latest DNS check status of every live domain (one query). */
  dnsStatuses: () => Promise<Array<{ domain: string; tenantId: string; status: string }>>;
  /** Verifies the audit hash chain (run every auditIntervalMs, not per scrape). */
  verifyAudit: () => Promise<{ ok: boolean; events: number } | null>;
  auditIntervalMs?: number;
  onError?: (what: string, err: unknown) => void;
}

// The queue directory is read by one module (appliance/mta/outbound-queue.ts).
export { outboundQueueStats };

const STORE_CACHE_MS = 10_000;
let started: { stop(): void } | null = null;
let sources: MetricSources | null = null;

// Both store gauges wait for one grouped query, refreshed at most every STORE_CACHE_MS.
let storeAt = 0;
let refreshing: Promise<void> = Promise.resolve();
let knownTenants = new Set<string>();
function refreshStore(): Promise<void> {
  if (!sources || Date.now() - storeAt < STORE_CACHE_MS) return refreshing;
  storeAt = Date.now();
  const src = sources;
  refreshing = src.storeUsage().then(
    (rows) => {
      const current = new Set(rows.map((r) => r.tenantId));
      for (const t of knownTenants) {
        if (current.has(t)) continue;
        storeBytes.remove({ tenant: t });
        storeMessages.remove({ tenant: t });
      }
      for (const r of rows) {
        storeBytes.set({ tenant: r.tenantId }, r.bytes);
        storeMessages.set({ tenant: r.tenantId }, r.messages);
      }
      knownTenants = current;
    },
    (err: unknown) => src.onError?.('store-usage', err),
  );
  return refreshing;
}

let dnsAt = 0;
let dnsRefreshing: Promise<void> = Promise.resolve();
function refreshDns(): Promise<void> {
  if (!sources || Date.now() - dnsAt < STORE_CACHE_MS) return dnsRefreshing;
  dnsAt = Date.now();
  const src = sources;
  dnsRefreshing = src.dnsStatuses().then(
    (rows) => {
      dnsStatus.reset();
      for (const r of rows) {
        const status = (DNS_STATUSES as readonly string[]).includes(r.status) ? r.status : 'unknown';
        dnsStatus.set({ domain: r.domain, tenant: r.tenantId, status }, 1);
      }
    },
    (err: unknown) => src.onError?.('dns-status', err),
  );
  return dnsRefreshing;
}

/** Default process metrics (memory, CPU, event-loop lag, GC), scrape-time gauges, audit timer. Once per process. */
export function startApplianceMetrics(src: MetricSources): { stop(): void } {
  if (started) return started;
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  // Gauges named *_total break Prometheus' naming rules (promtool refuses them); the same counts
  // remain as nodejs_active_handles / _requests / _resources, by type.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const report = (what: string) => (err: unknown) => src.onError?.(what, err);

  sources = src;

  const verify = () =>
    src
      .verifyAudit()
      .then((r) => r && setAuditChainStatus(r)) // null: another node verifies (cluster lease)
      .catch(report('audit-chain'));
  const first = setTimeout(verify, 0);
  const timer = setInterval(verify, src.auditIntervalMs ?? 10 * 60_000);
  first.unref();
  timer.unref();
  started = {
    stop() {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
  return started;
}

export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** The registry behind the core's and the store's metrics port (core/kernel/metrics-port.ts), wired by main.ts. */
export const metricsPort: MetricsPort = {
  localDeliveries: countLocalDeliveries,
  auth: countAuth,
  throttle: countThrottle,
  logSuppressed: countLogSuppressed,
  ingestTimer: timeIngest,
};
