/**
 * Tagged results of commands and the one mapping of domain errors to IMAP responses
 * (RFC 5530 response codes).
 */
import { AppError, type ErrorCode } from '../core/kernel/errors.js';
import { ImapSyntaxError } from './parser.js';

export interface Reply {
  status: 'OK' | 'NO' | 'BAD';
  /** Response code without brackets, e.g. "READ-WRITE" or "COPYUID 17 1:3 5:7". */
  code?: string;
  text: string;
}

export const ok = (text = 'Completed', code?: string): Reply => ({ status: 'OK', code, text });
export const no = (text: string, code?: string): Reply => ({ status: 'NO', code, text });
export const bad = (text: string, code?: string): Reply => ({ status: 'BAD', code, text });

/** A refusal a handler raises on purpose (NO with a code). */
export class ImapNo extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ImapNo';
  }
}

const APP_CODES: Record<ErrorCode, { code: string; status: 'NO' | 'BAD' }> = {
  NotFound: { code: 'NONEXISTENT', status: 'NO' },
  AlreadyExists: { code: 'ALREADYEXISTS', status: 'NO' },
  Forbidden: { code: 'NOPERM', status: 'NO' },
  Unauthorized: { code: 'AUTHENTICATIONFAILED', status: 'NO' },
  Invalid: { code: 'CANNOT', status: 'NO' },
  QuotaExceeded: { code: 'OVERQUOTA', status: 'NO' },
  Conflict: { code: 'INUSE', status: 'NO' },
  TooLarge: { code: 'TOOBIG', status: 'NO' },
  RateLimited: { code: 'UNAVAILABLE', status: 'NO' },
  TempFailure: { code: 'UNAVAILABLE', status: 'NO' },
  Gone: { code: 'NONEXISTENT', status: 'NO' },
};

/** Turns anything a handler throws into a reply; `unexpected` is true for bugs worth logging. */
export function replyForError(err: unknown): { reply: Reply; unexpected: boolean } {
  if (err instanceof ImapSyntaxError) return { reply: bad(err.message), unexpected: false };
  if (err instanceof ImapNo) return { reply: no(err.message, err.code), unexpected: false };
  if (err instanceof AppError) {
    const m = APP_CODES[err.code] ?? { code: 'SERVERBUG', status: 'NO' as const };
    return { reply: { status: m.status, code: m.code, text: sanitize(err.message) }, unexpected: false };
  }
  return { reply: no('Internal error, try again later', 'SERVERBUG'), unexpected: true };
}

/** Response text must be one line of printable text. */
export function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 200) || 'Failed';
}

export function formatTagged(tag: string, r: Reply): string {
  return `${tag} ${r.status} ${r.code ? `[${r.code}] ` : ''}${sanitize(r.text)}\r\n`;
}
