/**
 * One pino root logger for the appliance. Services take child loggers (`service`, `cid`,
 * `reqId`); messages are fixed strings with data in fields and an `event` from LogEvent (the
 * closed list below: an unknown name does not compile).
 * Secrets are redacted wherever they appear in logged objects.
 */
import pino from 'pino';
import type { LogLevel } from './config.js';

/**
 * Every `event` the appliance logs: a closed list (as Stalwart's typed events), so dashboards
 * and alerts can rely on the names and a typo fails to compile. Add a name here when you add
 * a log line; the Haraka plugins (mta-plugins/) log the smtp.* names through Haraka's logger.
 */
export const LOG_EVENTS = [
  'appliance.boot_failed',
  'appliance.mta_slow',
  'appliance.ready',
  'appliance.signal',
  'appliance.stop_failed',
  'appliance.stopped',
  'appliance.unhandled_rejection',
  'audit.chain.broken',
  'auth.attack',
  'auth.attack.alert_error',
  'auth.attack.alerted',
  'auth.revoke.listener_error',
  'auth.revoked',
  'auth.throttled',
  'cluster.listen.down',
  'cluster.listen.resync',
  'cluster.listen.up',
  'cluster.message.invalid',
  'cluster.resync.error',
  'cluster.revoke.received',
  'cluster.subscriber.error',
  'control.listen',
  'control.readiness.error',
  'control.request',
  'control.request.error',
  'control.revoker.unwired',
  'db.migrated',
  'dkim.rotation',
  'dkim.rotation.error',
  'dns.check.error',
  'cluster.lease.acquired',
  'cluster.lease.lost',
  'cluster.lease.error',
  'cluster.job.error',
  'queue.recover',
  'domain.required_addresses.reconciled',
  'grants.expired',
  'grants.listener.error',
  'grants.sweep.error',
  'grants.touch.error',
  'imap.auth.fail',
  'imap.auth.ok',
  'imap.command.error',
  'imap.limit.command_timeout',
  'imap.limit.connections',
  'imap.limit.literal',
  'imap.log.suppressed',
  'imap.notify.error',
  'imap.notify.overflow',
  'imap.proxy.invalid',
  'imap.proxy.refused',
  'imap.server.error',
  'imap.server.listening',
  'imap.session.error',
  'imap.session.revoked',
  'imap.shared.revoked',
  'imap.shared.error',
  'imap.acl.changed',
  'imap.sync.error',
  'mail.system.delivered',
  'mail.system.queued',
  'metrics.source.error',
  'migration.cancelled',
  'migration.done',
  'migration.error',
  'migration.failed',
  'migration.interrupted',
  'migration.recovered',
  'migration.started',
  'mta.crash',
  'mta.error',
  'mta.kill',
  'mta.listening',
  'mta.log',
  'mta.rpc.error',
  'mta.start',
  'mta.stopped',
  'offboarding.retention.ended',
  'offboarding.retention.error',
  'operator.bootstrap',
  'operator.setup_link',
  'operator.setup_link.revoked',
  'recycle_bin.purge_error',
  'recycle_bin.purged',
  'smtp.auth.fail',
  'smtp.auth.ok',
  'smtp.auth.revoked',
  'smtp.auto_reply.error',
  'smtp.connect.dnsbl',
  'smtp.connect.early_talker',
  'smtp.connect.rate_limited',
  'smtp.data.reject',
  'smtp.data.spam_reject',
  'smtp.deliver.skipped',
  'smtp.delivered',
  'smtp.forward.loop',
  'smtp.limit',
  'smtp.limit.blocked',
  'smtp.limit.refused',
  'smtp.mail.reject',
  'smtp.rcpt.reject',
  'smtp.rcpt.spam_block',
  'smtp.spam.outbound',
  'smtp.spam.unavailable',
  'smtp.outbound.delivered',
  'smtp.outbound.deferred',
  'smtp.outbound.bounced',
  'smtp.spam.clean',
  'smtp.spam.junk',
  'smtp.spam.reject',
  'smtp.spam.greylist',
  'smtp.spam.block',
  'smtp.spam.unscanned',
  'smtp.spam.tempfail',
  'spam.learn.dropped',
  'spam.learn.error',
  'spam.learn.refused',
  'spam.learned',
  'spam.process.crash',
  'spam.process.error',
  'spam.process.hung',
  'spam.process.leftover',
  'spam.process.log',
  'spam.process.pidfile',
  'spam.process.ready',
  'spam.process.start',
  'spam.process.stopped',
  'spam.unavailable',
  'store.orphans.error',
  'store.orphans.swept',
  'store.unsynced.error',
  'store.unsynced.recovered',
  'store.search_index.backfill',
  'store.search_index.backfilled',
  'store.search_index.error',
  'store.search_index.batch_failed',
  'tls.generated',
  'tls.regenerate',
] as const;

export type LogEvent = (typeof LOG_EVENTS)[number];

/** The fields of a log line: data, and an `event` from the closed list. */
export interface LogFields {
  event?: LogEvent;
  [field: string]: unknown;
}

/** A level method: fields (with a known `event`) and a fixed message, an error, or a message alone. */
export interface LogFn {
  <F extends LogFields>(fields: F, msg?: string, ...args: unknown[]): void;
  (err: Error, msg?: string, ...args: unknown[]): void;
  (msg: string, ...args: unknown[]): void;
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** pino's Logger with the level methods typed by LogFields (the object is pino's own; only the type is narrower). */
export interface Logger extends Omit<pino.Logger, Level | 'child'> {
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger;
}

/** The pino logger behind a Logger, for libraries that take pino's type (Fastify's loggerInstance). */
export function pinoOf(logger: Logger): pino.Logger {
  return logger as unknown as pino.Logger;
}

export const REDACT_PATHS = [
  'password',
  'pass',
  'newPassword',
  'currentPassword',
  'token',
  'secret',
  'privateKey',
  'authorization',
  'cookie',
  '*.password',
  '*.pass',
  '*.token',
  '*.secret',
  '*.privateKey',
  '*.authorization',
  '*.cookie',
  'appPassword',
  'recoveryCode',
  'totp',
  'csrfToken',
  'setupToken',
  'auth_pass',
  '*.appPassword',
  '*.recoveryCode',
  '*.totp',
  '*.csrfToken',
  '*.setupToken',
  '*.auth_pass',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  // S3 credentials (config.storage.s3, the S3 client's settings) wherever they are logged.
  'secretAccessKey',
  '*.secretAccessKey',
  '*.*.secretAccessKey',
];

/** The keys REDACT_PATHS name (their last segment, lower case): what censorSecrets replaces at any depth. */
const SECRET_KEYS = new Set(
  REDACT_PATHS.map((p) =>
    p
      .replace(/^.*[.[]/, '')
      .replace(/["\]]/g, '')
      .toLowerCase(),
  ),
);
const CENSOR = '[redacted]';
/** Deeper than this, a nested value is replaced whole (a parsed log line is never this deep). */
const MAX_DEPTH = 16;

/**
 * Replaces, in place, the value of every key that REDACT_PATHS names (any letter case, at any
 * depth) in plain data such as a parsed JSON log line: exact where pino's paths stop at two
 * levels, and a walk over a few fields instead of pino's wildcard paths (about 8 µs a line,
 * issue 18). For lines written through `unredacted`.
 */
export function censorSecrets(value: unknown, depth = 0): void {
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (value[i] && typeof value[i] === 'object') {
        if (depth >= MAX_DEPTH) value[i] = CENSOR;
        else censorSecrets(value[i], depth + 1);
      }
    }
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (SECRET_KEYS.has(key.toLowerCase())) obj[key] = CENSOR;
    else if (v && typeof v === 'object') {
      if (depth >= MAX_DEPTH) obj[key] = CENSOR;
      else censorSecrets(v, depth + 1);
    }
  }
}

/**
 * A child logger without the root logger's redaction paths (same destination, level and
 * bindings), for lines whose fields hold no secret by construction or went through
 * censorSecrets: the wildcard paths cost more than the rest of a line (issue 18).
 */
export function unredacted(log: Logger): Logger {
  return log.child({}, { redact: [] });
}

/** Pretty lines on a terminal; JSON lines otherwise (`docker logs`, journald, a pipe). */
export function prettyByDefault(): boolean {
  return process.stdout.isTTY === true && !process.env.CI;
}

/**
 * Text for the person reading the console or `docker logs`, beside the structured log line that
 * carries the same data: plain lines on stderr, so a command in them is copied as is (a JSON log
 * line escapes its quotes). Secrets other than the one the text exists to hand over stay out.
 */
export function humanNotice(lines: string[], stream: NodeJS.WritableStream = process.stderr): void {
  stream.write(`\n${lines.join('\n')}\n\n`);
}

/**
 * The appliance's log lines leave in one write per turn of the event loop (issue 18). pino's
 * default destination writes every line by itself (a system call each): an inbound message cost
 * the appliance seven or more, most of them Haraka's lines forwarded by the supervisor, which
 * arrive together in one chunk. Lines logged in one turn are joined and handed to the sink at the
 * next turn, in order; `flushSync` hands over what is waiting (at process exit, so no line
 * logged before an exit is lost).
 */
export class TurnBatchedDestination {
  private pending: string[] = [];
  private scheduled = false;

  constructor(private readonly sink: { write(chunk: string): unknown }) {}

  write(chunk: string): boolean {
    this.pending.push(chunk);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSync);
    }
    return true;
  }

  readonly flushSync = (): void => {
    this.scheduled = false;
    if (!this.pending.length) return;
    const text = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.sink.write(text);
  };

  /** pino's `logger.flush()`. */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    cb?.();
  }
}

/** One batched stdout for every logger of the process (flushed at exit). */
let stdoutLines: TurnBatchedDestination | null = null;

function batchedStdout(): TurnBatchedDestination {
  if (!stdoutLines) {
    const out = new TurnBatchedDestination(pino.destination({ dest: 1, sync: true }));
    process.on('exit', out.flushSync);
    stdoutLines = out;
  }
  return stdoutLines;
}

export function createLogger(level: LogLevel, opts: { pretty?: boolean; destination?: pino.DestinationStream } = {}): Logger {
  const pretty = opts.pretty ?? prettyByDefault();
  const base: pino.LoggerOptions = {
    level,
    base: { app: 'postern' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (opts.destination) return pino(base, opts.destination);
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base, batchedStdout());
}
