/**
 * Header block scanning on the raw bytes: finds where a header ends and the body starts
 * (CRLF or bare LF, with or without the blank line) and collects the fields the parser needs.
 */
import { latin1ToText } from './charset.js';

export interface HeaderBlock {
  /** First body byte. */
  bodyStart: number;
  /** Unfolded, trimmed values (first occurrence) of the wanted fields, by lower-case name. */
  fields: Map<string, string>;
  /** True when the header did not end with a blank line. */
  noBlankLine: boolean;
}

/** Header fields the parser keeps (others are only skipped over). */
export const WANTED = new Set([
  'content-type',
  'content-transfer-encoding',
  'content-id',
  'content-description',
  'content-md5',
  'content-disposition',
  'content-language',
  'content-location',
  'date',
  'subject',
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'in-reply-to',
  'message-id',
  'references',
]);

const MAX_FIELD = 64 * 1024;

function isFieldName(line: string): number {
  // Returns the colon index for "Name: value" (name of printable ASCII without spaces), else -1.
  const colon = line.indexOf(':');
  if (colon <= 0) return -1;
  for (let i = 0; i < colon; i++) {
    const c = line.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) {
      // Tolerate whitespace before the colon ("Subject : x"), but only trailing.
      if ((c === 0x20 || c === 0x09) && line.slice(i, colon).trim() === '') return colon;
      return -1;
    }
  }
  return colon;
}

/**
 * Scans the header starting at `start` (up to `end`). The header ends at the first empty line;
 * a line that is neither a field nor a continuation also ends it (the body starts there), and
 * without either the whole range is header and the body is empty.
 */
export function scanHeader(buf: Buffer, start: number, end: number, wanted: ReadonlySet<string> = WANTED): HeaderBlock {
  const fields = new Map<string, string>();
  let pos = start;
  let curName: string | null = null;
  let curValue = '';
  const commit = () => {
    if (curName !== null && !fields.has(curName) && wanted.has(curName)) {
      fields.set(
        curName,
        latin1ToText(
          curValue
            .replace(/\r?\n(?=[ \t])/g, '')
            .replace(/[\r\n]+/g, '')
            .trim(),
        ),
      );
    }
    curName = null;
    curValue = '';
  };
  while (pos < end) {
    let nl = buf.indexOf(10, pos);
    if (nl === -1 || nl >= end) nl = end;
    let lineEnd = nl;
    if (lineEnd > pos && buf[lineEnd - 1] === 13) lineEnd--;
    const next = nl < end ? nl + 1 : end;
    if (lineEnd === pos) {
      commit();
      return { bodyStart: next, fields, noBlankLine: false };
    }
    const first = buf[pos]!;
    if (first === 0x20 || first === 0x09) {
      if (curName !== null && curValue.length < MAX_FIELD) curValue += '\n' + buf.toString('latin1', pos, lineEnd);
      pos = next;
      continue;
    }
    const line = buf.toString('latin1', pos, Math.min(lineEnd, pos + MAX_FIELD));
    const colon = isFieldName(line);
    if (colon === -1) {
      commit();
      return { bodyStart: pos, fields, noBlankLine: true };
    }
    commit();
    curName = line.slice(0, colon).trim().toLowerCase();
    curValue = line.slice(colon + 1);
    pos = next;
  }
  commit();
  return { bodyStart: end, fields, noBlankLine: true };
}

/**
 * Every field of a header block as [name as written, raw value bytes] — for
 * HEADER.FIELDS-style selection and SEARCH HEADER. `block` is the header's bytes.
 */
export function listFields(block: Buffer): Array<{ name: string; start: number; end: number }> {
  const out: Array<{ name: string; start: number; end: number }> = [];
  let pos = 0;
  const end = block.length;
  let cur: { name: string; start: number; end: number } | null = null;
  while (pos < end) {
    let nl = block.indexOf(10, pos);
    if (nl === -1) nl = end - 1;
    const next = nl + 1;
    let lineEnd = nl;
    if (lineEnd > pos && block[lineEnd - 1] === 13) lineEnd--;
    if (lineEnd <= pos && block[pos] !== 0x20 && block[pos] !== 0x09) break; // blank line
    const first = block[pos]!;
    if ((first === 0x20 || first === 0x09) && cur) {
      cur.end = next;
    } else {
      const colon = block.indexOf(0x3a, pos);
      const name = colon !== -1 && colon < lineEnd ? block.toString('latin1', pos, colon).trim() : '';
      cur = { name, start: pos, end: next };
      out.push(cur);
    }
    pos = next;
  }
  return out;
}
