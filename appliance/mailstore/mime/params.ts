/**
 * Structured header values with parameters (Content-Type, Content-Disposition), RFC 2045
 * with RFC 2231 continuations. Tolerant: missing quotes, stray semicolons and comments are
 * accepted, and nothing throws.
 */
import libmime from 'libmime';
import { decodeCharset, decodeWords } from './charset.js';

export interface ParsedParams {
  /** The value before the first ';', lower-cased, comments and whitespace removed. */
  value: string;
  /**
   * Parameters in header order, names lower-cased. RFC 2231 sections (`name*0`, `name*1*`)
   * are merged: into `name*` = `charset'lang'%XX…` when any section is extended (the form
   * BODYSTRUCTURE passes on), else into `name`.
   */
  params: Array<[string, string]>;
  /** Decoded values by name (RFC 2231 and RFC 2047 applied). */
  decoded: Map<string, string>;
}

function stripComments(s: string): string {
  if (!s.includes('(')) return s;
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      out += c;
      if (c === '\\' && i + 1 < s.length) out += s[++i];
      else if (c === '"') quoted = false;
    } else if (depth > 0) {
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
    } else if (c === '"') {
      quoted = true;
      out += c;
    } else if (c === '(') depth++;
    else out += c;
  }
  return out;
}

/** Splits `a=b; c="d;e"` into raw [name, value] pairs (quotes removed, escapes resolved). */
function splitParams(s: string, start: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let i = start;
  const n = s.length;
  while (i < n) {
    while (i < n && (s[i] === ';' || s[i] === ' ' || s[i] === '\t' || s[i] === '\r' || s[i] === '\n')) i++;
    if (i >= n) break;
    let eq = i;
    while (eq < n && s[eq] !== '=' && s[eq] !== ';') eq++;
    const name = s.slice(i, eq).trim().toLowerCase();
    if (eq >= n || s[eq] === ';') {
      i = eq + 1; // a parameter without value: ignore
      continue;
    }
    i = eq + 1;
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
    let value = '';
    if (s[i] === '"') {
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < n) i++;
        value += s[i];
        i++;
      }
      i++; // closing quote (or end)
      while (i < n && s[i] !== ';') i++;
    } else {
      const semi = s.indexOf(';', i);
      const end = semi === -1 ? n : semi;
      value = s.slice(i, end).trim();
      i = end;
    }
    if (name) out.push([name, value]);
  }
  return out;
}

function percentDecode(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else for (const b of Buffer.from(s[i]!, 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes);
}

function percentEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out +=
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f
        ? String.fromCharCode(b)
        : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function parseParams(header: string | null | undefined): ParsedParams {
  const s = stripComments(header ?? '');
  const semi = s.indexOf(';');
  const value = (semi === -1 ? s : s.slice(0, semi)).replace(/\s+/g, '').toLowerCase();
  const raw = semi === -1 ? [] : splitParams(s, semi + 1);

  // Group RFC 2231 sections by base name; keep the order of first appearance.
  interface Group {
    sections: Array<{ index: number; extended: boolean; value: string }>;
  }
  const order: Array<string | [string, string]> = [];
  const groups = new Map<string, Group>();
  for (const [name, v] of raw) {
    const m = /^([^*]+)\*(?:(\d+)\*?)?$/.exec(name);
    if (!m) {
      order.push([name, v]);
      continue;
    }
    const base = m[1]!;
    const index = m[2] === undefined ? 0 : Number(m[2]);
    const extended = name.endsWith('*');
    let g = groups.get(base);
    if (!g) {
      g = { sections: [] };
      groups.set(base, g);
      order.push(base);
    }
    if (g.sections.length < 1000) g.sections.push({ index, extended, value: v });
  }

  const params: Array<[string, string]> = [];
  const decoded = new Map<string, string>();
  for (const item of order) {
    if (Array.isArray(item)) {
      const [name, v] = item;
      if (groups.has(name)) continue; // an RFC 2231 form of the same name wins
      params.push([name, v]);
      if (!decoded.has(name)) decoded.set(name, decodeWords(v));
      continue;
    }
    const g = groups.get(item)!;
    g.sections.sort((a, b) => a.index - b.index);
    const anyExtended = g.sections.some((x) => x.extended);
    let charset = '';
    let lang = '';
    const bytes: Buffer[] = [];
    let encoded = '';
    g.sections.forEach((sec, i) => {
      let v = sec.value;
      if (sec.extended && i === 0) {
        const q1 = v.indexOf("'");
        const q2 = q1 === -1 ? -1 : v.indexOf("'", q1 + 1);
        if (q2 !== -1) {
          charset = v.slice(0, q1);
          lang = v.slice(q1 + 1, q2);
          v = v.slice(q2 + 1);
        }
      }
      if (sec.extended) {
        bytes.push(percentDecode(v));
        encoded += v;
      } else {
        bytes.push(Buffer.from(v, 'utf8'));
        encoded += percentEncode(v);
      }
    });
    const text = decodeCharset(Buffer.concat(bytes), charset || 'utf-8');
    if (anyExtended) params.push([`${item}*`, `${charset}'${lang}'${encoded}`]);
    else params.push([item, text]);
    decoded.set(item, anyExtended ? text : decodeWords(text));
  }
  return { value, params, decoded };
}

/**
 * The parameters as IMAP4rev2 BODYSTRUCTURE gives them (RFC 9051 7.5.2: RFC 2231 continuations
 * and charsets decoded): `name*` = `charset'lang'%XX…` (the merged form kept in the index)
 * becomes `name` = text. Decoding is libmime's (the MIME library already in the tree).
 */
export function decodedParams(params: Array<[string, string]>): Array<[string, string]> {
  return params.map(([name, value]) => {
    if (!name.endsWith('*')) return [name, value];
    const base = name.slice(0, -1);
    try {
      // The stored value is percent-encoded (no quotes, spaces or ';'), safe to put back in a header.
      const text = libmime.parseHeaderValue(`x; ${base}*=${value}`).params[base];
      return [base, text ?? value];
    } catch {
      return [base, value];
    }
  });
}
