/**
 * SEARCH: every RFC 3501 key plus MODSEQ (RFC 7162), parsed into a tree and evaluated against
 * folder entries. Metadata (decoded headers) is loaded only when a key needs it, message bytes
 * only for HEADER/BODY/TEXT.
 */
import { parseAddressList } from '../mailstore/mime/addresses.js';
import { searchHeaderFields, textOf } from '../mailstore/mime/decode.js';
import type { MessageMeta } from '../mailstore/mime/types.js';
import type { MessageEntry } from '../mailstore/store.types.js';
import { ImapSyntaxError, type Token, isAtom, str } from './parser.js';
import { parseEmailId } from './object-ids.js';
import { ImapNo } from './responses.js';
import { isSavedResult, isSequenceSet, parseSequenceSet, type SeqRanges } from './sequence.js';

export type SearchKey =
  | { k: 'all' }
  | { k: 'none' }
  | { k: 'flag'; flag: string; set: boolean }
  | { k: 'seq'; ranges: SeqRanges }
  | { k: 'uid'; ranges: SeqRanges }
  | { k: 'size'; larger: boolean; n: number }
  | { k: 'idate'; op: 'before' | 'on' | 'since'; day: number }
  | { k: 'sdate'; op: 'before' | 'on' | 'since'; day: number }
  | { k: 'addr'; field: 'from' | 'to' | 'cc' | 'bcc'; s: string }
  | { k: 'subject'; s: string }
  | { k: 'header'; field: string; s: string }
  | { k: 'body'; s: string }
  | { k: 'text'; s: string }
  | { k: 'modseq'; n: number }
  | { k: 'recent' }
  | { k: 'savedate'; op: 'before' | 'on' | 'since'; day: number }
  | { k: 'emailid'; id: number | null }
  | { k: 'not'; a: SearchKey }
  | { k: 'or'; a: SearchKey; b: SearchKey }
  | { k: 'and'; all: SearchKey[] };

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** "1-Feb-1994" → days since epoch (UTC). */
export function parseSearchDate(text: string): number {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  const month = m ? MONTHS.indexOf(m[2]!.toLowerCase()) : -1;
  if (!m || month < 0) throw new ImapSyntaxError(`Invalid date ${text.slice(0, 20)}`);
  return Math.floor(Date.UTC(Number(m[3]), month, Number(m[1])) / 86_400_000);
}

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};

/**
 * Nesting bound of NOT / OR / parenthesised keys together: parsing and evaluation recurse, and
 * `NOT NOT … ALL` thousands deep would exhaust the stack; such a search is answered BAD.
 */
export const MAX_SEARCH_DEPTH = 100;

export interface ParsedSearch {
  key: SearchKey;
  usesModseq: boolean;
}

type DateOp = 'before' | 'on' | 'since';

/**
 * The state of one parse: the position in the token list being read, the nesting depth of
 * NOT / OR / parenthesised keys, and whether a MODSEQ key was seen.
 */
class SearchParser {
  i = 0;
  depth = 0;
  usesModseq = false;

  constructor(private readonly rev2: boolean) {}

  /** The next token of `toks` as a string argument of the key being parsed. */
  arg(toks: Token[], what: string): string {
    return str(toks[this.i++], what);
  }

  enter(): void {
    if (++this.depth > MAX_SEARCH_DEPTH) throw new ImapSyntaxError('Search too deep');
  }

  leave(): void {
    this.depth--;
  }

  /** One search key at toks[i] (with its arguments). */
  key(toks: Token[]): SearchKey {
    const t = toks[this.i++];
    if (!t) throw new ImapSyntaxError('Missing search key');
    if (t.t === 'list') return this.list(t.v);
    if (t.t !== 'atom') throw new ImapSyntaxError('Invalid search key');
    const name = t.v.toUpperCase();
    const flag = FLAG_KEYS[name];
    if (flag) return { k: 'flag', flag: flag[0], set: flag[1] };
    // RFC 9051 Appendix E: IMAP4rev2 removed these keys (no \Recent); BAD like any unknown key.
    if (this.rev2 && (name === 'RECENT' || name === 'NEW' || name === 'OLD')) throw new ImapSyntaxError(`Unknown search key ${name} (not in IMAP4rev2)`);
    const parse = KEY_PARSERS.get(name);
    if (parse) return parse(this, toks, name);
    if (isSequenceSet(t.v)) return { k: 'seq', ranges: parseSequenceSet(t.v) };
    throw new ImapSyntaxError(`Unknown search key ${t.v.slice(0, 30)}`);
  }

  /** A parenthesised list of keys: all of them. */
  private list(toks: Token[]): SearchKey {
    this.enter();
    const saved = this.i;
    this.i = 0;
    const inner: SearchKey[] = [];
    while (this.i < toks.length) inner.push(this.key(toks));
    this.i = saved;
    this.leave();
    if (!inner.length) throw new ImapSyntaxError('Empty search list');
    return inner.length === 1 ? inner[0]! : { k: 'and', all: inner };
  }
}

/** Parses the arguments of one search key (the key's name already read). */
type KeyParser = (p: SearchParser, toks: Token[], name: string) => SearchKey;

function sizeKey(p: SearchParser, toks: Token[], name: string): SearchKey {
  const v = p.arg(toks, 'size');
  if (!/^\d{1,15}$/.test(v)) throw new ImapSyntaxError('Invalid size');
  return { k: 'size', larger: name === 'LARGER', n: Number(v) };
}

/** BEFORE/ON/SINCE (internal date), SENT* (Date header) and SAVED* (RFC 8514 4): `prefix` is cut from the name. */
function dateKey(k: 'idate' | 'sdate' | 'savedate', prefix: number): KeyParser {
  return (p, toks, name) => ({ k, op: name.slice(prefix).toLowerCase() as DateOp, day: parseSearchDate(p.arg(toks, 'date')) });
}

/** FROM/TO/CC/BCC, SUBJECT, BODY and TEXT: one string, matched case-insensitively. */
function stringKey(k: 'addr' | 'subject' | 'body' | 'text'): KeyParser {
  if (k === 'addr') return (p, toks, name) => ({ k, field: name.toLowerCase() as 'from', s: p.arg(toks, 'string').toLowerCase() });
  return (p, toks) => ({ k, s: p.arg(toks, 'string').toLowerCase() });
}

function modseqKey(p: SearchParser, toks: Token[]): SearchKey {
  // MODSEQ [<entry-name> <entry-type-req>] <mod-sequence-valzer>
  let v = p.arg(toks, 'mod-sequence');
  if (!/^\d+$/.test(v)) {
    p.i++; // entry type
    v = p.arg(toks, 'mod-sequence');
  }
  if (!/^\d{1,19}$/.test(v)) throw new ImapSyntaxError('Invalid mod-sequence');
  p.usesModseq = true;
  return { k: 'modseq', n: Number(v) };
}

const KEY_PARSERS = new Map<string, KeyParser>([
  ['ALL', () => ({ k: 'all' })],
  ['RECENT', () => ({ k: 'recent' })],
  ['NEW', () => ({ k: 'and', all: [{ k: 'recent' }, { k: 'flag', flag: '\\Seen', set: false }] })], // RFC 3501 6.4.4: RECENT UNSEEN
  ['OLD', () => ({ k: 'not', a: { k: 'recent' } })],
  ['KEYWORD', (p, toks) => ({ k: 'flag', flag: p.arg(toks, 'keyword'), set: true })],
  ['UNKEYWORD', (p, toks) => ({ k: 'flag', flag: p.arg(toks, 'keyword'), set: false })],
  ['LARGER', sizeKey],
  ['SMALLER', sizeKey],
  ['BEFORE', dateKey('idate', 0)],
  ['ON', dateKey('idate', 0)],
  ['SINCE', dateKey('idate', 0)],
  ['SENTBEFORE', dateKey('sdate', 4)],
  ['SENTON', dateKey('sdate', 4)],
  ['SENTSINCE', dateKey('sdate', 4)],
  ['FROM', stringKey('addr')],
  ['TO', stringKey('addr')],
  ['CC', stringKey('addr')],
  ['BCC', stringKey('addr')],
  ['SUBJECT', stringKey('subject')],
  [
    'HEADER',
    (p, toks) => {
      const field = p.arg(toks, 'header field').toLowerCase();
      return { k: 'header', field, s: p.arg(toks, 'string').toLowerCase() };
    },
  ],
  ['BODY', stringKey('body')],
  ['TEXT', stringKey('text')],
  ['UID', (p, toks) => ({ k: 'uid', ranges: parseSequenceSet(p.arg(toks, 'UID set')) })],
  ['SAVEDBEFORE', dateKey('savedate', 5)], // RFC 8514 4
  ['SAVEDON', dateKey('savedate', 5)],
  ['SAVEDSINCE', dateKey('savedate', 5)],
  ['SAVEDATESUPPORTED', () => ({ k: 'all' })],
  ['EMAILID', (p, toks) => ({ k: 'emailid', id: parseEmailId(p.arg(toks, 'email id')) })], // RFC 8474 6
  [
    'THREADID',
    (p, toks) => {
      p.arg(toks, 'thread id');
      return { k: 'none' }; // no message has a thread id (FETCH THREADID is NIL)
    },
  ],
  [
    'NOT',
    (p, toks) => {
      p.enter();
      const a = p.key(toks);
      p.leave();
      return { k: 'not', a };
    },
  ],
  [
    'OR',
    (p, toks) => {
      p.enter();
      const a = p.key(toks);
      const b = p.key(toks);
      p.leave();
      return { k: 'or', a, b };
    },
  ],
  ['MODSEQ', modseqKey],
]);

/** Parses search criteria (after the command name; handles CHARSET). */
export function parseSearch(args: Token[], opts: { rev2?: boolean } = {}): ParsedSearch {
  const p = new SearchParser(opts.rev2 === true);
  if (isAtom(args[0], 'CHARSET')) {
    const cs = str(args[1], 'charset').toUpperCase();
    if (cs !== 'UTF-8' && cs !== 'US-ASCII' && cs !== 'UTF8') throw new ImapNo('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
    p.i = 2;
  }
  const keys: SearchKey[] = [];
  while (p.i < args.length) keys.push(p.key(args));
  if (!keys.length) throw new ImapSyntaxError('Missing search criteria');
  return { key: keys.length === 1 ? keys[0]! : { k: 'and', all: keys }, usesModseq: p.usesModseq };
}

/**
 * What evaluation needs loaded per message. With `textIndexed`, BODY/TEXT keys are answered by
 * the search index (SearchTarget.textAnswer) and need nothing loaded.
 */
export function searchNeeds(key: SearchKey, opts: { textIndexed?: boolean } = {}): { meta: boolean; raw: 'none' | 'header' | 'full' } {
  let meta = false;
  let raw: 'none' | 'header' | 'full' = 'none';
  const walk = (k: SearchKey) => {
    switch (k.k) {
      case 'addr':
      case 'subject':
      case 'sdate':
        meta = true;
        break;
      case 'header':
        meta = true;
        if (raw === 'none') raw = 'header';
        break;
      case 'body':
      case 'text':
        if (opts.textIndexed) break;
        meta = true;
        raw = 'full';
        break;
      case 'not':
        walk(k.a);
        break;
      case 'or':
        walk(k.a);
        walk(k.b);
        break;
      case 'and':
        k.all.forEach(walk);
        break;
      default:
    }
  };
  walk(key);
  return { meta, raw };
}

/** The BODY and TEXT keys of a search, in tree order (each object once). */
export function textKeys(key: SearchKey): Array<Extract<SearchKey, { k: 'body' | 'text' }>> {
  const out: Array<Extract<SearchKey, { k: 'body' | 'text' }>> = [];
  const walk = (k: SearchKey) => {
    if (k.k === 'body' || k.k === 'text') out.push(k);
    else if (k.k === 'not') walk(k.a);
    else if (k.k === 'or') {
      walk(k.a);
      walk(k.b);
    } else if (k.k === 'and') k.all.forEach(walk);
  };
  walk(key);
  return out;
}

export interface SearchTarget {
  entry: MessageEntry;
  seq: number;
  meta: MessageMeta | null;
  /** Header block (raw 'header') or whole message (raw 'full'). */
  raw: Buffer | null;
  /** \Recent in the searching session. */
  recent?: boolean;
  /** The session's saved search result ("$", RFC 5182), as UIDs. */
  saved?: ReadonlySet<number>;
  /** The search index's answer for a BODY/TEXT key of this message; undefined: evaluate on `raw`. */
  textAnswer?: (key: SearchKey) => boolean | undefined;
}

/**
 * The day of the Date header in the header's own zone (RFC 3501 6.4.4: SENT* "disregarding
 * time and timezone"): read from the written date, not from the UTC instant. Falls back to the
 * UTC day of the parsed instant, then to the internal date.
 */
export function sentDay(t: SearchTarget): number {
  const written = t.meta?.envelope.date;
  if (written) {
    const m = /(?:^|[\s,])(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})(?:\s|$)/.exec(written);
    const month = m ? MONTHS.indexOf(m[2]!.toLowerCase()) : -1;
    if (m && month >= 0) {
      let year = Number(m[3]);
      if (m[3]!.length <= 2)
        year += year < 50 ? 2000 : 1900; // RFC 5322 4.3 obsolete two-digit years
      else if (m[3]!.length === 3) year += 1900;
      const day = Date.UTC(year, month, Number(m[1]));
      if (Number.isFinite(day)) return Math.floor(day / 86_400_000);
    }
  }
  return Math.floor((t.meta?.sentAt ?? t.entry.internalDate) / 86_400_000);
}

/**
 * What FROM/TO/CC/BCC match against (RFC 3501 6.4.4, substring): the decoded header as
 * written, plus every address re-assembled without comments and folding ("Name
 * <local@domain>"), so `<user (comment)@ (comment) domain.org>` matches "user@domain.org".
 */
function addressText(t: SearchTarget, field: 'from' | 'to' | 'cc' | 'bcc', cache: EvalCache): string {
  const memo = (cache.a ??= {});
  const hit = memo[field];
  if (hit !== undefined) return hit;
  const text = addressFieldText(t.meta, field);
  memo[field] = text;
  return text;
}

/** addressText of a message's metadata (no memo). */
export function addressFieldText(meta: MessageMeta | null, field: 'from' | 'to' | 'cc' | 'bcc'): string {
  const value = meta?.[field] ?? '';
  let text = value.toLowerCase();
  for (const a of parseAddressList(value) ?? []) {
    if (a.host === null) continue; // group markers
    text += `\n${a.name ?? ''} <${a.mailbox ?? ''}${a.host ? `@${a.host}` : ''}>`.toLowerCase();
  }
  return text;
}

/** SUBJECT (RFC 3501 6.4.4): a case-insensitive substring of the decoded Subject; `s` is lower-cased. */
export function subjectMatches(meta: MessageMeta | null, s: string): boolean {
  return (meta?.subject ?? '').toLowerCase().includes(s);
}

/** Case-insensitive; lower-cases only a flag of the same length (a 100,000-message search allocates nothing). */
function hasFlag(flags: string[], flag: string): boolean {
  for (const x of flags) if (x === flag || (x.length === flag.length && x.toLowerCase() === flag.toLowerCase())) return true;
  return false;
}

function inRanges(n: number, ranges: SeqRanges, max: number): boolean {
  for (const [a, b] of ranges) {
    const x = a === Infinity ? max : a;
    const y = b === Infinity ? max : b;
    if (n >= Math.min(x, y) && n <= Math.max(x, y)) return true;
  }
  return false;
}

function compareDay(day: number, op: 'before' | 'on' | 'since', target: number): boolean {
  return op === 'before' ? day < target : op === 'on' ? day === target : day >= target;
}

/** Evaluates one message. `maxSeq`/`maxUid` resolve `*`. */
export function matches(key: SearchKey, t: SearchTarget, maxSeq: number, maxUid: number, cache: EvalCache = {}): boolean {
  switch (key.k) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'flag':
      return hasFlag(t.entry.flags, key.flag) === key.set;
    case 'seq':
    case 'uid':
      // "$" is the saved SEARCHRES result (RFC 5182 2.1), a set of UIDs either way.
      if (isSavedResult(key.ranges)) return t.saved?.has(t.entry.uid) === true;
      return key.k === 'seq' ? inRanges(t.seq, key.ranges, maxSeq) : inRanges(t.entry.uid, key.ranges, maxUid);
    case 'size':
      return key.larger ? t.entry.size > key.n : t.entry.size < key.n;
    case 'idate':
      return compareDay(Math.floor(t.entry.internalDate / 86_400_000), key.op, key.day);
    case 'sdate':
      return compareDay(sentDay(t), key.op, key.day);
    case 'addr':
      return addressText(t, key.field, cache).includes(key.s);
    case 'recent':
      return t.recent === true;
    case 'savedate':
      // Entries from before save dates were kept count by their internal date.
      return compareDay(Math.floor((t.entry.savedAt ?? t.entry.internalDate) / 86_400_000), key.op, key.day);
    case 'emailid':
      return t.entry.messageId === key.id;
    case 'subject':
      return subjectMatches(t.meta, key.s);
    case 'modseq':
      return t.entry.modseq >= key.n;
    case 'header':
      return headerValues(t, cache).some(([name, value]) => name === key.field && value.includes(key.s));
    case 'body':
      return t.textAnswer?.(key) ?? bodyText(t, cache).includes(key.s);
    case 'text':
      return t.textAnswer?.(key) ?? (headerValues(t, cache).some(([name, value]) => name.includes(key.s) || value.includes(key.s)) || bodyText(t, cache).includes(key.s));
    case 'not':
      return !matches(key.a, t, maxSeq, maxUid, cache);
    case 'or':
      return matches(key.a, t, maxSeq, maxUid, cache) || matches(key.b, t, maxSeq, maxUid, cache);
    case 'and':
      for (const k of key.all) if (!matches(k, t, maxSeq, maxUid, cache)) return false;
      return true;
  }
}

/** Per-message memo of decoded header values and body text. */
export interface EvalCache {
  h?: Array<[string, string]>;
  b?: string;
  a?: Partial<Record<'from' | 'to' | 'cc' | 'bcc', string>>;
}

function headerValues(t: SearchTarget, cache: EvalCache): Array<[string, string]> {
  cache.h ??= t.raw && t.meta ? searchHeaderFields(t.raw.subarray(0, t.meta.root.bodyStart)) : [];
  return cache.h;
}

function bodyText(t: SearchTarget, cache: EvalCache): string {
  if (cache.b === undefined) {
    cache.b = t.raw && t.meta && t.raw.length > t.meta.root.bodyStart ? textOf(t.raw, t.meta.root).toLowerCase() : '';
  }
  return cache.b;
}
