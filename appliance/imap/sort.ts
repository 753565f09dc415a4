/**
 * SORT (RFC 5256 3, DISPLAYFROM/DISPLAYTO of RFC 5957) and THREAD (RFC 5256 2: ORDEREDSUBJECT
 * and REFERENCES) over precomputed sort keys (mailstore/sort-keys.ts). Pure functions: the
 * command modules pick the rows (search result) and write the answer.
 */
import type { SortRow } from '../mailstore/store.types.js';
import { ImapSyntaxError, type Token } from './parser.js';
import { digitCount, writeSpacedNumber } from './decimal.js';
import { type ThreadInput, type ThreadTree, orderedSubjectTree, referenceTree } from './thread-tree.js';

export type SortKeyName = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
export interface SortCriterion {
  key: SortKeyName;
  reverse: boolean;
}

const KEYS = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

/** `(REVERSE DATE SUBJECT)` → criteria. */
export function parseSortCriteria(t: Token | undefined): SortCriterion[] {
  if (!t || t.t !== 'list' || !t.v.length) throw new ImapSyntaxError('SORT needs a list of sort criteria');
  const out: SortCriterion[] = [];
  let reverse = false;
  for (const x of t.v) {
    if (x.t !== 'atom') throw new ImapSyntaxError('Invalid sort criterion');
    const name = x.v.toUpperCase();
    if (name === 'REVERSE') {
      if (reverse) throw new ImapSyntaxError('REVERSE given twice');
      reverse = true;
      continue;
    }
    if (!KEYS.has(name)) throw new ImapSyntaxError(`Unknown sort key ${x.v.slice(0, 30)}`);
    out.push({ key: name as SortKeyName, reverse });
    reverse = false;
  }
  if (reverse || !out.length) throw new ImapSyntaxError('REVERSE must precede a sort key');
  return out;
}

/** The sent date for sorting: the Date header, else the internal date (RFC 5256 3 DATE). */
export function sentDate(r: SortRow): number {
  return r.keys.d ?? r.internalDate;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function keyOf(key: SortKeyName, r: SortRow): number | string {
  switch (key) {
    case 'ARRIVAL':
      return r.internalDate;
    case 'DATE':
      return sentDate(r);
    case 'SIZE':
      return r.size;
    case 'SUBJECT':
      return r.keys.s;
    case 'FROM':
      return r.keys.f;
    case 'TO':
      return r.keys.t;
    case 'CC':
      return r.keys.c;
    case 'DISPLAYFROM':
      return r.keys.df;
    case 'DISPLAYTO':
      return r.keys.dt;
  }
}

/** Keys compared as numbers (the others are strings). */
const NUMERIC = new Set<SortKeyName>(['ARRIVAL', 'DATE', 'SIZE']);

/** Largest integer a double holds exactly: packed keys stay below it. */
const EXACT = 2 ** 53;

/**
 * One numeric key of every row, in a typed array: a plain loop per key (no call per row), so it
 * runs fast the first time too, before V8 optimizes it (issue 18: a process's first SORT).
 */
function numericColumn(rows: readonly SortRow[], key: SortKeyName): Float64Array {
  const n = rows.length;
  const out = new Float64Array(n);
  if (key === 'DATE') {
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      const d = r.keys.d;
      out[i] = d === null ? r.internalDate : d;
    }
  } else if (key === 'ARRIVAL') {
    for (let i = 0; i < n; i++) out[i] = rows[i]!.internalDate;
  } else {
    for (let i = 0; i < n; i++) out[i] = rows[i]!.size;
  }
  return out;
}

/** Ranks of a numeric key column: equal keys get equal ranks, ascending with the keys (one native sort of the values). */
function rankNumbers(keys: Float64Array): { ranks: Float64Array; distinct: number } {
  const n = keys.length;
  const values = keys.slice().sort();
  let m = 0;
  for (let i = 0; i < n; i++) if (m === 0 || values[i] !== values[m - 1]) values[m++] = values[i]!;
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = keys[i]!;
    let lo = 0;
    let hi = m - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    ranks[i] = lo;
  }
  return { ranks, distinct: m };
}

/**
 * Positions 0..n-1 ordered by `keys` (ascending, or descending when `reverse`), ties in position
 * order: key × n + position sorted natively, when the keys are integers whose range allows it
 * exactly; null otherwise.
 */
function packedOrder(keys: Float64Array, reverse: boolean): Uint32Array | null {
  const n = keys.length;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = keys[i]!;
    if (v !== Math.floor(v)) return null; // fractions, NaN
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || (max - min + 1) * n >= EXACT) return null;
  if (max - min < 2 * n + 1024) return countingOrder(keys, reverse, min, max);
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) packed[i] = (reverse ? max - keys[i]! : keys[i]! - min) * n + i;
  packed.sort();
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const v = packed[k]!;
    order[k] = v - Math.floor(v / n) * n;
  }
  return order;
}

/**
 * packedOrder's order by counting (issue 18, ninth round): keys whose range is about the number
 * of positions (ranks, a sort-key copy's string indexes) go into one bucket per key in two passes,
 * positions ascending within a bucket, instead of a comparison sort of 100,000 packed numbers.
 */
function countingOrder(keys: Float64Array, reverse: boolean, min: number, max: number): Uint32Array {
  const n = keys.length;
  const start = new Uint32Array(max - min + 2);
  for (let i = 0; i < n; i++) start[(reverse ? max - keys[i]! : keys[i]! - min) + 1]!++;
  for (let k = 1; k < start.length; k++) start[k]! += start[k - 1]!;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[start[reverse ? max - keys[i]! : keys[i]! - min]!++] = i;
  return order;
}

/** Ranks of a string key column: equal strings get equal ranks, ascending in code-unit order (only the distinct strings are sorted). */
function rankStrings(rows: readonly SortRow[], key: SortKeyName): { ranks: Float64Array; distinct: number } {
  const n = rows.length;
  const at = new Map<string, number>();
  const values: string[] = [];
  const tmp = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = keyOf(key, rows[i]!) as string;
    let k = at.get(v);
    if (k === undefined) {
      k = values.length;
      at.set(v, k);
      values.push(v);
    }
    tmp[i] = k;
  }
  const m = values.length;
  const byValue = Array.from({ length: m }, (_, k) => k).sort((a, b) => cmpStr(values[a]!, values[b]!));
  const rankOf = new Uint32Array(m);
  for (let r = 0; r < m; r++) rankOf[byValue[r]!] = r;
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; i++) ranks[i] = rankOf[tmp[i]!]!;
  return { ranks, distinct: m };
}

/**
 * One key (numeric, or a string) is packed with the position and sorted natively; strings are
 * ranked first (only the distinct values meet a comparator: a 100,000-message folder has a few
 * thousand distinct subjects); several keys (or numbers out of the packing range) become ranks
 * folded into one per row (re-ranked after each, so the numbers stay below rows²), then sorted
 * the same way: no JavaScript comparator runs per comparison of rows.
 */
function orderByRanks(rows: readonly SortRow[], criteria: SortCriterion[]): Uint32Array {
  const n = rows.length;
  if (criteria.length === 1 && NUMERIC.has(criteria[0]!.key)) {
    const order = packedOrder(numericColumn(rows, criteria[0]!.key), criteria[0]!.reverse);
    if (order) return order;
  }
  let combined: Float64Array | null = null;
  for (const c of criteria) {
    const { ranks, distinct } = NUMERIC.has(c.key) ? rankNumbers(numericColumn(rows, c.key)) : rankStrings(rows, c.key);
    if (c.reverse) for (let i = 0; i < n; i++) ranks[i] = distinct - 1 - ranks[i]!;
    if (combined) for (let i = 0; i < n; i++) ranks[i] = combined[i]! * distinct + ranks[i]!;
    combined = combined ? rankNumbers(ranks).ranks : ranks;
  }
  return packedOrder(combined!, false)!; // ranks < rows: always packable
}

/**
 * Positions 0..n-1 ordered by one numeric key column (ascending, or descending when `reverse`),
 * ties in position order: the order sortOrder gives rows whose key is that column.
 */
export function columnOrder(keys: Float64Array, reverse: boolean): Uint32Array {
  const n = keys.length;
  if (n < 2) return n ? Uint32Array.of(0) : new Uint32Array(0);
  const order = packedOrder(keys, reverse);
  if (order) return order;
  const { ranks, distinct } = rankNumbers(keys);
  if (reverse) for (let i = 0; i < n; i++) ranks[i] = distinct - 1 - ranks[i]!;
  return packedOrder(ranks, false)!; // ranks < rows: always packable
}

/**
 * The positions of rows (given in sequence order) sorted by the criteria; ties keep sequence
 * order (RFC 5256 3).
 */
export function sortOrder(rows: readonly SortRow[], criteria: SortCriterion[]): Uint32Array {
  const n = rows.length;
  if (n < 2) return n ? Uint32Array.of(0) : new Uint32Array(0);
  return orderByRanks(rows, criteria);
}

/** Sorts rows (given in sequence order) by the criteria; ties keep sequence order (RFC 5256 3). */
export function sortRows(rows: SortRow[], criteria: SortCriterion[]): SortRow[] {
  const order = sortOrder(rows, criteria);
  const out = new Array<SortRow>(order.length);
  for (let k = 0; k < order.length; k++) out[k] = rows[order[k]!]!;
  return out;
}

/**
 * The order of sortRows as a comparator of two rows, ties broken by UID (which is sequence
 * order): places one row in an already sorted list (CONTEXT=SORT updates, RFC 5267 4.3).
 */
export function compareRows(criteria: SortCriterion[]): (a: SortRow, b: SortRow) => number {
  return (a, b) => {
    for (const c of criteria) {
      const x = keyOf(c.key, a);
      const y = keyOf(c.key, b);
      if (x !== y) return (x < y ? -1 : 1) * (c.reverse ? -1 : 1);
    }
    return a.uid - b.uid;
  };
}

// ---- THREAD ----------------------------------------------------------------------------

export type { ThreadInput } from './thread-tree.js';

/** A ThreadInput of sort rows: strings coded by a map, subjects ranked (rankStrings). */
export function threadInput(rows: readonly SortRow[]): ThreadInput {
  const n = rows.length;
  const dates = new Float64Array(n);
  const replies = new Uint8Array(n);
  const ids = new Float64Array(n);
  const refEnd = new Uint32Array(n);
  const refs: number[] = [];
  const codes = new Map<string, number>();
  const code = (v: string): number => {
    let c = codes.get(v);
    if (c === undefined) codes.set(v, (c = codes.size));
    return c;
  };
  let empty = -1;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const k = r.keys;
    dates[i] = k.d === null ? r.internalDate : k.d;
    replies[i] = k.re === 1 ? 1 : 0;
    ids[i] = k.id ? code(k.id) : -1;
    for (let j = 0; j < k.r.length; j++) refs.push(code(k.r[j]!));
    refEnd[i] = refs.length;
    if (empty < 0 && k.s === '') empty = i;
  }
  const subjects = n ? rankStrings(rows, 'SUBJECT').ranks : new Float64Array(0);
  return { dates, subjects, emptySubject: empty < 0 ? -1 : subjects[empty]!, replies, ids, refEnd, refs };
}

/** The input of the messages at `positions` (ascending) only: what THREAD of a search result reads. */
export function threadInputOf(input: ThreadInput, positions: ArrayLike<number>): ThreadInput {
  const n = positions.length;
  const dates = new Float64Array(n);
  const subjects = new Float64Array(n);
  const replies = new Uint8Array(n);
  const ids = new Float64Array(n);
  const refEnd = new Uint32Array(n);
  const refs: number[] = [];
  for (let k = 0; k < n; k++) {
    const i = positions[k]!;
    dates[k] = input.dates[i]!;
    subjects[k] = input.subjects[i]!;
    replies[k] = input.replies[i]!;
    ids[k] = input.ids[i]!;
    for (let j = i ? input.refEnd[i - 1]! : 0; j < input.refEnd[i]!; j++) refs.push(input.refs[j]!);
    refEnd[k] = refs.length;
  }
  return { dates, subjects, emptySubject: input.emptySubject, replies, ids, refEnd, refs };
}

/** Positions by base subject, then sent date, then position: ranks sorted natively (no comparator per pair of rows). */
function bySubjectDate(input: ThreadInput, n: number): Uint32Array {
  if (n < 2) return Uint32Array.from({ length: n }, (_, i) => i);
  const dates = new Float64Array(n);
  for (let i = 0; i < n; i++) dates[i] = input.dates[i]!;
  const { ranks, distinct } = rankNumbers(dates);
  for (let i = 0; i < n; i++) ranks[i] = input.subjects[i]! * distinct + ranks[i]!;
  return packedOrder(ranks, false) ?? packedOrder(rankNumbers(ranks).ranks, false)!;
}

/** THREAD=ORDEREDSUBJECT (RFC 5256 2.1): by base subject, first message the parent of the rest. */
export function threadOrderedSubject(rows: SortRow[]): ThreadTree {
  return orderedSubjectThreads(threadInput(rows), rows);
}

/** threadOrderedSubject of a ThreadInput (`rows`, when given, kept for formatThreads with a function). */
export function orderedSubjectThreads(input: ThreadInput, rows?: readonly SortRow[]): ThreadTree {
  return orderedSubjectTree(input, bySubjectDate(input, input.dates.length), rows);
}

/** THREAD=REFERENCES (RFC 5256 2.2, steps 1-6). */
export function threadReferences(rows: SortRow[]): ThreadTree {
  return referenceThreads(threadInput(rows), rows);
}

/** threadReferences of a ThreadInput (`rows`, when given, kept for formatThreads with a function). */
export function referenceThreads(input: ThreadInput, rows?: readonly SortRow[]): ThreadTree {
  return referenceTree(input, rows);
}

/**
 * ASCII text built in a byte buffer: numbers written digit by digit, no string per number (a
 * 100,000-message SORT or THREAD answer is one buffer, decoded once).
 */
export class AsciiWriter {
  private buf = new Uint8Array(1 << 16);
  private len = 0;

  private room(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** A non-negative integer below 2^32 (sequence numbers, UIDs). */
  num(v: number): void {
    this.room(10);
    const b = this.buf;
    let end = this.len;
    if (v < 10) {
      b[end++] = 48 + v;
    } else {
      let digits = 1;
      for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
      end += digits;
      for (let i = end - 1, x = v; i >= this.len; i--, x = Math.floor(x / 10)) b[i] = 48 + (x % 10);
    }
    this.len = end;
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.len++] = c;
  }

  text(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i) & 0x7f;
  }

  get length(): number {
    return this.len;
  }

  toString(): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.len).toString('latin1');
  }
}

const SORT_PREFIX = '* SORT';

/**
 * The untagged SORT response (`* SORT 5 3 2`, with ` (MODSEQ n)` when `modseq` is given) as bytes
 * of the exact size, as SEARCH writes its answer: the number of entry `order[k]` is `ids[order[k]]`,
 * or `order[k] + 1` when `ids` is null (the session's sequence numbers of a view that holds the
 * folder's entries exactly). The AsciiWriter it replaces zeroed a 64 KiB buffer per answer and
 * then made a string of it for the socket to encode again (issue 18, fifteenth round: a third of
 * a warm SORT of 1,200 messages, and the slowest part of a fresh process's first one).
 */
export function sortResponse(ids: ArrayLike<number> | null, order: ArrayLike<number>, modseq: number | null): Buffer {
  const tail = modseq === null ? '\r\n' : ` (MODSEQ ${modseq})\r\n`;
  const n = order.length;
  let size = SORT_PREFIX.length + tail.length + n;
  for (let k = 0; k < n; k++) size += digitCount(ids === null ? order[k]! + 1 : ids[order[k]!]!);
  const out = Buffer.allocUnsafe(size);
  let at = out.write(SORT_PREFIX, 0, 'latin1');
  for (let k = 0; k < n; k++) at = writeSpacedNumber(out, at, ids === null ? order[k]! + 1 : ids[order[k]!]!);
  out.write(tail, at, 'latin1');
  return out;
}

/** `ids[order[k]]` for every k, space-separated (a SORT answer's numbers). */
export function writeOrdered(w: AsciiWriter, ids: ArrayLike<number>, order: ArrayLike<number>): void {
  for (let k = 0; k < order.length; k++) {
    if (k) w.byte(SPACE);
    w.num(ids[order[k]!]!);
  }
}

const SPACE = 32;
const OPEN = 40;
const CLOSE = 41;

/**
 * The THREAD response body: "(1 2)(3 (4)(5))" with sequence numbers or UIDs (RFC 5256 4); `id`
 * gives a node's number from its row and position, or is an array of numbers by position.
 */
export function formatThreads(tree: ThreadTree, id: ((r: SortRow, pos: number) => number) | ArrayLike<number>): string {
  const w = new AsciiWriter();
  writeThreads(w, tree, id);
  return w.toString();
}

/** formatThreads into a writer. */
export function writeThreads(w: AsciiWriter, tree: ThreadTree, id: ((r: SortRow, pos: number) => number) | ArrayLike<number>): void {
  const ids = typeof id === 'function' ? null : id;
  const fn = typeof id === 'function' ? id : null;
  const { pos, first, last, prev, count, roots, rows } = tree;
  // An explicit stack (reply chains can be thousands deep): nodes, and -1 for a ")".
  let afterOpen = false;
  const stack: number[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push(-1, roots[i]!);
  while (stack.length) {
    const item = stack.pop()!;
    if (item < 0) {
      w.byte(CLOSE);
      afterOpen = false;
      continue;
    }
    w.byte(OPEN);
    afterOpen = true;
    let n = item;
    // A run of single children is written as a flat chain "a b c".
    for (;;) {
      const p = pos[n]!;
      if (p >= 0) {
        if (!afterOpen) w.byte(SPACE);
        w.num(ids ? ids[p]! : fn!(rows![p]!, p));
        afterOpen = false;
      }
      if (count[n] === 1 && p >= 0) {
        n = first[n]!;
        continue;
      }
      break;
    }
    const c = count[n]!;
    if (c > 1 || (pos[n]! < 0 && c)) {
      if (pos[n]! >= 0) w.byte(SPACE);
      for (let k = last[n]!; k >= 0; k = prev[k]!) stack.push(-1, k);
    }
  }
}
