/**
 * A compact copy of a large folder's sort keys (table folder_sort_keys, migration 0058), so that
 * the first SORT or THREAD after a start reads one row instead of every entry row's JSON keys
 * (issue 18: 100,000 rows, ~190 bytes of JSON each, spread over the table: about a second with a
 * cold page cache, where Dovecot reads its cache file in ~150 ms).
 *
 * Keys belong to a message and never change once computed (sort-keys.ts), so the copy is keyed
 * by message id and is never wrong, only incomplete: messages added since it was written are read
 * from their rows as before, and ids of messages no longer in the folder are ignored by the
 * caller. Strings (subjects, addresses, message ids, references) are stored once each in a table;
 * per message the copy holds its id, its date and indexes into that table (version 2: ~25 bytes a
 * message, plus its references).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { SortKeys } from './sort-keys.js';

/**
 * Version 2 (issue 18, fifth round): every column as narrow as its largest value (bytes, 16 or 32
 * bits; message ids in 32 bits when they fit), reference counts in a byte: about a third fewer
 * bytes than version 1 (one 32-bit word per field), so fewer pages to read on the first SORT.
 * Version 1 copies still decode (then the next full read writes a version 2 copy).
 * Version 3 (issue 18, ninth round): the same layout, the sort fields' strings first in the table
 * and in code-unit order (its length and the empty string's index in the head), so that a field's
 * string index is already a rank: SORT by a string key and THREAD read no string of a copy that
 * holds every entry.
 * Version 2 copies still decode (their strings ranked as before).
 */
const VERSION = 3;
/** The layouts of version 2 and 3 are the same (3 only orders its string table). */
const isColumnLayout = (v: unknown): boolean => v === 2 || v === VERSION;
/** Version 1: index of a null Message-ID. */
const NONE = 0xffffffff;
/** The string fields, in their column order. */
const FIELDS = ['s', 'f', 't', 'c', 'df', 'dt'] as const;
/** Version 1, per message: Float64 id, date (NaN: null); Uint32 the six fields, the Message-ID, the reply mark, the references' end. */
const F64 = 2;
const U32 = FIELDS.length + 3;

/** Folders with fewer messages than this read their keys by message id (a few statements). */
export const SORT_COPY_MIN_ENTRIES = 1000;

export interface SortKeyCopy {
  ids: Float64Array;
  keys: SortKeys[];
}

type UintArray = Uint8Array | Uint16Array | Uint32Array;

/** Bytes per value for values up to `max`. */
const widthFor = (max: number): 1 | 2 | 4 => (max < 0x100 ? 1 : max < 0x10000 ? 2 : 4);

function narrow(values: Uint32Array, width: 1 | 2 | 4): UintArray {
  return width === 1 ? Uint8Array.from(values) : width === 2 ? Uint16Array.from(values) : values;
}

const pad8 = (len: number): number => (8 - (len % 8)) % 8;

export function encodeSortKeys(rows: ReadonlyArray<{ messageId: number; keys: SortKeys }>): Buffer {
  const n = rows.length;
  // Version 3: the string table in code-unit order, so a string's index is its rank among them
  // (SORT by a string key and THREAD of a fresh process then need no string at all).
  const { at: strings, sortedCount } = sortedTable(rows);
  const at = (s: string): number => strings.get(s)!;
  const ids = new Float64Array(n);
  const dates = new Float64Array(n);
  // Columns: the six fields, the Message-ID (index + 1, 0: none), the reply mark, the reference count.
  const cols = Array.from({ length: FIELDS.length + 3 }, () => new Uint32Array(n));
  const refs: number[] = [];
  for (let i = 0; i < n; i++) {
    const { messageId, keys } = rows[i]!;
    ids[i] = messageId;
    dates[i] = keys.d ?? NaN;
    for (let k = 0; k < FIELDS.length; k++) cols[k]![i] = at(keys[FIELDS[k]!] ?? '');
    cols[6]![i] = keys.id === null ? 0 : at(keys.id) + 1;
    cols[7]![i] = keys.re ? 1 : 0;
    for (const x of keys.r) refs.push(at(x));
    cols[8]![i] = keys.r.length;
  }
  const idWidth = ids.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff) ? 4 : 8;
  const widths = cols.map((c) => widthFor(c.reduce((m, x) => (x > m ? x : m), 0)));
  const refWidth = widthFor(refs.reduce((m, x) => (x > m ? x : m), 0));
  const table = [...strings.keys()];
  // `m` and `e` (the empty string's index, -1: none) let a reader check indexes and find the empty subject without parsing the table;
  // `a`: how many strings lead the table in code-unit order; `strings` stays last (decodeSortColumns).
  const head = Buffer.from(JSON.stringify({ v: VERSION, n, refs: refs.length, m: table.length, a: sortedCount, e: table.indexOf(''), idWidth, widths, refWidth, strings: table }));
  const len = Buffer.alloc(8);
  len.writeUInt32LE(head.length, 0);
  const parts: Uint8Array[] = [len, head, Buffer.alloc(pad8(head.length))];
  const add = (a: ArrayBufferView): void => {
    parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), Buffer.alloc(pad8(a.byteLength)));
  };
  add(idWidth === 4 ? Uint32Array.from(ids) : ids);
  add(dates);
  cols.forEach((c, k) => add(narrow(c, widths[k]!)));
  add(narrow(Uint32Array.from(refs), refWidth));
  return Buffer.concat(parts);
}

/**
 * Every string of the rows' keys, each once, numbered: first the values of the six sort fields in
 * code-unit order (the default sort's order: no comparator call per pair), then the Message-IDs
 * and references that are no field's value, as first met (THREAD compares them for equality
 * only; kept apart, they leave the field columns' indexes small, two bytes instead of four).
 */
function sortedTable(rows: ReadonlyArray<{ keys: SortKeys }>): { at: Map<string, number>; sortedCount: number } {
  const fields = new Set<string>();
  for (const { keys } of rows) for (const f of FIELDS) fields.add(keys[f] ?? '');
  const table = [...fields].sort();
  const sortedCount = table.length;
  const at = new Map<string, number>();
  for (let i = 0; i < table.length; i++) at.set(table[i]!, i);
  const other = (x: string) => {
    if (!at.has(x)) at.set(x, at.size);
  };
  for (const { keys } of rows) {
    if (keys.id !== null) other(keys.id);
    for (const x of keys.r) other(x);
  }
  return { at, sortedCount };
}

/** The columns of a decoded copy, whatever its version. */
interface Columns {
  n: number;
  dates: Float64Array;
  /** The six fields, the Message-ID, the reply mark (in FIELDS order, then id, re). */
  s: UintArray;
  f: UintArray;
  t: UintArray;
  c: UintArray;
  df: UintArray;
  dt: UintArray;
  id: UintArray;
  /** Value of `id` for a null Message-ID, and what is subtracted from the others. */
  idNone: number;
  idBias: number;
  re: UintArray;
  /** Per message: the end of its references in `refs` (the start is the previous message's end). */
  refEnd: Uint32Array;
  refs: UintArray;
  strings: string[];
}

interface Head {
  v: number;
  n: number;
  refs: number;
  strings: string[];
  /** Version 3: the table's length, how many strings lead it in code-unit order (every sort field's value), the empty string's index (-1: none). */
  m?: number;
  a?: number;
  e?: number;
  idWidth?: number;
  widths?: number[];
  refWidth?: number;
}

/** A view of `count` values at `at` of `raw` (`raw.byteOffset + at` aligned to the width). */
function view(raw: Uint8Array, at: number, count: number, width: number): UintArray {
  const from = raw.byteOffset + at;
  if (width === 1) return new Uint8Array(raw.buffer, from, count);
  if (width === 2) return new Uint16Array(raw.buffer, from, count);
  if (width === 4) return new Uint32Array(raw.buffer, from, count);
  throw new Error('bad width');
}

/** True when every value of `a` is below `m`. */
function allBelow(a: ArrayLike<number>, m: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i]! >= m) return false;
  return true;
}

/** Version 1 columns (one 32-bit word per field, the references' end per message). */
function columnsV1(head: Head, raw: Uint8Array): { ids: Float64Array; cols: Columns } | null {
  const { n, strings } = head;
  if (raw.length !== n * (F64 * 8 + U32 * 4) + head.refs * 4) return null;
  const f = new Float64Array(raw.buffer, 0, n * F64);
  const u = new Uint32Array(raw.buffer, n * F64 * 8, n * U32);
  const col = (k: number) => u.subarray(k * n, (k + 1) * n);
  const refs = new Uint32Array(raw.buffer, n * (F64 * 8 + U32 * 4), head.refs);
  const cols: Columns = {
    n,
    dates: f.subarray(n, 2 * n),
    s: col(0),
    f: col(1),
    t: col(2),
    c: col(3),
    df: col(4),
    dt: col(5),
    id: col(6),
    idNone: NONE,
    idBias: 0,
    re: col(7),
    refEnd: col(8),
    refs,
    strings,
  };
  return { ids: f.slice(0, n), cols };
}

/** Version 2 columns (each as narrow as its values; reference counts). */
function columnsV2(head: Head, raw: Uint8Array): { ids: Float64Array; cols: Columns } | null {
  const { n, strings, idWidth, widths, refWidth } = head;
  if ((idWidth !== 4 && idWidth !== 8) || !Array.isArray(widths) || widths.length !== FIELDS.length + 3 || refWidth === undefined) return null;
  let at = 0;
  const take = (count: number, width: number): UintArray | Float64Array => {
    const bytes = count * width;
    if (at + bytes > raw.length) throw new Error('short copy');
    const a = width === 8 ? new Float64Array(raw.buffer, raw.byteOffset + at, count) : view(raw, at, count, width);
    at += bytes + pad8(bytes);
    return a;
  };
  const ids = Float64Array.from(take(n, idWidth));
  const dates = take(n, 8) as Float64Array;
  const c = widths.map((w) => take(n, w) as UintArray);
  const refs = take(head.refs, refWidth) as UintArray;
  if (at !== raw.length) return null;
  const refEnd = new Uint32Array(n);
  let end = 0;
  for (let i = 0; i < n; i++) refEnd[i] = end += c[8]![i]!;
  if (end !== head.refs) return null;
  const cols: Columns = { n, dates, s: c[0]!, f: c[1]!, t: c[2]!, c: c[3]!, df: c[4]!, dt: c[5]!, id: c[6]!, idNone: 0, idBias: 1, re: c[7]!, refEnd, refs, strings };
  return { ids, cols };
}

/** The keys of a copy, or null when it is not one this code wrote (then the rows are read). */
export function decodeSortKeys(buf: Buffer): SortKeyCopy | null {
  try {
    const hl = buf.readUInt32LE(0);
    const head = JSON.parse(buf.subarray(8, 8 + hl).toString()) as Head;
    if (!Number.isInteger(head.n) || !Number.isInteger(head.refs) || !Array.isArray(head.strings)) return null;
    // Version 2 is read in place when the columns are aligned there (a blob read from the
    // database has a buffer of its own: issue 18, copying 6 MB into fresh memory cost more than
    // a page fault per 4 KiB on the first SORT); otherwise, and for version 1, copied out.
    const body = buf.subarray(8 + hl + pad8(hl));
    const raw = isColumnLayout(head.v) && body.byteOffset % 8 === 0 ? new Uint8Array(body.buffer, body.byteOffset, body.length) : new Uint8Array(body);
    const decoded = head.v === 1 ? columnsV1(head, raw) : isColumnLayout(head.v) ? columnsV2(head, raw) : null;
    if (!decoded) return null;
    const { ids, cols } = decoded;
    const { n } = cols;
    // Every index checked once up front (a damaged copy is refused), so the getters only read.
    const m = cols.strings.length;
    for (const k of FIELDS) if (!allBelow(cols[k], m)) return null;
    for (let i = 0; i < n; i++) {
      const x = cols.id[i]!;
      if (x !== cols.idNone && x - cols.idBias >= m) return null;
    }
    if (!allBelow(cols.refs, m)) return null;
    let r0 = 0;
    for (let i = 0; i < n; i++) {
      const r1 = cols.refEnd[i]!;
      if (r1 < r0 || r1 > cols.refs.length) return null;
      r0 = r1;
    }
    const keys: SortKeys[] = new Array<SortKeys>(n);
    for (let i = 0; i < n; i++) keys[i] = keysAt(cols, i);
    return { ids, keys };
  } catch {
    return null;
  }
}

/** A string field of the copy (FIELDS: base subject, first From/To/Cc mailbox, display From/To). */
export type SortStringField = (typeof FIELDS)[number];

/** A copy's columns read without an object per message: ids and Date keys (NaN: no Date header), string fields on demand. */
export interface SortColumnCopy {
  ids: Float64Array;
  dates: Float64Array;
  /** Version 3: the sort fields' string indexes ascend with their strings (code-unit order), so such an index ranks as its string does. */
  sorted: boolean;
  /** The field's string index per message and the copy's string table (parsed on first use); null when the copy is damaged. */
  strings(field: SortStringField): { index: UintArray; strings: string[] } | null;
  /** The field's string index per message, checked against the table's length (a version 3 copy's table is not parsed for it); null when damaged. */
  codes(field: SortStringField): UintArray | null;
  /** The string table's length (version 3: from the head); null when damaged. */
  stringCount(): number | null;
  /** The empty string's index in the table, -1 when it holds none (version 3: from the head); null when damaged. */
  emptyString(): number | null;
  /** The string table (parsed on first use); null when damaged. */
  table(): string[] | null;
  /** Every message's keys as objects (decodeSortKeys of the same bytes: no second read when sort rows are needed after all). */
  keys(): SortKeyCopy | null;
  /** The THREAD columns (Message-ID, reply mark, references); null when the copy is damaged. */
  thread(): CopyThreadColumns | null;
}

/** A copy's THREAD columns: string indexes + 1 of the Message-IDs (0: none), reply marks, references (refEnd as in Columns); `count` strings in the table. */
export interface CopyThreadColumns {
  id: UintArray;
  re: UintArray;
  refEnd: Uint32Array;
  refs: UintArray;
  count: number;
}

const WIDTHS = new Set([1, 2, 4]);

/** `count` values of `width` bytes at `at` of `body`, copied out (aligned whatever the blob's offset). */
function copyOut(body: Buffer, at: number, count: number, width: number): UintArray | Float64Array {
  const bytes = new Uint8Array(body.subarray(at, at + count * width));
  return width === 8 ? new Float64Array(bytes.buffer, 0, count) : view(bytes, 0, count, width);
}

/** The head of a version 2 or 3 copy up to its string table (its last field), or null when it is not one. */
function columnHead(headBytes: Buffer): Omit<Head, 'strings'> | null {
  const cut = headBytes.indexOf(',"strings":');
  if (cut < 0) return null;
  const head = JSON.parse(`${headBytes.subarray(0, cut).toString()}}`) as Omit<Head, 'strings'>;
  const { n, idWidth, widths, refWidth } = head;
  if (!isColumnLayout(head.v) || !Number.isInteger(n) || n < 0 || !Number.isInteger(head.refs) || head.refs < 0) return null;
  if ((idWidth !== 4 && idWidth !== 8) || !Array.isArray(widths) || widths.length !== FIELDS.length + 3 || !widths.every((w) => WIDTHS.has(w))) return null;
  if (refWidth === undefined || !WIDTHS.has(refWidth)) return null;
  // Version 3: the table's length, and where its empty string is (-1: nowhere).
  if (head.v === VERSION && !(Number.isInteger(head.m) && head.m! >= 0 && Number.isInteger(head.e) && head.e! >= -1 && head.e! < head.m!)) return null;
  return head;
}

/**
 * The columns of a version 2 or 3 copy without its string table or an object per message (issue
 * 18: SORT (REVERSE DATE) of a fresh process decoded every key of a 100,000-message copy into
 * objects, most of its time in building and collecting them); null when it is not one (version 1
 * copies too: the full decoder reads those, and the next full read rewrites them). The head's
 * string table is its last field (encodeSortKeys), so only the head's start is parsed until a
 * string is asked for; a version 3 copy's head says the table's length and where its empty
 * string is, so its string columns and THREAD columns are checked and read without the table.
 */
export function decodeSortColumns(buf: Buffer): SortColumnCopy | null {
  try {
    const hl = buf.readUInt32LE(0);
    if (8 + hl > buf.length) return null;
    const headBytes = buf.subarray(8, 8 + hl);
    const head = columnHead(headBytes);
    if (!head) return null;
    const { n, idWidth, widths, refWidth } = head as Required<Omit<Head, 'strings'>>;
    const sorted = head.v === VERSION;
    const span = (count: number, width: number): number => count * width + pad8(count * width);
    const body = buf.subarray(8 + hl + pad8(hl));
    const at = [span(n, idWidth) + span(n, 8)];
    for (const w of widths) at.push(at[at.length - 1]! + span(n, w));
    if (at[at.length - 1]! + span(head.refs, refWidth) !== body.length) return null;
    const rawIds = copyOut(body, 0, n, idWidth);
    const ids = rawIds instanceof Float64Array ? rawIds : Float64Array.from(rawIds);
    const dates = copyOut(body, span(n, idWidth), n, 8) as Float64Array;
    let strings: string[] | null | undefined;
    const table = (): string[] | null => {
      if (strings === undefined) {
        let all: unknown;
        try {
          all = (JSON.parse(headBytes.toString()) as Head).strings;
        } catch {
          all = null; // a damaged table
        }
        strings = Array.isArray(all) && (!sorted || all.length === head.m) ? (all as string[]) : null;
      }
      return strings;
    };
    const stringCount = (): number | null => (sorted ? head.m! : (table()?.length ?? null));
    const fields = new Map<SortStringField, UintArray | null>();
    let thread: CopyThreadColumns | null | undefined;
    const codes = (field: SortStringField): UintArray | null => {
      let index = fields.get(field);
      if (index === undefined) {
        const count = stringCount();
        const k = FIELDS.indexOf(field);
        index = count === null ? null : (copyOut(body, at[k]!, n, widths[k]!) as UintArray);
        if (index && !allBelow(index, count!)) index = null; // a damaged copy: never read past the table
        fields.set(field, index);
      }
      return index;
    };
    return {
      ids,
      dates,
      sorted,
      codes,
      stringCount,
      table,
      emptyString: () => (sorted ? head.e! : (table()?.indexOf('') ?? null)),
      strings(field) {
        const all = table();
        const index = all && codes(field);
        return index ? { index, strings: all! } : null;
      },
      keys: () => decodeSortKeys(buf),
      thread() {
        if (thread === undefined) {
          const count = stringCount();
          thread = count === null ? null : threadColumnsAt(body, at, n, widths, head.refs, refWidth, count);
        }
        return thread;
      },
    };
  } catch {
    return null;
  }
}

/** The THREAD columns of a version 2 or 3 copy's body (`at`: the columns' offsets), every index checked against the table's length (`count`); null when one is out of it. */
function threadColumnsAt(body: Buffer, at: number[], n: number, widths: number[], refCount: number, refWidth: number, count: number): CopyThreadColumns | null {
  const id = copyOut(body, at[6]!, n, widths[6]!) as UintArray;
  const re = copyOut(body, at[7]!, n, widths[7]!) as UintArray;
  const counts = copyOut(body, at[8]!, n, widths[8]!) as UintArray;
  const refs = copyOut(body, at[9]!, refCount, refWidth) as UintArray;
  if (!allBelow(id, count + 1) || !allBelow(refs, count)) return null;
  const refEnd = new Uint32Array(n);
  let end = 0;
  for (let i = 0; i < n; i++) refEnd[i] = end += counts[i]!;
  return end === refCount ? { id, re, refEnd, refs, count } : null;
}

/** Per entry (message ids), its position in the copy, -1 when the copy lacks it: walked side by side, the copy's ids indexed at a first mismatch. */
function positionsInCopy(ids: Float64Array, messageIds: ArrayLike<number>): Int32Array {
  const n = messageIds.length;
  const pos = new Int32Array(n);
  let j = 0;
  let byId: Map<number, number> | null = null;
  for (let i = 0; i < n; i++) {
    const id = messageIds[i]!;
    if (j < ids.length && ids[j] === id) {
      pos[i] = j++;
      continue;
    }
    if (!byId) {
      byId = new Map();
      for (let k = 0; k < ids.length; k++) byId.set(ids[k]!, k);
    }
    const k = byId.get(id);
    pos[i] = k ?? -1;
    if (k !== undefined) j = k + 1;
  }
  return pos;
}

/**
 * One sort key of each entry (message ids in ascending UID order, the order the copy was
 * written in) as a number: DATE (`field` 'd': the Date key, else the internal date, RFC 5256 3),
 * or a number that orders a string field as its values do (equal strings equal numbers,
 * code-unit order, as imap/sort.ts ranks them): the string's index in a version 3 copy (its
 * table is in that order: no string is read), else its rank among the entries' values. An entry
 * the copy lacks takes its keys from `known`, else its index goes to `missing` (string fields are
 * then left unranked); null when a string field cannot be read from the copy.
 */
export function sortKeyColumn(
  copy: SortColumnCopy,
  field: 'd' | SortStringField,
  messageIds: ArrayLike<number>,
  internalDates: ArrayLike<number>,
  known: (id: number) => SortKeys | undefined,
): { keys: Float64Array; missing: number[] } | null {
  const n = messageIds.length;
  const pos = positionsInCopy(copy.ids, messageIds);
  const keys = new Float64Array(n);
  const missing: number[] = [];
  const codes = field === 'd' ? null : copy.codes(field);
  const count = field === 'd' ? 0 : copy.stringCount();
  if (field !== 'd' && (!codes || count === null)) return null;
  // Strings: an entry's code is its copy's string index, or past the table for a value of its own.
  const extra: string[] = [];
  const extraAt = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const at = pos[i]!;
    let d: number | null;
    if (at >= 0) {
      if (codes) {
        keys[i] = codes[at]!;
        continue;
      }
      const x = copy.dates[at]!;
      d = x === x ? x : null;
    } else {
      const k = known(messageIds[i]!);
      if (!k) {
        missing.push(i);
        continue;
      }
      if (field !== 'd') {
        const v = k[field];
        let e = extraAt.get(v);
        if (e === undefined) extraAt.set(v, (e = extra.push(v) - 1));
        keys[i] = count! + e;
        continue;
      }
      d = k.d;
    }
    keys[i] = d === null ? internalDates[i]! : d;
  }
  // Ranked once every entry has its value (the store reads the missing ones, then asks again);
  // a version 3 copy's indexes are ranks already when no entry has a value of its own.
  if (codes && !missing.length && (extra.length || !copy.sorted)) {
    const table = copy.table();
    if (!table) return null;
    rankCodes(keys, table, extra);
  }
  return { keys, missing };
}

/** What THREAD reads of each entry besides its date and subject rank (imap/sort.ts ThreadInput): Message-ID and reference codes (-1: no Message-ID). */
export interface ThreadKeyColumns {
  /** The rank (in `subjects`) of the empty base subject, -1 when no entry has it. */
  emptySubject: number;
  replies: Uint8Array;
  ids: Float64Array;
  refEnd: Uint32Array;
  refs: Float64Array;
}

/**
 * The THREAD keys of each entry (message ids in ascending UID order) from the copy's columns:
 * a string's code is its index in the copy's table (one index per distinct string), or past the
 * table for a string only an entry the copy lacks has (its keys from `known`). `subjects` are the
 * entries' subject ranks (sortKeyColumn 's'). Null when the copy is damaged or an entry is
 * neither in the copy nor known.
 */
export function threadKeyColumns(copy: SortColumnCopy, messageIds: ArrayLike<number>, subjects: Float64Array, known: (id: number) => SortKeys | undefined): ThreadKeyColumns | null {
  const t = copy.thread();
  const subjectIndex = copy.codes('s');
  const emptyAt = copy.emptyString();
  if (!t || !subjectIndex || emptyAt === null) return null;
  const n = messageIds.length;
  const pos = positionsInCopy(copy.ids, messageIds);
  // The table is read only for entries the copy lacks (their strings are coded by it).
  let tableAt: Map<string, number> | null = null;
  const extraAt = new Map<string, number>();
  const code = (v: string): number => {
    tableAt ??= new Map((copy.table() ?? []).map((x, i) => [x, i]));
    let c = tableAt.get(v) ?? extraAt.get(v);
    if (c === undefined) extraAt.set(v, (c = t.count + extraAt.size));
    return c;
  };
  if (pos.some((at) => at < 0) && !copy.table()) return null;
  const replies = new Uint8Array(n);
  const ids = new Float64Array(n);
  const refEnd = new Uint32Array(n);
  // Every entry's references counted first, so that they go into one typed array (no growing array of 100,000s).
  let total = 0;
  for (let i = 0; i < n; i++) {
    const at = pos[i]!;
    total += at >= 0 ? t.refEnd[at]! - (at ? t.refEnd[at - 1]! : 0) : (known(messageIds[i]!)?.r.length ?? 0);
  }
  const refs = new Float64Array(total);
  let m = 0;
  let empty = -1;
  for (let i = 0; i < n; i++) {
    const at = pos[i]!;
    if (at >= 0) {
      const x = t.id[at]!;
      ids[i] = x === 0 || x - 1 === emptyAt ? -1 : x - 1;
      replies[i] = t.re[at] ? 1 : 0;
      for (let j = at ? t.refEnd[at - 1]! : 0, end = t.refEnd[at]!; j < end; j++) refs[m++] = t.refs[j]!;
      if (empty < 0 && subjectIndex[at] === emptyAt) empty = i;
    } else {
      const k = known(messageIds[i]!);
      if (!k) return null;
      ids[i] = k.id ? code(k.id) : -1;
      replies[i] = k.re === 1 ? 1 : 0;
      for (const r of k.r) refs[m++] = code(r);
      if (empty < 0 && k.s === '') empty = i;
    }
    refEnd[i] = m;
  }
  return { emptySubject: empty < 0 ? -1 : subjects[empty]!, replies, ids, refEnd, refs };
}

/** Replaces string codes (table index, or past the table: `extra`) by their ranks among the values used. */
function rankCodes(keys: Float64Array, strings: string[], extra: string[]): void {
  const value = (code: number): string => (code < strings.length ? strings[code]! : extra[code - strings.length]!);
  const rankOf = new Float64Array(strings.length + extra.length).fill(-1);
  const codes: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    const c = keys[i]!;
    if (rankOf[c] === -1) {
      rankOf[c] = 0;
      codes.push(c);
    }
  }
  codes.sort((a, b) => {
    const x = value(a);
    const y = value(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  let rank = -1;
  for (let r = 0; r < codes.length; r++) {
    if (r === 0 || value(codes[r]!) !== value(codes[r - 1]!)) rank++;
    rankOf[codes[r]!] = rank;
  }
  for (let i = 0; i < keys.length; i++) keys[i] = rankOf[keys[i]!]!;
}

const NO_REFS = Object.freeze([]) as unknown as string[];

/** A message's keys from the decoded columns (indexes checked before): plain objects, as read from the rows. */
function keysAt(cols: Columns, i: number): SortKeys {
  const { strings, refEnd, refs } = cols;
  const d = cols.dates[i]!;
  const x = cols.id[i]!;
  const r0 = i ? refEnd[i - 1]! : 0;
  const r1 = refEnd[i]!;
  let r = NO_REFS;
  if (r1 > r0) {
    r = new Array<string>(r1 - r0);
    for (let j = r0; j < r1; j++) r[j - r0] = strings[refs[j]!]!;
  }
  const k: SortKeys = {
    d: d === d ? d : null,
    s: strings[cols.s[i]!]!,
    f: strings[cols.f[i]!]!,
    t: strings[cols.t[i]!]!,
    c: strings[cols.c[i]!]!,
    df: strings[cols.df[i]!]!,
    dt: strings[cols.dt[i]!]!,
    id: x === cols.idNone ? null : strings[x - cols.idBias]!,
    r,
  };
  if (cols.re[i]) k.re = 1;
  return k;
}

/** Keys read from the rows per statement while a copy is brought up to date (refresh), with a turn of the event loop between statements. */
const REFRESH_BATCH = 2000;
/** Keys missing for less than 1/BY_ID_SHARE of the folder's entries are read by message id, else from the folder's rows. */
const BY_ID_SHARE = 8;

/**
 * The keys of a folder's entries (message ids, ascending UID) for a new copy: from the copy in
 * place (`copy`, `pos`: positionsInCopy), else `known` (the store's key cache), else read from the
 * entries' rows in batches by UID (`readRows`). Entries whose keys are nowhere (rows stored before
 * the key column) are left out: a copy is never wrong, only incomplete.
 */
async function keysForCopy(
  messageIds: ArrayLike<number>,
  old: SortKeyCopy | null,
  pos: Int32Array | null,
  known: (id: number) => SortKeys | undefined,
  readRows: (afterUid: number) => Promise<Array<{ uid: number; messageId: number; keys: string | null }>>,
  readIds: (ids: number[]) => Promise<Array<{ messageId: number; keys: string | null }>>,
): Promise<Array<{ messageId: number; keys: SortKeys }>> {
  const n = messageIds.length;
  const keys = new Array<SortKeys | undefined>(n);
  /** Keys read from the rows by message id (null: still to read); a message may have several entries (copies in the folder). */
  const wanted = new Map<number, SortKeys | null>();
  for (let i = 0; i < n; i++) {
    const at = pos ? pos[i]! : -1;
    keys[i] = at >= 0 ? old!.keys[at]! : known(messageIds[i]!);
    if (!keys[i]) wanted.set(messageIds[i]!, null);
  }
  let unread = wanted.size;
  const take = (rows: Array<{ messageId: number; keys: string | null }>) => {
    for (const r of rows) {
      if (!r.keys || wanted.get(r.messageId) !== null) continue;
      wanted.set(r.messageId, JSON.parse(r.keys) as SortKeys);
      unread--;
    }
  };
  // Many, or a good part of the folder: the folder's rows in UID order, a batch per statement and
  // a turn of the event loop between them (no long stall of other sessions). The folder's rows lie
  // together, and the full read of its entries that wrote the index copy calling for this has just
  // read them; the messages' rows are spread over the file between the stored texts (issue 18:
  // after a fresh process's first SELECT of a folder of 1,200, reading all of those from a cold
  // disk held up the FETCH after it).
  if (unread > REFRESH_BATCH || unread * BY_ID_SHARE >= n) {
    for (let after = 0; unread > 0;) {
      const rows = await readRows(after);
      if (!rows.length) break;
      take(rows);
      after = rows[rows.length - 1]!.uid;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  // A few (or keys only the message's row holds): by message id.
  if (unread > 0 && unread <= REFRESH_BATCH) {
    const ids = [...wanted].filter(([, k]) => k === null).map(([id]) => id);
    for (let k = 0; k < ids.length; k += 500) take(await readIds(ids.slice(k, k + 500)));
  }
  const out: Array<{ messageId: number; keys: SortKeys }> = [];
  for (let i = 0; i < n; i++) {
    const k = keys[i] ?? wanted.get(messageIds[i]!);
    if (k) out.push({ messageId: messageIds[i]!, keys: k });
  }
  return out;
}

/** Reading and writing the copies; `write` runs the statement on the store's write path. */
export function sortKeyCopyTable(db: Kysely<DB>, write: (fn: (trx: Kysely<DB>) => Promise<void>) => Promise<void>) {
  /** Copies being brought up to date (refresh), by folder: a read of a folder's copy waits for its refresh. */
  const refreshing = new Map<number, Promise<void>>();
  const readRow = (folderId: number) => db.selectFrom('folder_sort_keys').select(['entries', 'data']).where('folder_id', '=', folderId).executeTakeFirst();
  /** Writes a copy in place of `seen` (the bytes read, null: none), unless another writer replaced or wrote one since (then that one stays). */
  const replace = (folderId: number, entries: number, data: Buffer, seen: Buffer | null) =>
    write(async (trx) => {
      if (seen) await trx.updateTable('folder_sort_keys').set({ entries, data }).where('folder_id', '=', folderId).where('data', '=', seen).execute();
      else
        await trx
          .insertInto('folder_sort_keys')
          .values({ folder_id: folderId, entries, data })
          .onConflict((oc) => oc.column('folder_id').doNothing())
          .execute();
    });
  /** The folder's entry rows after `afterUid` (a batch, ascending UID): message id and stored keys. */
  const rowsAfter = async (folderId: number, afterUid: number) => {
    const rows = await db
      .selectFrom('folder_messages')
      .select(['uid', 'message_id', 'sort_keys'])
      .where('folder_id', '=', folderId)
      .where('uid', '>', afterUid)
      .orderBy('uid')
      .limit(REFRESH_BATCH)
      .execute();
    return rows.map((r) => ({ uid: Number(r.uid), messageId: Number(r.message_id), keys: r.sort_keys }));
  };
  const keysOfIds = async (ids: number[]) => {
    const rows = await db.selectFrom('messages').select(['id', 'sort_keys']).where('id', 'in', ids).execute();
    return rows.map((r) => ({ messageId: Number(r.id), keys: r.sort_keys }));
  };
  /** refresh's work: the copy read, compared with the entries, and written again when it lacks one of them or is older than version 3. */
  const refreshNow = async (folderId: number, messageIds: Float64Array, known: (id: number) => SortKeys | undefined): Promise<void> => {
    const row = await readRow(folderId);
    const cols = row ? decodeSortColumns(row.data) : null;
    const copy = cols && cols.ids.length === Number(row!.entries) ? cols : null;
    const pos = copy ? positionsInCopy(copy.ids, messageIds) : null;
    if (copy && copy.sorted && pos!.every((at) => at >= 0)) return;
    const old = copy ? copy.keys() : null;
    const rows = await keysForCopy(messageIds, old, old && pos, known, (after) => rowsAfter(folderId, after), keysOfIds);
    if (rows.length < SORT_COPY_MIN_ENTRIES) return;
    // Encoded here, not inside the write job: the write transaction stays short.
    const data = encodeSortKeys(rows);
    await replace(folderId, rows.length, data, row ? row.data : null);
  };
  return {
    async load(folderId: number): Promise<SortKeyCopy | null> {
      await refreshing.get(folderId);
      const row = await readRow(folderId);
      if (!row) return null;
      const copy = decodeSortKeys(row.data);
      return copy && copy.keys.length === Number(row.entries) ? copy : null;
    },
    /** The copy's columns without an object per message (decodeSortColumns), or null. */
    async loadColumns(folderId: number): Promise<SortColumnCopy | null> {
      await refreshing.get(folderId);
      const row = await readRow(folderId);
      if (!row) return null;
      const copy = decodeSortColumns(row.data);
      return copy && copy.ids.length === Number(row.entries) ? copy : null;
    },
    /** Writes a copy of `rows` (encoded when the write runs, not on the caller's turn). */
    save(folderId: number, rows: ReadonlyArray<{ messageId: number; keys: SortKeys }>): Promise<void> {
      return write(async (trx) => {
        const data = encodeSortKeys(rows);
        await trx
          .insertInto('folder_sort_keys')
          .values({ folder_id: folderId, entries: rows.length, data })
          .onConflict((oc) => oc.column('folder_id').doUpdateSet({ entries: rows.length, data }))
          .execute();
      });
    },
    /**
     * Brings the folder's copy up to date with its entries (`messageIds`, ascending UID) in the
     * background (issue 18, tenth round: the folder index calls it when it writes its own copy,
     * after max(500, 5%) changes or a full read), so that the first SORT or THREAD of a folder, or
     * of a fresh process, reads a copy that holds every entry instead of building one from every
     * entry's row on its answer path. Nothing is written when the copy already holds every entry
     * (version 3). A SORT that reads the copy meanwhile waits for this (no second build).
     */
    refresh(folderId: number, messageIds: Float64Array, known: (id: number) => SortKeys | undefined): Promise<void> {
      const running = refreshing.get(folderId);
      if (running) return running;
      const done = refreshNow(folderId, messageIds, known)
        .catch(() => undefined)
        .finally(() => {
          if (refreshing.get(folderId) === done) refreshing.delete(folderId);
        });
      refreshing.set(folderId, done);
      return done;
    },
  };
}
