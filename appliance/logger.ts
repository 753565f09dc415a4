/**
 * One pino root logger for the appliance. Services take child loggers (`service`, `cid`,
 * `reqId`); messages are fixed strings with data in fields and an `event` from LogEvent.
 * Secrets are redacted wherever they appear in logged objects.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

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
];

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
  return pino(base);
}
