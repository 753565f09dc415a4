/**
 * Body decoding on demand (SEARCH BODY/TEXT, previews): transfer encodings and charsets of
 * text parts. At ingest only for the search index's text (fulltext.ts), bounded.
 */
import { decodeCharset, decodeWords } from './charset.js';
import { listFields } from './headers.js';
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
  return textParts(raw, part, limit).text;
}

/**
 * `textOf` that also says whether `limit` cut anything: when `complete`, the text is the same
 * for any larger limit (the search index stores it and relies on that, see fulltext.ts).
 */
export function textParts(raw: Buffer, part: MimePart, limit: number): { text: string; complete: boolean } {
  const chunks: string[] = [];
  let total = 0;
  let complete = true;
  const walk = (p: MimePart) => {
    if (total >= limit) {
      complete = false;
      return;
    }
    if (p.parts) {
      for (const c of p.parts) walk(c);
    } else if (p.message) {
      walk(p.message.root);
    } else if (p.type === 'text') {
      if (p.bodyEnd > p.bodyStart + limit) complete = false;
      const body = decodeTransfer(raw.subarray(p.bodyStart, Math.min(p.bodyEnd, p.bodyStart + limit)), p.encoding);
      const text = decodeCharset(body, charsetOf(p));
      total += text.length;
      chunks.push(p.subtype === 'html' ? text.replace(/<[^>]*>/g, ' ').replace(/&nbsp;/g, ' ') : text);
    }
  };
  walk(part);
  return { text: chunks.join('\n'), complete };
}

/**
 * The fields of a header block as SEARCH HEADER/TEXT match them: lower-case name, value
 * unfolded, encoded words decoded, lower-cased.
 */
export function searchHeaderFields(block: Buffer): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const f of listFields(block)) {
    if (!f.name) continue;
    const line = block.toString('utf8', f.start, f.end);
    const value = decodeWords(
      line
        .slice(line.indexOf(':') + 1)
        .replace(/\r?\n[ \t]/g, ' ')
        .trim(),
    );
    out.push([f.name.toLowerCase(), value.toLowerCase()]);
  }
  return out;
}
