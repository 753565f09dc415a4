/**
 * Version 3 of the sort-key copy (appliance/mailstore/sort-key-copy.ts; issue 18, ninth round):
 * the string table is in code-unit order, so a copy that holds every entry orders a string key
 * and gives the THREAD columns without reading a string (its table is not even parsed), and the
 * answers are those of the sort rows. Version 2 copies (table in first-use order) still give the
 * same answers, through the ranks as before.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { referenceThreads, orderedSubjectThreads, formatThreads, columnOrder, threadReferences, threadOrderedSubject, sortRows } from '../../appliance/imap/sort.js';
import { decodeSortColumns, encodeSortKeys, sortKeyColumn, threadKeyColumns } from '../../appliance/mailstore/sort-key-copy.js';
import type { SortKeys } from '../../appliance/mailstore/sort-keys.js';
import type { SortRow } from '../../appliance/mailstore/store.types.js';

const FIELDS = ['s', 'f', 't', 'c', 'df', 'dt'] as const;
const KEY = { s: 'SUBJECT', f: 'FROM', t: 'TO', c: 'CC', df: 'DISPLAYFROM', dt: 'DISPLAYTO' } as const;
const text = fc.constantFrom('', 'a', 'B', 'b', 'ü', 'Z', 'm0', 'm1', 'm2', 're x', '\u{1F600}', '\uFFFD');
const keysArb: fc.Arbitrary<SortKeys> = fc
  .record({
    d: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
    s: text,
    f: text,
    t: text,
    c: text,
    df: text,
    dt: text,
    id: fc.option(text, { nil: null }),
    r: fc.array(text, { maxLength: 3 }),
    re: fc.boolean(),
  })
  .map(({ re, ...k }) => (re ? { ...k, re: 1 as const } : k));

const pad8 = (n: number) => (8 - (n % 8)) % 8;

interface Parsed {
  hl: number;
  head: { v: number; n: number; refs: number; m?: number; a?: number; e?: number; idWidth: number; widths: number[]; refWidth: number; strings: string[] };
  body: number;
}

function parse(buf: Buffer): Parsed {
  const hl = buf.readUInt32LE(0);
  return { hl, head: JSON.parse(buf.subarray(8, 8 + hl).toString()) as Parsed['head'], body: 8 + hl + pad8(hl) };
}

/** The same copy with another head (the columns as they were). */
function withHead(buf: Buffer, p: Parsed, text: string): Buffer {
  const head = Buffer.from(text);
  const len = Buffer.alloc(8);
  len.writeUInt32LE(head.length, 0);
  return Buffer.concat([len, head, Buffer.alloc(pad8(head.length)), buf.subarray(p.body)]);
}

/** A version 2 copy of the same keys: the table in reverse order (not sorted), every string index rewritten. */
function asVersion2(buf: Buffer): Buffer {
  const p = parse(buf);
  const { n, refs, idWidth, widths, refWidth, strings } = p.head;
  const m = strings.length;
  const out = Buffer.from(buf);
  const span = (count: number, w: number) => count * w + pad8(count * w);
  const rewrite = (at: number, count: number, w: number, shift: number) => {
    for (let i = 0; i < count; i++) {
      const o = p.body + at + i * w;
      const x = w === 1 ? out.readUInt8(o) : w === 2 ? out.readUInt16LE(o) : out.readUInt32LE(o);
      if (shift && x === 0) continue; // no Message-ID
      const y = m - 1 - (x - shift) + shift;
      if (w === 1) out.writeUInt8(y, o);
      else if (w === 2) out.writeUInt16LE(y, o);
      else out.writeUInt32LE(y, o);
    }
  };
  let at = span(n, idWidth) + span(n, 8);
  for (let k = 0; k < widths.length; k++) {
    if (k < 6) rewrite(at, n, widths[k]!, 0);
    if (k === 6) rewrite(at, n, widths[k]!, 1);
    at += span(n, widths[k]!);
  }
  rewrite(at, refs, refWidth, 0);
  const head = JSON.stringify({ v: 2, n, refs, idWidth, widths, refWidth, strings: [...strings].reverse() });
  return withHead(out, p, head);
}

/** The copy with its string table made unreadable (the head's JSON broken after `"strings":`). */
function tableBroken(buf: Buffer): Buffer {
  const p = parse(buf);
  const text = buf.subarray(8, 8 + p.hl).toString();
  const at = text.indexOf('"strings":') + '"strings":'.length;
  return withHead(buf, p, `${text.slice(0, at)}[!`);
}

function rowsOf(keys: SortKeys[]): SortRow[] {
  return keys.map((k, i) => ({ uid: i + 1, messageId: 100 + i, size: 1, internalDate: (i * 7) % 5, keys: k }));
}

/** SORT by each string key and THREAD from the copy's columns, as UIDs. */
function fromCopy(buf: Buffer, rows: SortRow[]) {
  const copy = decodeSortColumns(buf)!;
  expect(copy).not.toBeNull();
  const ids = rows.map((r) => r.messageId);
  const internal = rows.map((r) => r.internalDate);
  const uids = rows.map((r) => r.uid);
  const none = () => undefined;
  const sorts = FIELDS.map((f) => Array.from(columnOrder(sortKeyColumn(copy, f, ids, internal, none)!.keys, false), (k) => uids[k]!));
  const dates = sortKeyColumn(copy, 'd', ids, internal, none)!.keys;
  const subjects = sortKeyColumn(copy, 's', ids, internal, none)!.keys;
  const input = { dates, subjects, ...threadKeyColumns(copy, ids, subjects, none)! };
  return { sorts, references: formatThreads(referenceThreads(input), uids), ordered: formatThreads(orderedSubjectThreads(input), uids) };
}

function fromRows(rows: SortRow[]) {
  return {
    sorts: FIELDS.map((f) => sortRows(rows, [{ key: KEY[f], reverse: false }]).map((r) => r.uid)),
    references: formatThreads(threadReferences(rows), (r) => r.uid),
    ordered: formatThreads(threadOrderedSubject(rows), (r) => r.uid),
  };
}

describe('sort key copy, version 3', () => {
  it('leads its string table with every sort field value in code-unit order, with its length and the empty string in the head', () => {
    fc.assert(
      fc.property(fc.array(keysArb, { maxLength: 20 }), (keys) => {
        const { head } = parse(encodeSortKeys(rowsOf(keys)));
        expect(head.v).toBe(3);
        const lead = head.strings.slice(0, head.a);
        expect(lead).toEqual([...lead].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        expect(new Set(lead)).toEqual(new Set(keys.flatMap((k) => FIELDS.map((f) => k[f]))));
        expect(new Set(head.strings).size).toBe(head.strings.length);
        expect(head.m).toBe(head.strings.length);
        expect(head.e).toBe(head.strings.indexOf(''));
      }),
      { seed: 918, numRuns: 100 },
    );
  });

  it('keeps field columns narrow when there are many more Message-IDs than field values', () => {
    const keys = Array.from({ length: 70_000 }, (_, i): SortKeys => ({
      d: i,
      s: `subject ${i % 300}`,
      f: `z${i % 97}@example.org`,
      t: '',
      c: '',
      df: `Z ${i % 97}`,
      dt: '',
      id: `a${i}@x`,
      r: i % 8 ? [`a${i - 1}@x`] : [],
    }));
    const { head } = parse(encodeSortKeys(rowsOf(keys)));
    // More than 65,536 strings in all, fewer than 65,536 field values: no field column needs four bytes.
    expect(head.strings.length).toBeGreaterThan(0x10000);
    expect(Math.max(...head.widths.slice(0, 6))).toBe(2);
  });

  it('sorts by every string key and threads without its string table, as the sort rows do; a version 2 copy still does too', () => {
    fc.assert(
      fc.property(fc.array(keysArb, { minLength: 1, maxLength: 30 }), (keys) => {
        const rows = rowsOf(keys);
        const buf = encodeSortKeys(rows);
        const expected = fromRows(rows);
        // The table cannot be parsed: what needs no string still answers, and answers right.
        expect(fromCopy(tableBroken(buf), rows)).toEqual(expected);
        expect(fromCopy(buf, rows)).toEqual(expected);
        const v2 = asVersion2(buf);
        expect(decodeSortColumns(v2)!.sorted).toBe(false);
        expect(fromCopy(v2, rows)).toEqual(expected);
      }),
      { seed: 919, numRuns: 200 },
    );
  });

  it('reads the table for an entry the copy lacks, and refuses a head whose table length or empty string is not one it wrote', () => {
    const keys = (s: string, id: string | null): SortKeys => ({ d: 1, s, f: '', t: '', c: '', df: '', dt: '', id, r: [] });
    const rows = rowsOf([keys('b', 'm1'), keys('a', 'm2'), keys('c', null)]);
    const buf = encodeSortKeys(rows.slice(0, 2));
    const ids = rows.map((r) => r.messageId);
    const known = (id: number) => (id === 102 ? rows[2]!.keys : undefined);
    const col = sortKeyColumn(decodeSortColumns(buf)!, 's', ids, [0, 0, 0], known)!;
    expect(Array.from(columnOrder(col.keys, false))).toEqual([1, 0, 2]);
    // Without a table, an entry of its own cannot be placed among the copy's strings: no column.
    expect(sortKeyColumn(decodeSortColumns(tableBroken(buf))!, 's', ids, [0, 0, 0], known)).toBeNull();
    const p = parse(buf);
    const text = buf.subarray(8, 8 + p.hl).toString();
    for (const bad of [
      text.replace(`"m":${p.head.m}`, `"m":-1`),
      text.replace(`"e":${p.head.e}`, `"e":${p.head.m}`),
      text.replace(`"e":${p.head.e}`, '"e":-2'),
      text.replace(`"m":${p.head.m}`, '"m":1.5'),
    ]) {
      expect(bad).not.toBe(text);
      expect(decodeSortColumns(withHead(buf, p, bad))).toBeNull();
    }
  });
});
