/**
 * FETCH data items: parsing the requested list (macros, BODY[section]<partial>, RFC822.*)
 * and resolving a section to byte ranges of the stored message through its MimePart tree.
 */
import { listFields } from '../mailstore/mime/headers.js';
import type { MessageMeta, MimePart } from '../mailstore/mime/types.js';
import { ImapSyntaxError, type Token } from './parser.js';
import { countImapRefusal } from '../metrics.js';
import { ImapNo } from './responses.js';

/**
 * Distinct body sections one FETCH may ask for. Repeated items are answered once (a client
 * asking `BODY.PEEK[]` a thousand times gets it once), so this only bounds genuinely
 * different sections, each of which may cost a read of the message.
 */
export const MAX_FETCH_SECTIONS = 32;

export type SectionSpec = '' | 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface SectionItem {
  kind: 'section';
  /** Response item name without the partial origin, e.g. `BODY[1.MIME]` or `RFC822`. */
  label: string;
  peek: boolean;
  path: number[];
  spec: SectionSpec;
  fields: string[];
  partial: { start: number; length: number } | null;
  /**
   * BINARY[…] / BINARY.SIZE[…] (RFC 3516): the part body is read raw (partial stays null here)
   * and decoded by the FETCH writer, which applies `partial` of this field to the decoded bytes.
   */
  binary?: { size: boolean; partial: { start: number; length: number } | null };
}

export type SimpleItem = 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODY' | 'BODYSTRUCTURE' | 'MODSEQ' | 'EMAILID' | 'THREADID' | 'SAVEDATE' | 'PREVIEW';
export type FetchItem = { kind: SimpleItem } | SectionItem;

export interface FetchPlan {
  items: FetchItem[];
  needMeta: boolean;
  /** The meta is needed for ENVELOPE only (its texts will do: store.envelopeTexts). */
  envelopeOnly: boolean;
  /** Some item sets \Seen implicitly. */
  setsSeen: boolean;
  hasSection: boolean;
}

const MACROS: Record<string, SimpleItem[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};
const SIMPLE = new Set<string>(['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'MODSEQ', 'EMAILID', 'THREADID', 'SAVEDATE', 'PREVIEW']);

const SECTION_RE = /^(BODY|BODY\.PEEK)\[([^\]]*)\](?:<(\d+)\.(\d+)>)?$/i;
const BINARY_RE = /^(BINARY|BINARY\.PEEK|BINARY\.SIZE)\[((?:\d+\.)*\d+)?\](?:<(\d+)\.(\d+)>)?$/i;

function parseSection(text: string): { path: number[]; spec: SectionSpec; fields: string[]; canonical: string } {
  const m = /^((?:\d+\.)*\d+)?\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?(?:\s+\((.*)\))?$/i.exec(text.trim());
  if (!m) throw new ImapSyntaxError(`Invalid section ${text.slice(0, 60)}`);
  const path = m[1] ? m[1].split('.').map(Number) : [];
  if (path.some((n) => n < 1 || !Number.isSafeInteger(n))) throw new ImapSyntaxError('Invalid section part number');
  const spec = (m[2]?.toUpperCase() ?? '') as SectionSpec;
  if (spec === 'MIME' && !path.length) throw new ImapSyntaxError('MIME needs a part number');
  // "1HEADER" without a dot is not valid.
  if (m[1] && m[2] && !text.trim().slice(m[1].length).startsWith('.')) throw new ImapSyntaxError('Invalid section');
  const isFields = spec === 'HEADER.FIELDS' || spec === 'HEADER.FIELDS.NOT';
  let fields: string[] = [];
  if (isFields) {
    if (m[3] === undefined) throw new ImapSyntaxError('HEADER.FIELDS needs a field list');
    fields = m[3]
      .split(/\s+/)
      .map((f) => f.replace(/^"|"$/g, ''))
      .filter(Boolean);
    if (!fields.length) throw new ImapSyntaxError('Empty header field list');
  } else if (m[3] !== undefined) throw new ImapSyntaxError('Unexpected field list');
  const pathText = path.join('.');
  const canonical = [pathText, spec].filter(Boolean).join('.') + (isFields ? ` (${fields.map((f) => f.toUpperCase()).join(' ')})` : '');
  return { path, spec, fields: fields.map((f) => f.toLowerCase()), canonical };
}

function parseItem(atom: string, out: FetchItem[]): void {
  const upper = atom.toUpperCase();
  if (SIMPLE.has(upper)) {
    out.push({ kind: upper as SimpleItem });
    return;
  }
  if (upper === 'RFC822') out.push({ kind: 'section', label: 'RFC822', peek: false, path: [], spec: '', fields: [], partial: null });
  else if (upper === 'RFC822.HEADER') out.push({ kind: 'section', label: 'RFC822.HEADER', peek: true, path: [], spec: 'HEADER', fields: [], partial: null });
  else if (upper === 'RFC822.TEXT') out.push({ kind: 'section', label: 'RFC822.TEXT', peek: false, path: [], spec: 'TEXT', fields: [], partial: null });
  else if (BINARY_RE.test(atom)) {
    const b = BINARY_RE.exec(atom)!;
    const path = b[2] ? b[2].split('.').map(Number) : [];
    if (path.some((n) => n < 1 || !Number.isSafeInteger(n))) throw new ImapSyntaxError('Invalid section part number');
    const size = b[1]!.toUpperCase() === 'BINARY.SIZE';
    if (size && b[3] !== undefined) throw new ImapSyntaxError('BINARY.SIZE takes no partial range');
    const partial = b[3] !== undefined ? { start: Number(b[3]), length: Number(b[4]) } : null;
    if (partial && partial.length === 0) throw new ImapSyntaxError('Partial length must be positive');
    const label = `${size ? 'BINARY.SIZE' : 'BINARY'}[${path.join('.')}]`;
    out.push({ kind: 'section', label, peek: size || b[1]!.toUpperCase() === 'BINARY.PEEK', path, spec: '', fields: [], partial: null, binary: { size, partial } });
  } else {
    const m = SECTION_RE.exec(atom);
    if (!m) throw new ImapSyntaxError(`Unknown FETCH item ${atom.slice(0, 40)}`);
    const sec = parseSection(m[2]!);
    const partial = m[3] !== undefined ? { start: Number(m[3]), length: Number(m[4]) } : null;
    if (partial && partial.length === 0) throw new ImapSyntaxError('Partial length must be positive');
    out.push({ kind: 'section', label: `BODY[${sec.canonical}]`, peek: m[1]!.toUpperCase() === 'BODY.PEEK', path: sec.path, spec: sec.spec, fields: sec.fields, partial });
  }
}

/** Parses the FETCH item argument (an atom, a macro, or a list). */
export function parseFetchItems(arg: Token | undefined): FetchPlan {
  if (!arg) throw new ImapSyntaxError('Missing FETCH items');
  const items: FetchItem[] = [];
  if (arg.t === 'atom') {
    const macro = MACROS[arg.v.toUpperCase()];
    if (macro) macro.forEach((k) => items.push({ kind: k }));
    else parseItem(arg.v, items);
  } else if (arg.t === 'list') {
    if (!arg.v.length) throw new ImapSyntaxError('Empty FETCH item list');
    for (const [i, t] of arg.v.entries()) {
      // PREVIEW (LAZY) (RFC 8970 3): our previews are computed at ingest, so LAZY changes nothing.
      if (t.t === 'list' && arg.v[i - 1]?.t === 'atom' && (arg.v[i - 1] as { v: string }).v.toUpperCase() === 'PREVIEW') {
        if (t.v.some((m) => m.t !== 'atom' || m.v.toUpperCase() !== 'LAZY')) throw new ImapSyntaxError('Unknown PREVIEW modifier');
        continue;
      }
      if (t.t !== 'atom') throw new ImapSyntaxError('Invalid FETCH item');
      parseItem(t.v, items);
    }
  } else throw new ImapSyntaxError('Invalid FETCH items');
  const unique = dedupeItems(items);
  items.length = 0;
  items.push(...unique);
  let needMeta = false;
  let otherMeta = false;
  let setsSeen = false;
  let hasSection = false;
  for (const it of items) {
    if (it.kind === 'ENVELOPE') needMeta = true;
    if (it.kind === 'BODY' || it.kind === 'BODYSTRUCTURE' || it.kind === 'PREVIEW') needMeta = otherMeta = true;
    if (it.kind === 'section') {
      hasSection = true;
      if (!it.peek) setsSeen = true;
      if (it.path.length || it.spec !== '' || it.binary) needMeta = otherMeta = true;
    }
  }
  return { items, needMeta, envelopeOnly: needMeta && !otherMeta, setsSeen, hasSection };
}

/**
 * Each item once, in first-asked order: a simple item by name, a section by its response
 * label and partial range (`BODY[]` and `BODY.PEEK[]` answer the same `BODY[]`; if either
 * sets \Seen the kept one does). Throws NO [LIMIT] beyond MAX_FETCH_SECTIONS sections.
 */
export function dedupeItems(items: FetchItem[]): FetchItem[] {
  const out: FetchItem[] = [];
  const seen = new Map<string, number>();
  let sections = 0;
  for (const it of items) {
    const part = it.kind === 'section' ? (it.binary?.partial ?? it.partial) : null;
    const key = it.kind === 'section' ? `${it.label}<${part ? `${part.start}.${part.length}` : ''}>` : it.kind;
    const at = seen.get(key);
    if (at !== undefined) {
      const kept = out[at]!;
      if (kept.kind === 'section' && it.kind === 'section' && !it.peek && kept.peek) out[at] = { ...kept, peek: false };
      continue;
    }
    if (it.kind === 'section' && ++sections > MAX_FETCH_SECTIONS) {
      countImapRefusal('fetch-items');
      throw new ImapNo(`Too many body sections in one FETCH (at most ${MAX_FETCH_SECTIONS})`, 'LIMIT');
    }
    seen.set(key, out.length);
    out.push(it);
  }
  return out;
}

/** A byte range of the stored message, plus header-field filtering when asked. */
export interface ResolvedSection {
  start: number;
  end: number;
  filter: { fields: string[]; not: boolean } | null;
}

/** Finds the part a numeric section path names, or null. */
function findPart(meta: MessageMeta, path: number[]): MimePart | null {
  let cur: MimePart = meta.root;
  for (let i = 0; i < path.length; i++) {
    const n = path[i]!;
    let container = cur;
    if (i > 0 && cur.message) container = cur.message.root;
    if (container.parts) {
      const next = container.parts[n - 1];
      if (!next) return null;
      cur = next;
    } else if (n === 1) cur = container;
    else return null;
  }
  return cur;
}

/** Resolves a section; null when the part does not exist (answered with an empty string). */
export function resolveSection(meta: MessageMeta | null, size: number, item: SectionItem): ResolvedSection | null {
  const filter = item.spec === 'HEADER.FIELDS' || item.spec === 'HEADER.FIELDS.NOT' ? { fields: item.fields, not: item.spec === 'HEADER.FIELDS.NOT' } : null;
  if (!item.path.length) {
    if (item.spec === '') return { start: 0, end: size, filter: null };
    if (!meta) return null;
    if (item.spec === 'TEXT') return { start: meta.root.bodyStart, end: size, filter: null };
    return { start: 0, end: meta.root.bodyStart, filter };
  }
  if (!meta) return null;
  const part = findPart(meta, item.path);
  if (!part) return null;
  switch (item.spec) {
    case '':
      return { start: part.bodyStart, end: part.bodyEnd, filter: null };
    case 'MIME':
      return { start: part.headerStart, end: part.bodyStart, filter: null };
    default: {
      const inner = part.message?.root;
      if (!inner) return null;
      if (item.spec === 'TEXT') return { start: inner.bodyStart, end: inner.bodyEnd, filter: null };
      return { start: inner.headerStart, end: inner.bodyStart, filter };
    }
  }
}

/** Keeps (or drops) the named fields of a header block; the result ends with the blank line. */
export function filterHeader(block: Buffer, fields: string[], not: boolean): Buffer {
  const wanted = new Set(fields);
  const keep: Buffer[] = [];
  for (const f of listFields(block)) {
    if (!f.name) continue;
    if (wanted.has(f.name.toLowerCase()) !== not) {
      let chunk = block.subarray(f.start, f.end);
      if (chunk[chunk.length - 1] !== 10) chunk = Buffer.concat([chunk, Buffer.from('\r\n')]);
      keep.push(chunk);
    }
  }
  keep.push(Buffer.from('\r\n'));
  return Buffer.concat(keep);
}
