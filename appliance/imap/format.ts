/** Small wire formats: flag lists, INTERNALDATE / date-time. */
import { ImapSyntaxError } from './parser.js';

export function formatFlags(flags: string[]): string {
  return `(${flags.join(' ')})`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** `"01-Jul-2025 10:52:37 +0000"` (UTC). */
export function formatInternalDate(ms: number): string {
  const d = new Date(ms);
  return `"${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000"`;
}

/** Parses an APPEND date-time ("dd-Mon-yyyy hh:mm:ss +zzzz", day may be space-padded). */
export function parseDateTime(text: string): number {
  const m = /^\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  const month = m ? MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase()) : -1;
  if (!m || month < 0) throw new ImapSyntaxError('Invalid date-time');
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offset = (Number(m[8]) * 60 + Number(m[9])) * 60_000 * (m[7] === '-' ? -1 : 1);
  const t = utc - offset;
  if (!Number.isFinite(t)) throw new ImapSyntaxError('Invalid date-time');
  return t;
}

const SYSTEM_FLAGS = new Map(['\\seen', '\\answered', '\\flagged', '\\deleted', '\\draft'].map((f) => [f, `\\${f[1]!.toUpperCase()}${f.slice(2)}`]));
// eslint-disable-next-line no-control-regex
const ATOM_RE = /^[^\x00-\x20\x7f(){%*"\\\]]+$/;

/** Validates flags of STORE/APPEND: system flags (not \Recent) and keyword atoms. */
export function validateFlags(flags: string[]): string[] {
  return flags.map((f) => {
    if (f.startsWith('\\')) {
      const sys = SYSTEM_FLAGS.get(f.toLowerCase());
      if (!sys) throw new ImapSyntaxError(`Invalid flag ${f.slice(0, 30)}`);
      return sys;
    }
    if (!ATOM_RE.test(f) || f.length > 100) throw new ImapSyntaxError(`Invalid keyword ${f.slice(0, 30)}`);
    return f;
  });
}

/** The system flags a client may set (\Recent is session state, never stored). */
export const SYSTEM_FLAG_LIST = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];
export const PERMANENT_FLAGS = '(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)';
export const FLAGS = '(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk $NotJunk)';

export function hasFlag(flags: string[], flag: string): boolean {
  const f = flag.toLowerCase();
  for (const x of flags) if (x.toLowerCase() === f) return true;
  return false;
}
