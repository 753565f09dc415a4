/**
 * Body decoding on demand (SEARCH BODY/TEXT, previews): transfer encodings and charsets of
 * text parts. Never used at ingest.
 */
import { decodeCharset } from './charset.js';
import type { MimePart } from './types.js';

export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let n = 0;
  const hex = (c: number) => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1);
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c !== 0x3d) {
      out[n++] = c;
      continue;
    }
    const a = input[i + 1];
    const b = input[i + 2];
    if (a === 0x0d && b === 0x0a) {
      i += 2; // soft line break
    } else if (a === 0x0a) {
      i += 1;
    } else if (a !== undefined && b !== undefined && hex(a) >= 0 && hex(b) >= 0) {
      out[n++] = hex(a) * 16 + hex(b);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

/** Removes the Content-Transfer-Encoding of a body. */
export function decodeTransfer(body: Buffer, encoding: string): Buffer {
  switch (encoding) {
    case 'base64':
      return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return body;
  }
}

function charsetOf(part: MimePart): string | null {
  for (const [k, v] of part.params) if (k === 'charset') return v;
  return null;
}

/** Decoded text of every text/* leaf of the part tree (nested messages included), joined by newlines. */
export function textOf(raw: Buffer, part: MimePart, limit = 4 * 1024 * 1024): string {
  const chunks: string[] = [];
  let total = 0;
  const walk = (p: MimePart) => {
    if (total >= limit) return;
    if (p.parts) {
      for (const c of p.parts) walk(c);
    } else if (p.message) {
      walk(p.message.root);
    } else if (p.type === 'text') {
      const body = decodeTransfer(raw.subarray(p.bodyStart, Math.min(p.bodyEnd, p.bodyStart + limit)), p.encoding);
      const text = decodeCharset(body, charsetOf(p));
      total += text.length;
      chunks.push(p.subtype === 'html' ? text.replace(/<[^>]*>/g, ' ').replace(/&nbsp;/g, ' ') : text);
    }
  };
  walk(part);
  return chunks.join('\n');
}
