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
  // Drop quoted reply lines ("> ...") so the preview shows what is new.
  text = text
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('>'))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...text];
  return chars.length > MAX_CHARS ? chars.slice(0, MAX_CHARS).join('') : text;
}
