/**
 * Charset and RFC 2047 encoded-word decoding. Unknown charsets fall back to Latin-1; nothing
 * here throws on bad input.
 */
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';

const decoders = new Map<string, TextDecoder | null>();

function decoderFor(charset: string): TextDecoder | null {
  const key = charset.toLowerCase();
  let d = decoders.get(key);
  if (d === undefined) {
    try {
      d = new TextDecoder(key === 'utf8' ? 'utf-8' : key, { fatal: false });
    } catch {
      d = null;
    }
    if (decoders.size < 256) decoders.set(key, d);
  }
  return d;
}

/** Decodes bytes written in `charset` (falls back to UTF-8 when valid, else Latin-1). */
export function decodeCharset(bytes: Uint8Array, charset: string | null | undefined): string {
  const cs = (charset ?? '').trim().toLowerCase();
  if (cs === '' || cs === 'us-ascii' || cs === 'ascii' || cs === 'utf-8' || cs === 'utf8') {
    return isUtf8(bytes) ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
  const d = decoderFor(cs);
  if (d) return d.decode(bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** A header value read as Latin-1 (one char per byte) turned into text: UTF-8 when valid. */
export function latin1ToText(s: string): string {
  if (!/[\x80-\xff]/.test(s)) return s;
  const b = Buffer.from(s, 'latin1');
  return isUtf8(b) ? b.toString('utf8') : s;
}

function decodeQ(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) out[n++] = 0x20;
    else if (c === 0x3d && i + 2 < text.length && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[n++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else out[n++] = c & 0xff;
  }
  return out.subarray(0, n);
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

/**
 * Decodes RFC 2047 encoded words in a header value. Whitespace between adjacent encoded words
 * is dropped, and adjacent words in the same charset are decoded together so that multi-byte
 * characters split across words survive.
 */
export function decodeWords(value: string): string {
  if (!value.includes('=?')) return value;
  let out = '';
  let last = 0;
  let pending: { charset: string; chunks: Buffer[] } | null = null;
  const flush = () => {
    if (pending) {
      out += decodeCharset(Buffer.concat(pending.chunks), pending.charset);
      pending = null;
    }
  };
  ENCODED_WORD.lastIndex = 0;
  for (let m = ENCODED_WORD.exec(value); m; m = ENCODED_WORD.exec(value)) {
    const between = value.slice(last, m.index);
    const adjacent = pending !== null && /^[ \t\r\n]*$/.test(between);
    if (!adjacent) {
      flush();
      out += between;
    }
    const charset = m[1]!.split('*')[0]!.toLowerCase();
    const bytes = m[2]!.toLowerCase() === 'b' ? Buffer.from(m[3]!, 'base64') : decodeQ(m[3]!);
    const p = pending as { charset: string; chunks: Buffer[] } | null;
    if (p && p.charset === charset) p.chunks.push(bytes);
    else {
      flush();
      pending = { charset, chunks: [bytes] };
    }
    last = m.index + m[0].length;
  }
  flush();
  return out + value.slice(last);
}
