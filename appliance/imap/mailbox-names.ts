/**
 * Mailbox names on the wire: modified UTF-7 (RFC 3501 section 5.1.3) to and from the store's
 * Unicode names, and LIST wildcard matching ("*" and "%", delimiter "/").
 */
export const DELIMITER = '/';

function b64encodeUtf16(s: string): string {
  const buf = Buffer.alloc(s.length * 2);
  for (let i = 0; i < s.length; i++) buf.writeUInt16BE(s.charCodeAt(i), i * 2);
  return buf.toString('base64').replace(/=+$/, '').replace(/\//g, ',');
}

/** Unicode → modified UTF-7. */
export function encodeMailboxName(name: string): string {
  let out = '';
  let pending = '';
  const flush = () => {
    if (pending) {
      out += '&' + b64encodeUtf16(pending) + '-';
      pending = '';
    }
  };
  for (const ch of name) {
    const c = ch.charCodeAt(0);
    if (c >= 0x20 && c <= 0x7e) {
      flush();
      out += ch === '&' ? '&-' : ch;
    } else pending += ch;
  }
  flush();
  return out;
}

/** Modified UTF-7 → Unicode; text that is not valid mUTF-7 is returned unchanged (UTF-8 names). */
export function decodeMailboxName(name: string): string {
  if (!name.includes('&')) return name;
  return name.replace(/&([A-Za-z0-9+,]*)-/g, (_m, b64: string) => {
    if (b64 === '') return '&';
    const buf = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    let s = '';
    for (let i = 0; i + 1 < buf.length; i += 2) s += String.fromCharCode(buf.readUInt16BE(i));
    return s;
  });
}

/** Normalises an incoming name: INBOX case-insensitively, no trailing delimiter. */
export function normalizeName(name: string): string {
  let n = name;
  while (n.length > 1 && n.endsWith(DELIMITER)) n = n.slice(0, -1);
  if (/^inbox$/i.test(n)) return 'INBOX';
  if (/^inbox\//i.test(n)) return 'INBOX' + n.slice(5);
  return n;
}

/** Compiles a LIST pattern (reference + mailbox pattern) to a RegExp. */
export function patternToRegExp(reference: string, pattern: string): RegExp {
  let full = pattern;
  if (reference && !pattern.startsWith(DELIMITER)) full = reference.endsWith(DELIMITER) || !reference ? reference + pattern : reference + DELIMITER + pattern;
  full = normalizeName(full);
  let re = '';
  for (const ch of full) {
    if (ch === '*') re += '.*';
    else if (ch === '%') re += '[^/]*';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const inboxCI = /^INBOX/i.test(full) ? 'i' : '';
  // INBOX matches case-insensitively; other names exactly.
  return inboxCI ? new RegExp(`^(?:${re.replace(/^INBOX/, '[Ii][Nn][Bb][Oo][Xx]')})$`) : new RegExp(`^${re}$`);
}

/**
 * A mailbox name as a session sends it: modified UTF-7 under IMAP4rev1 (RFC 3501 5.1.3); UTF-8
 * once IMAP4rev2 is enabled (RFC 9051 5.1: no modified UTF-7, "&" is an ordinary character),
 * normalised to NFC. `supplied` is the client's text when it differs from the name (RFC 9051
 * 6.3.2 reports it as OLDNAME).
 */
export function nameFromClient(raw: string, utf8: boolean): { name: string; supplied: string | null } {
  if (!utf8) return { name: normalizeName(decodeMailboxName(raw)), supplied: null };
  const nfc = raw.normalize('NFC');
  return { name: normalizeName(nfc), supplied: nfc !== raw ? raw : null };
}

/** A LIST reference or pattern as a session sends it (wildcards kept). */
export function patternFromClient(raw: string, utf8: boolean): string {
  return utf8 ? raw.normalize('NFC') : decodeMailboxName(raw);
}

/** A stored name as the session must see it: UTF-8 under IMAP4rev2, modified UTF-7 otherwise. */
export function nameToClient(name: string, utf8: boolean): string {
  return utf8 ? name : encodeMailboxName(name);
}
