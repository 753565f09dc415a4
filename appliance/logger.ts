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

export function createLogger(level: LogLevel, opts: { pretty?: boolean; destination?: pino.DestinationStream } = {}): Logger {
  const pretty = opts.pretty ?? (process.stdout.isTTY === true && !process.env.CI);
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
