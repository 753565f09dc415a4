/**
 * Response encoding: IMAP strings, lists and literals from plain values. A response is built
 * as an array of chunks (strings and Buffers) so large literals are written without copying.
 */
export type Chunk = string | Buffer;

/** A value already in wire form (atoms, numbers, flags): written as is. */
export class Raw {
  constructor(readonly text: string) {}
}
/** A list written as ( … ). */
export type Value = null | number | string | Buffer | Raw | Value[];

export const raw = (text: string) => new Raw(text);

/**
 * Encodes a string: quoted when it is plain 7-bit text, a literal otherwise (8-bit, CR, LF,
 * long). With `utf8` (IMAP4rev2, RFC 9051 4.3: quoted strings may hold UTF-8) only control
 * characters force a literal.
 */
export function quote(s: string, utf8 = false): string {
  let plain = s.length <= 1024;
  let escapes = false;
  for (let i = 0; plain && i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || (c > 0x7e && !utf8)) plain = false;
    else if (c === 0x22 || c === 0x5c) escapes = true;
  }
  if (!plain) return `{${Buffer.byteLength(s, 'utf8')}}\r\n${s}`;
  return escapes ? `"${s.replace(/[\\"]/g, '\\$&')}"` : `"${s}"`;
}

export function nstring(s: string | null | undefined): string {
  return s === null || s === undefined ? 'NIL' : quote(s);
}

/** Appends the wire form of `v` to `out` (strings as IMAP strings, Buffers as literals). */
export function encode(v: Value, out: Chunk[]): void {
  if (v === null) out.push('NIL');
  else if (typeof v === 'number') out.push(String(v));
  else if (typeof v === 'string') out.push(quote(v));
  else if (v instanceof Raw) out.push(v.text);
  else if (Buffer.isBuffer(v)) {
    out.push(`{${v.length}}\r\n`);
    out.push(v);
  } else {
    out.push('(');
    for (let i = 0; i < v.length; i++) {
      if (i) out.push(' ');
      encode(v[i]!, out);
    }
    out.push(')');
  }
}

export function encodeToString(v: Value): string {
  const out: Chunk[] = [];
  encode(v, out);
  return out.map((c) => (typeof c === 'string' ? c : c.toString('utf8'))).join('');
}

/** Joins chunks into one Buffer (small responses). */
export function toBuffer(chunks: Chunk[]): Buffer {
  return Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)));
}

/** An astring for mailbox names and the like: atom when safe, quoted or literal otherwise. */
export function astring(s: string, utf8 = false): string {
  if (s.length > 0 && /^[!#$&'*+,\-./0-9:;<=>?@A-Z^_`a-z|}~\]]+$/.test(s) && s.toUpperCase() !== 'NIL') return s;
  return quote(s, utf8);
}
