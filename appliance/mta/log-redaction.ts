/**
 * Removes SMTP AUTH credentials from Haraka's log lines before they reach pino (issue 13). At
 * its protocol level Haraka logs every client line (`C: AUTH PLAIN <base64>`, and the bare
 * base64 lines of AUTH LOGIN), and at debug level the `unrecognized_command` hook's params
 * (AUTH LOGIN continuations arrive as unrecognized commands). Every client line of a session
 * between its AUTH command and the final reply is replaced, and so are those params.
 */
import { censorSecrets } from '../logger.js';

const REDACTED = '[redacted]';
const MAX_SESSIONS = 10_000;

export class HarakaLogRedactor {
  /** Sessions (connection uuid) inside an AUTH exchange. */
  private readonly authenticating = new Set<string>();

  /** Redacts the message and fields of one parsed Haraka log line in place; returns the message. */
  redact(msg: string, fields: Record<string, unknown>): string {
    const session = String(fields.uuid ?? '').split('.')[0] ?? '';
    if (fields.hook === 'unrecognized_command' && 'params' in fields) fields.params = REDACTED;
    if (typeof fields.params === 'string' && /^AUTH\s/i.test(fields.params)) fields.params = redactAuthCommand(fields.params);
    const client = /^C: (.*)$/s.exec(msg);
    if (client) {
      const line = client[1]!;
      if (/^AUTH\b/i.test(line)) {
        if (session) {
          if (this.authenticating.size >= MAX_SESSIONS) this.authenticating.clear();
          this.authenticating.add(session);
        }
        return `C: ${redactAuthCommand(line)}`;
      }
      if (session && this.authenticating.has(session)) return `C: ${REDACTED}`;
      return msg;
    }
    const server = /^S: (\d{3})[ -]/.exec(msg);
    if (server && server[1] !== '334' && session) this.authenticating.delete(session);
    // Plain (non-JSON) lines of the same kinds.
    return msg.replace(/(C: AUTH\s+\S+)\s+\S+/gi, `$1 ${REDACTED}`);
  }

  /** A session ended (or was never seen again): forget it. */
  forget(uuid: string): void {
    this.authenticating.delete(uuid.split('.')[0] ?? '');
  }
}

/** `AUTH PLAIN <initial response>` → `AUTH PLAIN [redacted]`; the mechanism stays. */
export function redactAuthCommand(line: string): string {
  const m = /^(AUTH\s+\S+)(\s+\S.*)?$/is.exec(line.trim());
  if (!m) return line;
  return m[2] ? `${m[1]} ${REDACTED}` : m[1]!;
}

/** Haraka's levels as pino's. */
const LEVELS: Record<string, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  DATA: 'trace',
  PROTOCOL: 'trace',
  DEBUG: 'debug',
  INFO: 'debug',
  NOTICE: 'info',
  WARN: 'warn',
  ERROR: 'error',
  CRIT: 'fatal',
  ALERT: 'fatal',
  EMERG: 'fatal',
};

export interface HarakaLogLine {
  level: (typeof LEVELS)[string];
  msg: string;
  /** Haraka's fields (its JSON log format), secrets censored. */
  fields: Record<string, unknown>;
}

/**
 * One line of Haraka's output as the appliance logs it: its level, message and fields (JSON
 * lines; a plain line is the message), with SMTP AUTH credentials redacted (`redactor`) and the
 * value of every key a redaction path names censored at any depth (censorSecrets), so the line
 * can go out without the root logger's wildcard paths. Null for a blank line.
 */
export function harakaLogLine(line: string, redactor: HarakaLogRedactor): HarakaLogLine | null {
  if (!line.trim()) return null;
  let level: HarakaLogLine['level'] = 'info';
  let msg = line;
  let fields: Record<string, unknown> = {};
  if (line.startsWith('{')) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      level = LEVELS[String(parsed.level ?? '').toUpperCase()] ?? 'info';
      msg = String(parsed.message ?? parsed.msg ?? '');
      const { level: _l, message: _m, msg: _m2, ...rest } = parsed;
      fields = rest;
    } catch {
      /* plain line */
    }
  } else {
    const m = /^\[(\w+)\]/.exec(line);
    if (m && LEVELS[m[1]!]) level = LEVELS[m[1]!]!;
  }
  msg = redactor.redact(msg, fields);
  censorSecrets(fields);
  return { level, msg, fields };
}
