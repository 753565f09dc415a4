/**
 * The appliance configuration: one validated, frozen object built from environment variables
 * (and an optional JSON file named by POSTERN_CONFIG_FILE whose keys are the same variable
 * names). Environment variables win over the file. Invalid input throws a ConfigError that
 * names the variable; boot prints that one line and exits.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Ports {
  /** Inbound MX (SMTP, STARTTLS offered). */
  smtp: number;
  /** Message submission with STARTTLS (RFC 6409). */
  submission: number;
  /** Message submission over implicit TLS (RFC 8314). */
  submissions: number;
  imap: number;
  imaps: number;
  http: number;
}

export interface Config {
  dataDir: string;
  listenHost: string;
  hostname: string;
  ports: Ports;
  /** The host name mail clients connect to (autoconfig, SRV records, self-service page); default: hostname. */
  publicHostname: string;
  /** The ports mail clients reach (behind compose or NAT they differ from the listen ports); default: the listen ports. */
  publicPorts: Omit<Ports, 'http'>;
  logLevel: LogLevel;
  /** Largest message accepted over SMTP or IMAP APPEND, in bytes. */
  maxMessageBytes: number;
  /** DNS server used for SPF/DKIM/DMARC/MX lookups (`host:port`), or null for the system resolver. */
  dnsResolver: { host: string; port: number } | null;
  /** Value of the first operator's API token, created on first boot when set. */
  bootstrapToken: string | null;
  /** Operator-supplied certificate and key (PEM files); a self-signed pair is generated otherwise. */
  tlsCertFile: string | null;
  tlsKeyFile: string | null;
  /** Base URL used in setup and reset links. */
  publicUrl: string;
  /** Whether the control plane serves HTTPS on the HTTP port. */
  httpTls: boolean;
  /** Lifetime of a setup link, in hours. */
  setupTokenTtlHours: number;
  /** Allow IMAP LOGIN and SMTP AUTH without TLS from loopback clients (development only). */
  allowPlaintextAuthLoopback: boolean;
  /** Default quota of a new mailbox, in bytes. */
  defaultQuotaBytes: number;
  /** Days a deleted mailbox or domain stays in the recycle bin. */
  recycleBinDays: number;
  /** Global smarthost for outbound mail (many VPS providers block port 25); routes in the database win. */
  smarthost: { host: string; port: number; user: string | null; password: string | null; tls: 'opportunistic' } | null;
  /** TCP port of MX hosts for direct delivery (25; tests and special networks change it). */
  outboundPort: number;
  /** Haraka's temp_fail_intervals: when to retry after a temporary failure; then the message bounces. */
  outboundRetrySchedule: string;
  outboundMaxTempFailures: number | null;
  /** Haraka processes (POSTERN_MTA_PROCESSES; default 1: on 2 cores a second process cost Haraka more CPU per message than it gained, see README Benchmarks). */
  mtaProcesses: number;
  /** How often each domain's live DNS is checked against its expected records (0: only on demand). */
  dnsCheckIntervalMs: number;
  /** Scheduled jobs: audit chain verification (incremental) and housekeeping (retention, purge, orphans). */
  auditVerifyIntervalMs: number;
  housekeepingIntervalMs: number;
  /** Outbound limits per hour (defaults; per mailbox and tenant overrides live in the database). */
  sendLimits: {
    mailboxMessagesPerHour: number;
    mailboxRecipientsPerHour: number;
    tenantMessagesPerHour: number;
    tenantRecipientsPerHour: number;
    blockFactor: number;
    windowMs: number;
  };
  /** Bearer token required by GET /metrics (null: none). */
  metricsToken: string | null;
  /** Networks allowed to read GET /metrics (null: any client). */
  metricsAllow: ReadonlyArray<{ network: string; prefix: number; family: 'ipv4' | 'ipv6' }> | null;
  /** IMAP connection limits and timeouts (README "IMAP limits"). */
  imapLimits: ImapLimits;
  /** SMTP abuse limits (connect.postern-limits): session caps and the DATA rate floor. */
  smtpLimits: {
    maxSessions: number;
    maxSessionsPerIp: number;
    dataMinRateBytesPerSecond: number;
    dataRateWindowSeconds: number;
    dataTimeoutSeconds: number;
  };
  /** The spam scanner (rspamd + redis, supervised children on loopback) and its defaults. */
  spam: SpamConfig;
  /** HTTP listener limits (control plane and console): connection caps and the request deadline. */
  httpLimits: { maxConnections: number; maxConnectionsPerIp: number; requestTimeoutSeconds: number };
  /** Where structured state and message bytes live (embedded default: SQLite and the local blob folder). */
  storage: StorageConfig;
  /** This node's name in a cluster (logs, metrics, leases); default: the host name of the machine. */
  nodeId: string;
  /** POSTERN_PROXY_PROTOCOL_FROM: peers (load balancers) whose PROXY protocol header names the client for SMTP and IMAP; null = off. */
  proxyProtocolFrom: Config['metricsAllow'];
  /** Lease of a scheduled job (cluster): a dead node's jobs move to another after at most this. */
  leaseTtlMs: number;
}

export interface StorageConfig {
  /** postgres://user:pass@host:port/db, or null for the embedded SQLite database in the data dir. */
  databaseUrl: string | null;
  blobStore: 'fs' | 's3';
  /** Set when blobStore is 's3' (path-style requests to any S3-compatible endpoint). */
  s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string } | null;
}

export interface ImapLimits {
  /** Open IMAP sessions on both listeners together; beyond it new clients get `* BYE Too many connections`. */
  maxConnections: number;
  /** Not-yet-authenticated sessions per client address (IPv6: per /64). */
  maxUnauthenticatedPerIp: number;
  /** A session must log in within this time. */
  preAuthTimeoutMs: number;
  /** A started command line must be complete, and a literal must keep arriving, within this time. */
  commandTimeoutMs: number;
  /** Autologout of an authenticated session that sends nothing (RFC 9051 5.4: at least 30 minutes). */
  idleTimeoutMs: number;
  /** Failed logins on one connection before it is closed. */
  maxAuthFailures: number;
}

export interface SpamConfig {
  /** false: no scanner is started and inbound mail is unscanned (said in /readyz and the log). */
  enabled: boolean;
  rspamdPort: number;
  controllerPort: number;
  redisPort: number;
  /** Scanner down or slower than timeoutMs: 451 4.7.1 (tempfail) or deliver unscanned (accept); tenants may choose. */
  failMode: 'tempfail' | 'accept';
  timeoutMs: number;
  junkScore: number;
  rejectScore: number;
  greylisting: boolean;
  /** How long a greylisted triplet must wait before its retry is accepted. */
  greylistDelaySeconds: number;
  /** DNS block list zones checked at connect through the configured resolver (none by default). */
  dnsblZones: readonly string[];
  /** Connections and recipients per client IP per minute (0: no limit). */
  connectionsPerMinute: number;
  recipientsPerMinute: number;
  /** Milliseconds the client must wait for the banner; talking earlier is refused (0: off). */
  earlyTalkerMs: number;
  /** Where rspamd keeps its compiled regular expressions (shared across data dirs in tests). */
  hsCacheDir: string | null;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Source = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const HOSTNAME_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function readFileSource(env: Source): Source {
  const file = env.POSTERN_CONFIG_FILE;
  if (!file) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError('POSTERN_CONFIG_FILE', `cannot read ${file} as JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('POSTERN_CONFIG_FILE', `${file} must hold a JSON object of POSTERN_* keys`);
  }
  const out: Source = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!key.startsWith('POSTERN_')) {
      throw new ConfigError('POSTERN_CONFIG_FILE', `unknown key ${JSON.stringify(key)} in ${file}`);
    }
    if (value === null || value === undefined) continue;
    out[key] = String(value);
  }
  return out;
}

class Reader {
  constructor(private readonly src: Source) {}

  raw(name: string): string | undefined {
    const v = this.src[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optional(name: string): string | null {
    return this.raw(name) ?? null;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) throw new ConfigError(name, `expected a whole number, got ${JSON.stringify(v)}`);
    const n = Number(v);
    if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  port(name: string, fallback: number): number {
    return this.int(name, fallback, 1, 65535);
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
    throw new ConfigError(name, `expected true or false, got ${JSON.stringify(v)}`);
  }

  /** Sizes accept a plain byte count or a K/M/G suffix (binary units). */
  size(name: string, fallback: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const m = /^(\d+)\s*([kmg])?i?b?$/i.exec(v);
    if (!m) throw new ConfigError(name, `expected a size such as 52428800 or 50M, got ${JSON.stringify(v)}`);
    const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
    const n = Number(m[1]) * mult;
    if (n < 1024) throw new ConfigError(name, 'must be at least 1024 bytes');
    return n;
  }
}

function parseHostPort(name: string, value: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(value);
  if (!m) throw new ConfigError(name, `expected host:port, got ${JSON.stringify(value)}`);
  const host = m[1]!;
  const port = m[2] === undefined ? 53 : Number(m[2]);
  if (!isIP(host)) throw new ConfigError(name, `host must be an IP address, got ${JSON.stringify(host)}`);
  if (port < 1 || port > 65535) throw new ConfigError(name, `port must be between 1 and 65535`);
  return { host, port };
}

function parseSmarthost(r: Reader): Config['smarthost'] {
  const raw = r.optional('POSTERN_SMARTHOST');
  if (!raw) return null;
  const m = /^\[?([A-Za-z0-9.:-]+?)\]?(?::(\d+))?$/.exec(raw);
  if (!m) throw new ConfigError('POSTERN_SMARTHOST', `expected host:port, got ${JSON.stringify(raw)}`);
  const port = m[2] === undefined ? 587 : Number(m[2]);
  if (port < 1 || port > 65535) throw new ConfigError('POSTERN_SMARTHOST', 'port must be between 1 and 65535');
  if (port === 465) throw new ConfigError('POSTERN_SMARTHOST', 'implicit-TLS smarthosts (port 465) are not supported; use port 587 (STARTTLS is used whenever offered)');
  const user = r.optional('POSTERN_SMARTHOST_USER');
  const password = r.optional('POSTERN_SMARTHOST_PASSWORD');
  if ((user === null) !== (password === null)) throw new ConfigError('POSTERN_SMARTHOST_USER', 'user and password must be set together');
  return { host: m[1]!, port, user, password, tls: 'opportunistic' };
}

/** Haraka's interval list (e.g. "1m,5m*2,1h"); every entry must be at least 5 s or Haraka ignores them all. */
function parseRetrySchedule(raw: string): string {
  const parts = raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (!parts.length) throw new ConfigError('POSTERN_OUTBOUND_RETRY', 'needs at least one interval');
  for (const p of parts) {
    const m = /^(\d+)([smhd])(\*\d+)?$/.exec(p);
    if (!m) throw new ConfigError('POSTERN_OUTBOUND_RETRY', `bad interval ${JSON.stringify(p)} (use e.g. 30s, 5m*2, 1h)`);
    const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
    if (seconds < 5) throw new ConfigError('POSTERN_OUTBOUND_RETRY', `interval ${p} is shorter than 5 s`);
  }
  return parts.join(',');
}

/** A comma-separated list of networks (`10.0.0.0/8`, `::1`, `192.0.2.7`); a bare address is a /32 or /128. */
function parseAllowList(name: string, raw: string | null): Config['metricsAllow'] {
  if (raw === null) return null;
  const out = raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry);
      const family = m ? isIP(m[1]!) : 0;
      if (!m || !family) throw new ConfigError(name, `expected an IP address or CIDR network, got ${JSON.stringify(entry)}`);
      const max = family === 4 ? 32 : 128;
      const prefix = m[2] === undefined ? max : Number(m[2]);
      if (prefix > max) throw new ConfigError(name, `prefix of ${entry} must be at most ${max}`);
      return Object.freeze({ network: m[1]!, prefix, family: family === 4 ? ('ipv4' as const) : ('ipv6' as const) });
    });
  if (!out.length) throw new ConfigError(name, 'needs at least one network');
  return Object.freeze(out);
}

function parseScore(r: Reader, name: string, fallback: number): number {
  const v = r.raw(name);
  if (v === undefined) return fallback;
  if (!/^-?\d+(\.\d+)?$/.test(v)) throw new ConfigError(name, `expected a number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function parseSpam(r: Reader): SpamConfig {
  const failMode = r.string('POSTERN_SPAM_FAIL_MODE', 'tempfail');
  if (failMode !== 'tempfail' && failMode !== 'accept') throw new ConfigError('POSTERN_SPAM_FAIL_MODE', 'must be tempfail or accept');
  const zones = (r.optional('POSTERN_DNSBL_ZONES') ?? '')
    .split(',')
    .map((z) => z.trim().toLowerCase())
    .filter(Boolean);
  for (const z of zones) if (!HOSTNAME_RE.test(z)) throw new ConfigError('POSTERN_DNSBL_ZONES', `not a DNS zone: ${JSON.stringify(z)}`);
  const hs = r.optional('POSTERN_RSPAMD_HS_CACHE_DIR');
  return {
    enabled: r.bool('POSTERN_SPAM', true),
    rspamdPort: r.port('POSTERN_RSPAMD_PORT', 11433),
    controllerPort: r.port('POSTERN_RSPAMD_CONTROLLER_PORT', 11434),
    redisPort: r.port('POSTERN_REDIS_PORT', 16379),
    failMode,
    timeoutMs: r.int('POSTERN_SPAM_TIMEOUT_MS', 20_000, 100, 300_000),
    junkScore: parseScore(r, 'POSTERN_SPAM_JUNK_SCORE', 6),
    rejectScore: parseScore(r, 'POSTERN_SPAM_REJECT_SCORE', 15),
    greylisting: r.bool('POSTERN_GREYLISTING', false),
    greylistDelaySeconds: r.int('POSTERN_GREYLIST_DELAY_SECONDS', 300, 1, 86_400),
    dnsblZones: Object.freeze(zones),
    connectionsPerMinute: r.int('POSTERN_SMTP_CONNECTIONS_PER_MINUTE', 120, 0, 1_000_000),
    recipientsPerMinute: r.int('POSTERN_SMTP_RECIPIENTS_PER_MINUTE', 600, 0, 10_000_000),
    earlyTalkerMs: r.int('POSTERN_EARLY_TALKER_MS', 0, 0, 30_000),
    hsCacheDir: hs ? path.resolve(hs) : null,
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function parseIdentity(r: Reader): Pick<Config, 'logLevel' | 'listenHost' | 'hostname'> {
  const logLevel = r.string('POSTERN_LOG_LEVEL', 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('POSTERN_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const listenHost = r.string('POSTERN_LISTEN_HOST', '127.0.0.1');
  if (!isIP(listenHost) && listenHost !== 'localhost') {
    throw new ConfigError('POSTERN_LISTEN_HOST', `must be an IP address, got ${JSON.stringify(listenHost)}`);
  }
  const hostname = r.string('POSTERN_HOSTNAME', 'mail.postern.test').toLowerCase();
  if (!HOSTNAME_RE.test(hostname) || !hostname.includes('.')) {
    throw new ConfigError('POSTERN_HOSTNAME', `must be a fully qualified host name, got ${JSON.stringify(hostname)}`);
  }
  return { logLevel, listenHost, hostname };
}

/** The listening ports (each used once) and what clients are told (public host name and ports). */
function parsePorts(r: Reader, hostname: string): Pick<Config, 'ports' | 'publicHostname' | 'publicPorts'> {
  const ports: Ports = {
    smtp: r.port('POSTERN_SMTP_PORT', 2525),
    submission: r.port('POSTERN_SUBMISSION_PORT', 2587),
    submissions: r.port('POSTERN_SUBMISSIONS_PORT', 2465),
    imap: r.port('POSTERN_IMAP_PORT', 2143),
    imaps: r.port('POSTERN_IMAPS_PORT', 2993),
    http: r.port('POSTERN_HTTP_PORT', 8080),
  };
  const seen = new Map<number, string>();
  for (const [key, port] of Object.entries(ports)) {
    const variable = `POSTERN_${key.toUpperCase()}_PORT`;
    const other = seen.get(port);
    if (other) throw new ConfigError(variable, `port ${port} is already used by ${other}`);
    seen.set(port, variable);
  }
  const publicHostname = r.string('POSTERN_PUBLIC_HOSTNAME', hostname).toLowerCase();
  if (!HOSTNAME_RE.test(publicHostname) && !isIP(publicHostname)) {
    throw new ConfigError('POSTERN_PUBLIC_HOSTNAME', `must be a host name, got ${JSON.stringify(publicHostname)}`);
  }
  const publicPorts: Config['publicPorts'] = Object.freeze({
    smtp: r.port('POSTERN_PUBLIC_SMTP_PORT', ports.smtp),
    submission: r.port('POSTERN_PUBLIC_SUBMISSION_PORT', ports.submission),
    submissions: r.port('POSTERN_PUBLIC_SUBMISSIONS_PORT', ports.submissions),
    imap: r.port('POSTERN_PUBLIC_IMAP_PORT', ports.imap),
    imaps: r.port('POSTERN_PUBLIC_IMAPS_PORT', ports.imaps),
  });
  return { ports: Object.freeze(ports), publicHostname, publicPorts };
}

/** Secrets and TLS: the bootstrap token, the certificate pair, HTTPS and the console's public URL. */
function parseSecurity(r: Reader, listenHost: string, hostname: string, httpPort: number): Pick<Config, 'bootstrapToken' | 'tlsCertFile' | 'tlsKeyFile' | 'httpTls' | 'publicUrl' | 'metricsToken'> {
  const bootstrapToken = r.optional('POSTERN_BOOTSTRAP_TOKEN');
  if (bootstrapToken !== null && bootstrapToken.length < 24) {
    throw new ConfigError('POSTERN_BOOTSTRAP_TOKEN', 'must be at least 24 characters long');
  }
  const tlsCertFile = r.optional('POSTERN_TLS_CERT_FILE');
  const tlsKeyFile = r.optional('POSTERN_TLS_KEY_FILE');
  if ((tlsCertFile === null) !== (tlsKeyFile === null)) {
    throw new ConfigError(tlsCertFile ? 'POSTERN_TLS_KEY_FILE' : 'POSTERN_TLS_CERT_FILE', 'certificate and key must be set together');
  }
  const httpTls = r.bool('POSTERN_HTTP_TLS', !isLoopback(listenHost));
  const defaultUrlHost = isLoopback(listenHost) ? '127.0.0.1' : hostname;
  const publicUrl = r.string('POSTERN_PUBLIC_URL', `${httpTls ? 'https' : 'http'}://${defaultUrlHost}:${httpPort}`).replace(/\/+$/, '');
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new ConfigError('POSTERN_PUBLIC_URL', `must be an http(s) URL, got ${JSON.stringify(publicUrl)}`);
  }
  const metricsToken = r.optional('POSTERN_METRICS_TOKEN');
  if (metricsToken !== null && metricsToken.length < 16) {
    throw new ConfigError('POSTERN_METRICS_TOKEN', 'must be at least 16 characters long');
  }
  return { bootstrapToken, tlsCertFile: tlsCertFile ? path.resolve(tlsCertFile) : null, tlsKeyFile: tlsKeyFile ? path.resolve(tlsKeyFile) : null, httpTls, publicUrl, metricsToken };
}

/** What one client, mailbox or tenant may use: send limits and the IMAP, SMTP and HTTP connection limits. */
function parseLimits(r: Reader): Pick<Config, 'sendLimits' | 'imapLimits' | 'smtpLimits' | 'httpLimits'> {
  return {
    sendLimits: Object.freeze({
      mailboxMessagesPerHour: r.int('POSTERN_MAILBOX_SEND_LIMIT', 500, 1, 1_000_000),
      mailboxRecipientsPerHour: r.int('POSTERN_MAILBOX_RCPT_LIMIT', 2000, 1, 10_000_000),
      tenantMessagesPerHour: r.int('POSTERN_TENANT_SEND_LIMIT', 5000, 1, 10_000_000),
      tenantRecipientsPerHour: r.int('POSTERN_TENANT_RCPT_LIMIT', 20000, 1, 100_000_000),
      blockFactor: r.int('POSTERN_SEND_BLOCK_FACTOR', 3, 2, 100),
      windowMs: r.int('POSTERN_SEND_LIMIT_WINDOW_SECONDS', 3600, 1, 86_400) * 1000,
    }),
    imapLimits: Object.freeze({
      maxConnections: r.int('POSTERN_IMAP_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
      maxUnauthenticatedPerIp: r.int('POSTERN_IMAP_MAX_UNAUTH_PER_IP', 50, 1, 100_000),
      preAuthTimeoutMs: r.int('POSTERN_IMAP_PREAUTH_TIMEOUT_SECONDS', 60, 1, 3600) * 1000,
      commandTimeoutMs: r.int('POSTERN_IMAP_COMMAND_TIMEOUT_SECONDS', 60, 1, 3600) * 1000,
      idleTimeoutMs: r.int('POSTERN_IMAP_IDLE_TIMEOUT_MINUTES', 30, 30, 24 * 60) * 60_000,
      maxAuthFailures: r.int('POSTERN_IMAP_MAX_AUTH_FAILURES', 10, 1, 1000),
    }),
    smtpLimits: Object.freeze({
      maxSessions: r.int('POSTERN_SMTP_MAX_SESSIONS', 3000, 0, 1_000_000),
      maxSessionsPerIp: r.int('POSTERN_SMTP_MAX_SESSIONS_PER_IP', 20, 0, 100_000),
      dataMinRateBytesPerSecond: r.int('POSTERN_SMTP_DATA_MIN_RATE', 256, 0, 100_000_000),
      dataRateWindowSeconds: r.int('POSTERN_SMTP_DATA_RATE_WINDOW_SECONDS', 30, 1, 3600),
      dataTimeoutSeconds: r.int('POSTERN_SMTP_DATA_TIMEOUT_SECONDS', 1800, 0, 86_400),
    }),
    httpLimits: Object.freeze({
      maxConnections: r.int('POSTERN_HTTP_MAX_CONNECTIONS', 2000, 1, 1_000_000),
      maxConnectionsPerIp: r.int('POSTERN_HTTP_MAX_CONNECTIONS_PER_IP', 100, 1, 1_000_000),
      requestTimeoutSeconds: r.int('POSTERN_HTTP_REQUEST_TIMEOUT_SECONDS', 60, 1, 3600),
    }),
  };
}

/** POSTERN_DATABASE_URL, POSTERN_BLOB_STORE and POSTERN_S3_*: the cluster's shared engines, or the embedded defaults. */
function parseStorage(r: Reader): StorageConfig {
  const databaseUrl = r.optional('POSTERN_DATABASE_URL');
  if (databaseUrl !== null) {
    let url: URL;
    try {
      url = new URL(databaseUrl);
    } catch {
      throw new ConfigError('POSTERN_DATABASE_URL', 'must be a URL like postgres://user:password@host:5432/postern');
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new ConfigError('POSTERN_DATABASE_URL', `must start with postgres://, got ${url.protocol}//`);
  }
  const blobStore = r.string('POSTERN_BLOB_STORE', 'fs').toLowerCase();
  if (blobStore !== 'fs' && blobStore !== 's3') throw new ConfigError('POSTERN_BLOB_STORE', `must be fs or s3, got ${JSON.stringify(blobStore)}`);
  let s3: StorageConfig['s3'] = null;
  if (blobStore === 's3') {
    const need = (name: string) => {
      const v = r.optional(name);
      if (!v) throw new ConfigError(name, 'is required when POSTERN_BLOB_STORE=s3');
      return v;
    };
    const endpoint = need('POSTERN_S3_ENDPOINT');
    try {
      new URL(endpoint);
    } catch {
      throw new ConfigError('POSTERN_S3_ENDPOINT', 'must be a URL like https://s3.example.net');
    }
    s3 = Object.freeze({
      endpoint,
      bucket: need('POSTERN_S3_BUCKET'),
      region: r.string('POSTERN_S3_REGION', 'us-east-1'),
      accessKeyId: need('POSTERN_S3_ACCESS_KEY_ID'),
      secretAccessKey: need('POSTERN_S3_SECRET_ACCESS_KEY'),
    });
  }
  return Object.freeze({ databaseUrl, blobStore, s3 });
}

/** Builds the frozen configuration from the environment (and the optional config file). */
export function loadConfig(env: Source = process.env): Readonly<Config> {
  const r = new Reader({ ...readFileSource(env), ...env });
  const identity = parseIdentity(r);
  const ports = parsePorts(r, identity.hostname);
  const resolverRaw = r.optional('POSTERN_DNS_RESOLVER');
  const dnsResolver = resolverRaw ? Object.freeze(parseHostPort('POSTERN_DNS_RESOLVER', resolverRaw)) : null;
  const smarthost = parseSmarthost(r);
  const spam = parseSpam(r);
  if (spam.junkScore >= spam.rejectScore) throw new ConfigError('POSTERN_SPAM_JUNK_SCORE', 'must be below POSTERN_SPAM_REJECT_SCORE');
  const config: Config = {
    dataDir: path.resolve(r.string('POSTERN_DATA_DIR', './data')),
    ...identity,
    ...ports,
    maxMessageBytes: r.size('POSTERN_MAX_MESSAGE_SIZE', 50 * 1024 * 1024),
    dnsResolver,
    ...parseSecurity(r, identity.listenHost, identity.hostname, ports.ports.http),
    setupTokenTtlHours: r.int('POSTERN_SETUP_TOKEN_TTL_HOURS', 72, 1, 24 * 30),
    allowPlaintextAuthLoopback: r.bool('POSTERN_ALLOW_PLAINTEXT_AUTH_LOOPBACK', false),
    defaultQuotaBytes: r.size('POSTERN_DEFAULT_QUOTA', 5 * 1024 ** 3),
    recycleBinDays: r.int('POSTERN_RECYCLE_BIN_DAYS', 7, 1, 365),
    smarthost: smarthost ? Object.freeze(smarthost) : null,
    outboundPort: r.port('POSTERN_OUTBOUND_PORT', 25),
    dnsCheckIntervalMs: r.int('POSTERN_DNS_CHECK_INTERVAL_MINUTES', 60, 0, 7 * 24 * 60) * 60_000,
    auditVerifyIntervalMs: r.int('POSTERN_AUDIT_VERIFY_INTERVAL_SECONDS', 600, 1, 86_400) * 1000,
    housekeepingIntervalMs: r.int('POSTERN_HOUSEKEEPING_INTERVAL_SECONDS', 3600, 1, 86_400) * 1000,
    outboundRetrySchedule: parseRetrySchedule(r.string('POSTERN_OUTBOUND_RETRY', '1m,5m,10m,20m,30m*2,1h*4,2h*4,4h*6')),
    outboundMaxTempFailures: null,
    mtaProcesses: r.int('POSTERN_MTA_PROCESSES', 1, 1, 64),
    metricsAllow: parseAllowList('POSTERN_METRICS_ALLOW', r.optional('POSTERN_METRICS_ALLOW')),
    ...parseLimits(r),
    spam: Object.freeze(spam),
    storage: parseStorage(r),
    nodeId: r.string('POSTERN_NODE_ID', os.hostname()),
    proxyProtocolFrom: parseAllowList('POSTERN_PROXY_PROTOCOL_FROM', r.optional('POSTERN_PROXY_PROTOCOL_FROM')),
    leaseTtlMs: r.int('POSTERN_LEASE_TTL_SECONDS', 30, 1, 3600) * 1000,
  };
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(config.nodeId))
    throw new ConfigError('POSTERN_NODE_ID', `must be 1-63 letters, digits, dots, dashes or underscores, got ${JSON.stringify(config.nodeId)}`);
  return Object.freeze(config);
}

/** Paths inside the data directory, derived from the config in one place. */
export function dataPaths(config: Pick<Config, 'dataDir'>) {
  const d = config.dataDir;
  return Object.freeze({
    root: d,
    database: path.join(d, 'postern.db'),
    blobs: path.join(d, 'blobs'),
    tls: path.join(d, 'tls'),
    tlsCert: path.join(d, 'tls', 'cert.pem'),
    tlsKey: path.join(d, 'tls', 'key.pem'),
    haraka: path.join(d, 'haraka'),
    queue: path.join(d, 'haraka', 'queue'),
    run: path.join(d, 'run'),
    spam: path.join(d, 'spam'),
  });
}
export type DataPaths = ReturnType<typeof dataPaths>;
