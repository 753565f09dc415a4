/**
 * A compact copy of a large folder's entries as of one MODSEQ (table folder_index_snapshots,
 * migration 0053), so that the first SELECT after a start reads one row and the change journal
 * since that MODSEQ instead of every entry row (issue 18: 100,000 rows through the driver cost
 * seconds). Columns of numbers in one binary value, each as the differences between neighbours
 * as narrow as they allow (about 10 bytes an entry for a folder filled by ingest, 48 as plain
 * columns); flag lists are kept once per distinct list. The folder index (folder-index.ts)
 * trusts a copy only when its MODSEQ is not above the folder's and, caught up to the folder's
 * MODSEQ, it holds as many entries as the folder counts (folders.message_count, migration 0050);
 * anything else reads the rows as before.
 */
import { crc32 } from 'node:zlib';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { precompile, preparedRows } from '../db/repos/prepared.js';
import type { MessageEntry } from './store.types.js';
import { EntryColumns } from './entry-columns.js';
import { WARM_ENTRIES, madeUpFolder } from './warm-up-folder.js';

const VERSION = 2;
/** The columns in the order they are stored; `u32` ones are Uint32Array in memory, the others Float64Array. */
const COLUMNS = [
  ['uid', 'u32'],
  ['list', 'u32'],
  ['messageId', 'f64'],
  ['modseq', 'f64'],
  ['internalDate', 'f64'],
  ['savedAt', 'f64'],
  ['size', 'f64'],
] as const;
type Column = (typeof COLUMNS)[number][0];
/** Signed differences from the previous entry's value, 1, 2 or 4 bytes each; 8: the values as Float64 (NaN, fractions, huge steps). */
const DELTAS = { 1: Int8Array, 2: Int16Array, 4: Int32Array } as const;
const LIMITS: Array<[width: 1 | 2 | 4, max: number]> = [
  [1, 0x7f],
  [2, 0x7fff],
  [4, 0x7fffffff],
];

export interface FolderSnapshot {
  modseq: number;
  entries: number;
  data: Buffer;
}

interface Head {
  v: number;
  n: number;
  sets: string[];
  /** Per column: its width and first value (the base of its differences). */
  cols: Array<{ w: number; b: number }>;
}

export function encodeEntries(entries: readonly MessageEntry[]): Buffer {
  return encodeColumns(EntryColumns.fromEntries(entries));
}

const pad8 = (n: number) => (8 - (n % 8)) % 8;

/** How narrow a column can be stored: the widest difference between neighbours decides. */
function widthOf(a: ArrayLike<number>, n: number): { w: number; b: number } {
  if (!n) return { w: 1, b: 0 };
  let prev = a[0]!;
  if (!Number.isSafeInteger(prev)) return { w: 8, b: 0 };
  let max = 0;
  for (let i = 1; i < n; i++) {
    const v = a[i]!;
    if (!Number.isSafeInteger(v)) return { w: 8, b: 0 };
    const d = v > prev ? v - prev : prev - v;
    if (d > max) max = d;
    prev = v;
  }
  return { w: LIMITS.find(([, m]) => max <= m)?.[0] ?? 8, b: a[0]! };
}

/** The flag lists the entries use, each once as text, and each entry's number among them. */
function listsInUse(c: EntryColumns, n: number): { sets: string[]; list: Uint32Array } {
  const used = new Map<number, number>();
  const sets: string[] = [];
  const list = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const l = c.list[i]!;
    let s = used.get(l);
    if (s === undefined) {
      used.set(l, (s = sets.length));
      sets.push(c.lists[l]!.join(' '));
    }
    list[i] = s;
  }
  return { sets, list };
}

/**
 * The copy of columns (issue 18): each column as the differences between neighbours, as narrow
 * as they allow (UIDs, message ids, MODSEQs and dates mostly ascend with the UID: a byte or two
 * an entry instead of eight), and the flag lists in use (renumbered). A 100,000-entry folder's
 * copy is about a quarter of its 48 bytes an entry as plain columns, which is what a fresh
 * process reads through SQLite's overflow pages before its first SELECT.
 */
export function encodeColumns(c: EntryColumns): Buffer {
  const n = c.length;
  const { sets, list } = listsInUse(c, n);
  const source = (name: Column): ArrayLike<number> => (name === 'list' ? list : c[name].subarray(0, n));
  const cols = COLUMNS.map(([name]) => widthOf(source(name), n));
  const head = Buffer.from(JSON.stringify({ v: VERSION, n, sets, cols } satisfies Head));
  let size = 8 + head.length + pad8(head.length);
  for (const { w } of cols) size += n * w + pad8(n * w);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(head.length, 0);
  head.copy(out, 8);
  let at = 8 + head.length + pad8(head.length);
  // (Buffer.alloc gives a buffer of its own at offset 0: every column starts at an aligned offset.)
  COLUMNS.forEach(([name], k) => {
    const { w } = cols[k]!;
    const a = source(name);
    if (w === 8) new Float64Array(out.buffer, out.byteOffset + at, n).set(a);
    else {
      const d = new DELTAS[w as 1 | 2 | 4](out.buffer, out.byteOffset + at, n);
      for (let i = 1; i < n; i++) d[i] = a[i]! - a[i - 1]!;
    }
    at += n * w + pad8(n * w);
  });
  return out;
}

/** The entries of a copy (ascending UID), or null when it is not one this code wrote. */
export function decodeEntries(buf: Buffer): MessageEntry[] | null {
  return decodeColumns(buf)?.entries() ?? null;
}

function parseHead(buf: Buffer): Head | null {
  const hl = buf.readUInt32LE(0);
  const head = JSON.parse(buf.subarray(8, 8 + hl).toString()) as Head;
  if (head.v !== VERSION || !Number.isInteger(head.n) || head.n < 0 || !Array.isArray(head.sets) || !Array.isArray(head.cols) || head.cols.length !== COLUMNS.length) return null;
  for (const c of head.cols) if (!(c.w === 1 || c.w === 2 || c.w === 4 || c.w === 8) || !Number.isSafeInteger(c.b)) return null;
  return head;
}

/**
 * Differences to values: `first`, then each the previous plus its difference (the first
 * difference is 0). One function per width, so each loop sees one array type (a loop over
 * mixed types, or TypedArray.set converting them, cost ~15 of a cold SELECT's milliseconds).
 */
const SUM_UP = {
  1(d: Int8Array, a: Uint32Array | Float64Array, first: number): void {
    let v = first;
    if (a instanceof Uint32Array) for (let i = 0; i < d.length; i++) a[i] = v += d[i]!;
    else for (let i = 0; i < d.length; i++) a[i] = v += d[i]!;
  },
  2(d: Int16Array, a: Uint32Array | Float64Array, first: number): void {
    let v = first;
    if (a instanceof Uint32Array) for (let i = 0; i < d.length; i++) a[i] = v += d[i]!;
    else for (let i = 0; i < d.length; i++) a[i] = v += d[i]!;
  },
  4(d: Int32Array, a: Uint32Array | Float64Array, first: number): void {
    let v = first;
    if (a instanceof Uint32Array) for (let i = 0; i < d.length; i++) a[i] = v += d[i]!;
    else for (let i = 0; i < d.length; i++) a[i] = v += d[i]!;
  },
};

/** The columns of a copy (no per-entry object), or null when it is not one this code wrote. */
export function decodeColumns(buf: Buffer): EntryColumns | null {
  try {
    const head = parseHead(buf);
    if (!head) return null;
    const { n } = head;
    const hl = buf.readUInt32LE(0);
    const body = 8 + hl + pad8(hl);
    let size = body;
    for (const { w } of head.cols) size += n * w + pad8(n * w);
    if (buf.length !== size) return null;
    // The columns are read through views at aligned offsets: a buffer that is not aligned (a slice of a pool) is copied once.
    let b = buf;
    if ((b.byteOffset + body) % 8) {
      b = Buffer.alloc(buf.length);
      buf.copy(b);
    }
    let at = b.byteOffset + body;
    const out = {} as Record<Column, Uint32Array | Float64Array>;
    COLUMNS.forEach(([name, kind], k) => {
      const { w, b: first } = head.cols[k]!;
      const a = kind === 'u32' ? new Uint32Array(n) : new Float64Array(n);
      if (w === 8) a.set(new Float64Array(b.buffer as ArrayBuffer, at, n));
      else SUM_UP[w as 1 | 2 | 4](new DELTAS[w as 1 | 2 | 4](b.buffer as ArrayBuffer, at, n) as never, a, first);
      out[name] = a;
      at += n * w + pad8(n * w);
    });
    const uid = out.uid as Uint32Array;
    const list = out.list as Uint32Array;
    const sets = head.sets.length;
    for (let i = 0; i < n; i++) if (list[i]! >= sets) return null;
    for (let i = 1; i < n; i++) if (uid[i]! <= uid[i - 1]!) return null;
    if (n && uid[0] === 0) return null;
    const lists = head.sets.map((set) => Object.freeze(set ? set.split(' ') : []));
    const f = (name: Column) => out[name] as Float64Array;
    return EntryColumns.of({ uid, list, messageId: f('messageId'), modseq: f('modseq'), internalDate: f('internalDate'), savedAt: f('savedAt'), size: f('size') }, n, lists);
  } catch {
    return null;
  }
}

/** The narrow copy (folder_index_heads) of a large folder: UIDs, MODSEQs and flag lists, what SELECT, FETCH FLAGS and flag searches need. */
export interface FolderHead {
  length: number;
  /** A view of the copy's own bytes (no decoding). */
  uid: Uint32Array;
  /** Decoded on first use (SELECT needs none of it): read `modseq` or call `modseqs()`, the same array. */
  readonly modseq: Float64Array;
  modseqs: () => Float64Array;
  list: Uint32Array;
  lists: Array<readonly string[]>;
}

/**
 * Version 2 (issue 18, eleventh round): UIDs and flag-list numbers as they are, so a fresh
 * process's SELECT reads them through views of the copy instead of a loop over every entry (each
 * loop over 100,000 entries in code V8 had not compiled yet cost a cold SELECT milliseconds), and a
 * CRC-32 of the copy, checked natively, instead of per-entry checks. Version 1 (UIDs as
 * differences) is refused: the full copy answers once and both copies are written again.
 */
const HEAD_VERSION = 4;
/**
 * Version 3 (issue 18, fourteenth round): UIDs that ascend in few runs of consecutive values (a
 * folder filled by delivery or import, with few expunges between) are stored as the runs, 8 bytes
 * each, instead of 4 bytes a UID: a 100,000-message folder's copy shrinks from 0.6 MB to 0.2 MB,
 * and a cold SELECT's read of it through SQLite's overflow pages (4 KB each, one after another)
 * from 150 pages to 50. Decoding fills the UID column from the runs in one loop, which the server
 * warms up at start (warmUpHeads). Version 2 copies (every UID as it is) are still read.
 */
const HEAD_VERSIONS = [2, 3, HEAD_VERSION];
/**
 * Version 4 (issue 18, fifteenth round): a cold SELECT read the copy's 0.2 MB through SQLite's
 * overflow pages (52 reads after the page-cache drop), half of it MODSEQs SELECT does not use and
 * half flag-list numbers a byte each where four lists need two bits. Now flag-list numbers are
 * packed into 1, 2 or 4 bits when the lists are at most 16 (`lb`), and MODSEQs that ascend in few
 * runs of consecutive values along the UIDs (a folder filled by delivery or import with few flag
 * changes since) are stored as the runs (`mr`, first value and length, 16 bytes each); otherwise
 * both as in version 3. The 100,000-message bench folder's copy: 200 KB -> 25 KB.
 */
/** Bits per flag-list number when the lists are at most 16 (0: whole bytes, `lw`). */
const listBits = (sets: number) => (sets <= 2 ? 1 : sets <= 4 ? 2 : sets <= 16 ? 4 : 0);
/** MODSEQs are stored as runs when the runs take at most the bytes of their differences. */
const modseqRunsPay = (runs: number, n: number, mw: number) => 16 * runs <= mw * n;
/** UIDs are stored as runs when the runs take at most a quarter of the UIDs' 4 bytes each. */
const runsPay = (runs: number, n: number) => 8 * runs <= n;
/** Flag-list numbers are stored as they are (no differences): a native conversion reads them. */
const LIST_ARRAYS = { 1: Uint8Array, 2: Uint16Array, 4: Uint32Array } as const;

interface HeadOfHead {
  v: number;
  n: number;
  sets: string[];
  /** The MODSEQs' width (differences, as in the full copy; 8: Float64 values) and first value. */
  m: { w: number; b: number };
  /** Bytes per flag-list number. */
  lw: number;
  /** Version 3: how many runs of consecutive UIDs are stored (first UID and length, 4 bytes each); 0: every UID, 4 bytes each. */
  ur?: number;
  /** Version 4: bits per flag-list number (1, 2 or 4); 0: `lw` bytes each. */
  lb?: number;
  /** Version 4: how many runs of consecutive MODSEQs are stored (first and length, Float64 each); 0: differences (`m`). */
  mr?: number;
}

/** Bytes of the UIDs of a narrow copy: `ur` runs of 8 bytes, or (0) every UID in 4 bytes. */
const uidBytes = (n: number, ur: number) => (ur ? 8 * ur : 4 * n);

/** Bytes of the flag-list numbers: `lb` bits each (packed), or (0) `lw` bytes each. */
const listBytes = (n: number, lw: number, lb: number) => (lb ? Math.ceil((n * lb) / 8) : lw * n);
/** Bytes of the MODSEQs: `mr` runs of 16 bytes, or (0) differences of `mw` bytes each. */
const modseqBytes = (n: number, mw: number, mr: number) => (mr ? 16 * mr : mw * n);

/** Bytes of a narrow copy of `n` entries after its head: UIDs, flag-list numbers, MODSEQs, each padded to 8. */
function headBodySize(n: number, lw: number, mw: number, ur: number, lb: number, mr: number): number {
  const l = listBytes(n, lw, lb);
  return uidBytes(n, ur) + pad8(uidBytes(n, ur)) + l + pad8(l) + modseqBytes(n, mw, mr);
}

/** How many runs of consecutive values (each one more than the one before) the first `n` MODSEQs make. */
function modseqRunsOf(a: Float64Array, n: number): number {
  let runs = n ? 1 : 0;
  for (let i = 1; i < n; i++) if (a[i] !== a[i - 1]! + 1) runs++;
  return runs;
}

/** The MODSEQ runs into `out`: first value and length of each. */
function writeModseqRuns(a: Float64Array, n: number, out: Float64Array): void {
  let r = 0;
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && a[j] === a[j - 1]! + 1) j++;
    out[r++] = a[i]!;
    out[r++] = j - i;
    i = j;
  }
}

/** Whether MODSEQ runs fill exactly `n` entries (whole first values and lengths of at least 1). */
function modseqRunsFill(runs: Float64Array, n: number): boolean {
  let total = 0;
  for (let r = 0; r < runs.length; r += 2) {
    const len = runs[r + 1]!;
    if (!Number.isSafeInteger(runs[r]) || !Number.isInteger(len) || len < 1) return false;
    total += len;
  }
  return total === n;
}

/** The MODSEQs of runs (checked by modseqRunsFill) into `out`. */
function fillModseqRuns(runs: Float64Array, out: Float64Array): void {
  let at = 0;
  for (let r = 0; r < runs.length; r += 2) {
    const end = at + runs[r + 1]!;
    for (let v = runs[r]!; at < end; at++, v++) out[at] = v;
  }
}

/** Flag-list numbers packed `bits` to a number, lowest bits first. */
function packList(list: Uint32Array, n: number, bits: number, out: Uint8Array): void {
  const per = 8 / bits;
  for (let i = 0; i < n; i++) out[(i / per) | 0]! |= list[i]! << ((i % per) * bits);
}

/** Unpacks `n` flag-list numbers of `bits` each (1, 2 or 4) into `out`; false when one is not below `sets`. */
function unpackList(packed: Uint8Array, n: number, bits: number, sets: number, out: Uint32Array): boolean {
  const shift = bits === 1 ? 3 : bits === 2 ? 2 : 1;
  const mask = (1 << bits) - 1;
  const lanes = 8 / bits - 1;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const v = (packed[i >>> shift]! >>> ((i & lanes) * bits)) & mask;
    out[i] = v;
    bad |= v >= sets ? 1 : 0;
  }
  return !bad;
}

/** How many runs of consecutive values the first `n` UIDs (ascending) make. */
function runsOf(uid: Uint32Array, n: number): number {
  let runs = n ? 1 : 0;
  for (let i = 1; i < n; i++) if (uid[i] !== uid[i - 1]! + 1) runs++;
  return runs;
}

/** The runs of consecutive UIDs into `out`: first UID and length of each, in order. */
function writeRuns(uid: Uint32Array, n: number, out: Uint32Array): void {
  let r = 0;
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && uid[j] === uid[j - 1]! + 1) j++;
    out[r++] = uid[i]!;
    out[r++] = j - i;
    i = j;
  }
}

/** The UIDs of runs (first UID and length of each), in one loop; false when they do not fill `out` exactly. */
function fillRuns(runs: Uint32Array, out: Uint32Array): boolean {
  let at = 0;
  for (let r = 0; r < runs.length; r += 2) {
    const first = runs[r]!;
    const end = at + runs[r + 1]!;
    if (end > out.length || end === at) return false;
    for (let v = first; at < end; at++, v++) out[at] = v;
  }
  return at === out.length;
}

/**
 * The narrow copy of columns (issue 18): UIDs (4 bytes) and flag-list numbers (1, 2 or 4 bytes)
 * as they are, MODSEQs as differences; about 6 bytes an entry where the full copy takes about 10.
 * Bytes 0-3: the head's length; 4-7: CRC-32 of everything after them (decodeHead trusts nothing
 * else: a copy this code wrote has ascending UIDs from EntryColumns and flag-list numbers below
 * the lists, by construction). A fresh process answers SELECT from it; the rest waits for a
 * command that needs it.
 */
export function encodeHead(c: EntryColumns, version: 3 | 4 = HEAD_VERSION): Buffer {
  const n = c.length;
  const { sets, list } = listsInUse(c, n);
  const m = widthOf(c.modseq, n);
  const lw = sets.length <= 0x100 ? 1 : sets.length <= 0x10000 ? 2 : 4;
  const runs = runsOf(c.uid, n);
  const ur = runsPay(runs, n) ? runs : 0;
  // (Version 3 is written only by tests: copies written before version 4 are still read.)
  const lb = version === 4 ? listBits(sets.length) : 0;
  const mRuns = version === 4 ? modseqRunsOf(c.modseq, n) : 0;
  const mr = n && mRuns && modseqRunsPay(mRuns, n, m.w) ? mRuns : 0;
  const head = Buffer.from(JSON.stringify(version === 4 ? ({ v: 4, n, sets, m, lw, ur, lb, mr } satisfies HeadOfHead) : ({ v: 3, n, sets, m, lw, ur } satisfies HeadOfHead)));
  const body = 8 + head.length + pad8(head.length);
  const out = Buffer.alloc(body + headBodySize(n, lw, m.w, ur, lb, mr));
  out.writeUInt32LE(head.length, 0);
  head.copy(out, 8);
  // (Buffer.alloc gives a buffer of its own at offset 0: every column starts at an aligned offset.)
  let at = out.byteOffset + body;
  if (ur) writeRuns(c.uid, n, new Uint32Array(out.buffer, at, 2 * ur));
  else new Uint32Array(out.buffer, at, n).set(c.uid.subarray(0, n));
  at += uidBytes(n, ur) + pad8(uidBytes(n, ur));
  if (lb) packList(list, n, lb, new Uint8Array(out.buffer, at, listBytes(n, lw, lb)));
  else new LIST_ARRAYS[lw](out.buffer, at, n).set(list);
  at += listBytes(n, lw, lb) + pad8(listBytes(n, lw, lb));
  const modseq = c.modseq;
  if (mr) writeModseqRuns(modseq, n, new Float64Array(out.buffer, at, 2 * mr));
  else if (m.w === 8) new Float64Array(out.buffer, at, n).set(modseq.subarray(0, n));
  else {
    const d = new DELTAS[m.w as 1 | 2 | 4](out.buffer, at, n);
    for (let i = 1; i < n; i++) d[i] = modseq[i]! - modseq[i - 1]!;
  }
  out.writeUInt32LE(crc32(out.subarray(8)), 4);
  return out;
}

function parseHeadOfHead(buf: Buffer): HeadOfHead | null {
  const hl = buf.readUInt32LE(0);
  const h = JSON.parse(buf.subarray(8, 8 + hl).toString()) as HeadOfHead;
  if (!HEAD_VERSIONS.includes(h.v) || !Number.isInteger(h.n) || h.n < 0 || !Array.isArray(h.sets) || !h.m || !Number.isSafeInteger(h.m.b)) return null;
  if (!(h.m.w === 1 || h.m.w === 2 || h.m.w === 4 || h.m.w === 8) || !(h.lw === 1 || h.lw === 2 || h.lw === 4)) return null;
  const ur = h.v === 2 ? 0 : h.ur;
  if (!Number.isInteger(ur) || ur! < 0 || (ur && !runsPay(ur, h.n))) return null;
  const lb = h.v < 4 ? 0 : h.lb;
  const mr = h.v < 4 ? 0 : h.mr;
  if (!(lb === 0 || lb === 1 || lb === 2 || lb === 4) || (lb && h.sets.length > 1 << lb)) return null;
  if (!Number.isInteger(mr) || mr! < 0 || (mr && !modseqRunsPay(mr, h.n, h.m.w))) return null;
  return { ...h, ur, lb, mr };
}

/** A column decoded once, on the first call. */
function once(decode: () => Float64Array): () => Float64Array {
  let a: Float64Array | null = null;
  return () => (a ??= decode());
}

/**
 * The UIDs and flag lists of a narrow copy (views of its bytes; the MODSEQs decoded on first use),
 * or null when it is not one this code wrote (wrong version, size or CRC-32).
 */
export function decodeHead(buf: Buffer): FolderHead | null {
  try {
    if (buf.length < 8) return null;
    const h = parseHeadOfHead(buf);
    if (!h) return null;
    const { n, m, lw } = h;
    const ur = h.ur ?? 0;
    const lb = h.lb ?? 0;
    const mr = h.mr ?? 0;
    const hl = buf.readUInt32LE(0);
    const body = 8 + hl + pad8(hl);
    if (buf.length !== body + headBodySize(n, lw, m.w, ur, lb, mr) || crc32(buf.subarray(8)) !== buf.readUInt32LE(4)) return null;
    // Views need aligned offsets: a buffer that is not aligned (a slice of a pool) is copied once.
    let b = buf;
    if ((b.byteOffset + body) % 8) {
      b = Buffer.alloc(buf.length);
      buf.copy(b);
    }
    const at = b.byteOffset + body;
    let uid: Uint32Array;
    if (!ur) uid = new Uint32Array(b.buffer as ArrayBuffer, at, n);
    else if (!fillRuns(new Uint32Array(b.buffer as ArrayBuffer, at, 2 * ur), (uid = new Uint32Array(n)))) return null;
    const lAt = at + uidBytes(n, ur) + pad8(uidBytes(n, ur));
    let list: Uint32Array;
    if (lb) {
      if (!unpackList(new Uint8Array(b.buffer as ArrayBuffer, lAt, listBytes(n, lw, lb)), n, lb, h.sets.length, (list = new Uint32Array(n)))) return null;
    } else {
      const raw = new LIST_ARRAYS[lw as 1 | 2 | 4](b.buffer as ArrayBuffer, lAt, n);
      list = raw instanceof Uint32Array ? raw : new Uint32Array(n);
      if (list !== raw) list.set(raw);
    }
    const mAt = lAt + listBytes(n, lw, lb) + pad8(listBytes(n, lw, lb));
    // Runs that do not fill the column exactly are refused here, not at the MODSEQs' first use.
    const mRuns = mr ? new Float64Array(b.buffer as ArrayBuffer, mAt, 2 * mr) : null;
    if (mRuns && !modseqRunsFill(mRuns, n)) return null;
    const modseqs = once(() => {
      const out = new Float64Array(n);
      if (mRuns) fillModseqRuns(mRuns, out);
      else if (m.w === 8) out.set(new Float64Array(b.buffer as ArrayBuffer, mAt, n));
      else SUM_UP[m.w as 1 | 2 | 4](new DELTAS[m.w as 1 | 2 | 4](b.buffer as ArrayBuffer, mAt, n) as never, out, m.b);
      return out;
    });
    const lists = h.sets.map((set) => Object.freeze(set ? set.split(' ') : []));
    return {
      length: n,
      uid,
      list,
      lists,
      modseqs,
      get modseq() {
        return modseqs();
      },
    };
  } catch {
    return null;
  }
}

/**
 * Warm-up at server start (issue 18, fourteenth round), on the made-up folder (warm-up-folder.ts):
 * its narrow copy, whose UIDs make three runs, decoded a few times, so that a fresh process's
 * first SELECT of a large folder fills its UID column from the runs in optimised code (the loop
 * over 100,000 UIDs in the interpreter took milliseconds). True when the UIDs come out as made.
 */
export function warmUpHeads(): boolean {
  const { uids: uid, list, lists } = madeUpFolder();
  const z = new Float64Array(WARM_ENTRIES);
  // MODSEQs equal to the UIDs: three runs, stored as runs (version 4), decoded below as a command's first read of them would.
  const modseq = Float64Array.from(uid);
  const c = EntryColumns.of({ uid, list, messageId: z, modseq, internalDate: z, savedAt: z, size: z }, WARM_ENTRIES, lists);
  const buf = encodeHead(c);
  let ok = true;
  for (let k = 0; k < 4; k++) {
    const head = decodeHead(buf);
    ok &&= head !== null && head.uid !== uid && head.uid[0] === 1 && head.uid[100] === 150 && head.uid[WARM_ENTRIES - 1] === WARM_ENTRIES + 899;
    // (Flag lists are numbered in order of first use in a copy: compared by their text.)
    const same = (i: number) => head !== null && head.lists[head.list[i]!]!.join(' ') === lists[list[i]!]!.join(' ');
    ok &&= same(5) && same(10) && same(WARM_ENTRIES - 1) && head!.modseqs()[WARM_ENTRIES - 1] === WARM_ENTRIES + 899;
  }
  return ok;
}

/** The narrow copy's read, compiled once per database handle. */
function headQuery(db: Kysely<DB>, folderId: number) {
  return db.selectFrom('folder_index_heads').select(['modseq', 'entries', 'data']).where('folder_id', '=', folderId);
}

/** Compiles the narrow copy's read without running it (the store's warm-up at server start). */
export function precompileHeadRead(db: Kysely<DB>): void {
  precompile(db, 'snapshot.head', null, [0] as const, (id) => headQuery(db, id));
}

/** Reading and writing the copies; `write` runs the statement on the store's write path. */
export function snapshotTable(db: Kysely<DB>, write: (fn: (trx: Kysely<DB>) => Promise<void>) => Promise<void>) {
  return {
    async loadSnapshot(folderId: number): Promise<FolderSnapshot | null> {
      const row = await db.selectFrom('folder_index_snapshots').select(['modseq', 'entries', 'data']).where('folder_id', '=', folderId).executeTakeFirst();
      return row ? { modseq: Number(row.modseq), entries: Number(row.entries), data: row.data } : null;
    },
    async loadHead(folderId: number): Promise<FolderSnapshot | null> {
      // Compiled once: a fresh process's first SELECT reads it (issue 18).
      const [row] = await preparedRows(db, 'snapshot.head', null, [folderId] as const, (id) => headQuery(db, id));
      return row ? { modseq: Number(row.modseq), entries: Number(row.entries), data: row.data } : null;
    },
    /** Both copies in one transaction: the narrow one is always of the same MODSEQ as the full one. */
    saveSnapshot(folderId: number, snap: FolderSnapshot & { head?: Buffer }): Promise<void> {
      return write(async (trx) => {
        const copies = [['folder_index_snapshots', snap.data] as const, ...(snap.head ? [['folder_index_heads', snap.head] as const] : [])];
        for (const [table, data] of copies)
          await trx
            .insertInto(table)
            .values({ folder_id: folderId, modseq: snap.modseq, entries: snap.entries, data })
            .onConflict((oc) => oc.column('folder_id').doUpdateSet({ modseq: snap.modseq, entries: snap.entries, data }))
            .execute();
      });
    },
  };
}
