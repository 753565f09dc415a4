/**
 * Mail formats of an export, as other tools read them:
 * - mbox (mboxrd): one file per folder; each message starts with a "From " line and ends with an
 *   empty line; a body line matching /^>*From / gets one more ">" (undone by an mboxrd reader).
 *   Flags travel the way mutt, Thunderbird and Python's mailbox.mboxMessage read them: "Status:"
 *   (R read, O old) and "X-Status:" (A answered, F flagged, T draft, D deleted) lines added at
 *   the top of the header, plus "X-Keywords:" for keywords. The message bytes follow unchanged.
 * - Maildir (Maildir++ as Dovecot and Python's mailbox.Maildir read it): INBOX is the top level,
 *   other folders are ".Name" (hierarchy "/" becomes "."), each with cur/ new/ tmp/; every message
 *   is cur/<unique>:2,<flags> with flags D F P R S T in ASCII order.
 */
import type { MessageEntry } from '../../mailstore/store.types.js';

const FROM_LINE = /^>*From /;

function asctime(ms: number): string {
  // "Thu Jan  1 00:00:00 1970" (C asctime, UTC), the mbox "From " line date.
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

function has(flags: string[], f: string): boolean {
  return flags.some((x) => x.toLowerCase() === f.toLowerCase());
}

/** The flag header lines an mbox message gets (see above); '' for none. */
function mboxFlagLines(flags: string[]): string {
  const status = `${has(flags, '\\Seen') ? 'R' : ''}O`;
  const x = `${has(flags, '\\Answered') ? 'A' : ''}${has(flags, '\\Flagged') ? 'F' : ''}${has(flags, '\\Draft') ? 'T' : ''}${has(flags, '\\Deleted') ? 'D' : ''}`;
  const keywords = flags.filter((f) => !f.startsWith('\\'));
  return `Status: ${status}\n${x ? `X-Status: ${x}\n` : ''}${keywords.length ? `X-Keywords: ${keywords.join(' ')}\n` : ''}`;
}

/** One message in mboxrd form: "From " line, flag lines, quoted bytes, a final empty line. */
export function mboxMessage(entry: MessageEntry, raw: Buffer, sender = 'MAILER-DAEMON'): Buffer {
  const parts: Buffer[] = [Buffer.from(`From ${sender} ${asctime(entry.internalDate)}\n${mboxFlagLines(entry.flags)}`)];
  let start = 0;
  while (start < raw.length) {
    let end = raw.indexOf(0x0a, start);
    end = end < 0 ? raw.length : end + 1;
    const line = raw.subarray(start, end);
    // Only lines that could be taken for a separator are touched: they start with ">" or "F".
    if ((line[0] === 0x3e || line[0] === 0x46) && FROM_LINE.test(line.subarray(0, Math.min(line.length, 64)).toString('latin1'))) parts.push(Buffer.from('>'));
    parts.push(line);
    start = end;
  }
  if (raw.length && raw[raw.length - 1] !== 0x0a) parts.push(Buffer.from('\n'));
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/** Maildir++ folder path for an IMAP folder name: '' for INBOX, '.A.B' for "A/B" (dots in names become '_'). */
export function maildirFolder(name: string): string {
  if (name === 'INBOX') return '';
  return `.${name
    .split('/')
    .map((p) => p.replace(/\./g, '_'))
    .join('.')}`;
}

const MAILDIR_FLAGS: Array<[string, string]> = [
  ['\\Draft', 'D'],
  ['\\Flagged', 'F'],
  ['$Forwarded', 'P'],
  ['\\Answered', 'R'],
  ['\\Seen', 'S'],
  ['\\Deleted', 'T'],
];

/** The info suffix ":2,<flags>" of a Maildir file name. */
export function maildirInfo(flags: string[]): string {
  return `:2,${MAILDIR_FLAGS.filter(([f]) => has(flags, f))
    .map(([, c]) => c)
    .join('')}`;
}

/** A unique Maildir file name: <seconds>.M<uid>P<message id>.<host>,S=<size>:2,<flags>. */
export function maildirName(entry: MessageEntry, host: string): string {
  return `${Math.floor(entry.internalDate / 1000)}.M${entry.uid}P${entry.messageId}.${host.replace(/[/:]/g, '_')},S=${entry.size}${maildirInfo(entry.flags)}`;
}
