/**
 * Message preview text (RFC 8970 PREVIEW): the start of the first readable text part, decoded
 * to UTF-8, HTML reduced to text, white space collapsed, at most 200 characters (the RFC caps
 * previews at 256). Computed once at ingest and kept in the metadata.
 */
import { decodeCharset } from './charset.js';
import { decodeTransfer } from './decode.js';
import type { MimePart } from './types.js';

const MAX_CHARS = 200;
/** Enough of a part's body to find 200 characters of text even behind markup. */
const MAX_SCAN = 64 * 1024;

function firstText(part: MimePart): MimePart | null {
  if (part.disposition?.type === 'attachment') return null;
  if (part.parts) {
    // multipart/alternative: prefer text/plain; otherwise the first part with text.
    if (part.subtype === 'alternative') {
      const plain = part.parts.find((p) => p.type === 'text' && p.subtype === 'plain' && p.disposition?.type !== 'attachment');
      if (plain) return plain;
    }
    for (const p of part.parts) {
      const t = firstText(p);
      if (t) return t;
    }
    return null;
  }
  if (part.type === 'text' && (part.subtype === 'plain' || part.subtype === 'html')) return part;
  return null;
}

function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&amp;/gi, '&')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#(\d{1,6});/g, (_, n: string) => String.fromCodePoint(Math.min(Number(n), 0x10ffff)));
}

/** The preview of a parsed message, "" when it has no text part. */
export function previewOf(raw: Buffer, root: MimePart): string {
  const part = firstText(root);
  if (!part) return '';
  const charset = part.params.find(([k]) => k === 'charset')?.[1] ?? null;
  const body = decodeTransfer(raw.subarray(part.bodyStart, Math.min(part.bodyEnd, part.bodyStart + MAX_SCAN)), part.encoding);
  let text = decodeCharset(body, charset);
  if (part.subtype === 'html') text = htmlToText(text);
  return previewText(text);
}

/**
 * The preview of a text: quoted reply lines ("> ...") dropped so that it shows what is new, the
 * lines joined by a space, white space collapsed and trimmed, the first MAX_CHARS code points.
 * Lines are taken only until the result is known (issue 18, APPEND: the whole text, up to
 * MAX_SCAN, was split, joined, collapsed and spread into code points for 200 of them): once the
 * collapsed text so far has white space trimmed more than 2 × MAX_CHARS UTF-16 units long, its
 * first MAX_CHARS code points are followed by more text, and the lines after cannot change them.
 */
export function previewText(text: string): string {
  const lines: string[] = [];
  let taken = 0;
  let check = 4 * MAX_CHARS;
  let start = 0;
  while (start <= text.length) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = text.length;
    const line = text.slice(start, nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl); // split(/\r?\n/)
    start = nl + 1;
    if (line.startsWith('>')) continue;
    lines.push(line);
    taken += line.length + 1;
    if (taken < check || start > text.length) continue;
    check *= 2;
    const sofar = lines.join(' ').replace(/\s+/g, ' ').trimStart();
    if (sofar.trimEnd().length > 2 * MAX_CHARS) return [...sofar.slice(0, 2 * MAX_CHARS)].slice(0, MAX_CHARS).join('');
  }
  const all = lines.join(' ').replace(/\s+/g, ' ').trim();
  const chars = [...all];
  return chars.length > MAX_CHARS ? chars.slice(0, MAX_CHARS).join('') : all;
}
