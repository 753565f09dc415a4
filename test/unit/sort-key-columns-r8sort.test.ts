/**
 * A sort-key copy read as columns (appliance/mailstore/sort-key-copy.ts decodeSortColumns,
 * sortKeyColumn; issue 18, eighth round): each key column orders entries exactly as the decoded
 * keys do (DATE with the internal date for a missing Date header; string fields ranked in
 * code-unit order, equal strings equal), for entries the copy lacks (their keys given) and ids it
 * holds that are gone; a buffer that is not a whole version 2 copy gives null, never columns.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeSortColumns, decodeSortKeys, encodeSortKeys, sortKeyColumn } from '../../appliance/mailstore/sort-key-copy.js';
import type { SortKeys } from '../../appliance/mailstore/sort-keys.js';

const text = fc.oneof(fc.constantFrom('', 're', 'budget 1', 'ünïcödé', 'a@b', 'B'), fc.string({ maxLength: 6 }));
const keys: fc.Arbitrary<SortKeys> = fc.record({
  d: fc.option(fc.integer({ min: -1e12, max: 4e12 }), { nil: null }),
  s: text,
  f: text,
  t: text,
  c: text,
  df: text,
  dt: text,
  id: fc.option(text, { nil: null }),
  r: fc.array(text, { maxLength: 3 }),
});
const FIELDS = ['s', 'f', 't', 'c', 'df', 'dt'] as const;

/** What an entry's key column must agree with: the sign of comparing two entries' keys. */
const cmp = (a: number | string, b: number | string) => (a < b ? -1 : a > b ? 1 : 0);

describe('sort key copy columns', () => {
  it('orders entries by each key as their keys do, for entries added since the copy and ids removed since', () => {
    fc.assert(
      fc.property(fc.array(keys, { minLength: 1, maxLength: 30 }), fc.array(keys, { maxLength: 4 }), fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), (stored, added, kept) => {
        const rows = stored.map((k, i) => ({ messageId: 100 + i, keys: k }));
        const copy = decodeSortColumns(encodeSortKeys(rows))!;
        expect(copy).not.toBeNull();
        // The folder now: some of the copy's messages removed, others added after them.
        const entries = [...rows.filter((_, i) => kept[i]), ...added.map((k, i) => ({ messageId: 1000 + i, keys: k }))];
        const ids = Float64Array.from(entries, (e) => e.messageId);
        const internal = Float64Array.from(entries, (_, i) => 5e12 + i);
        const byId = new Map(entries.map((e) => [e.messageId, e.keys]));
        // Without the added messages' keys: they are missing; with them: every key in place.
        const without = sortKeyColumn(copy, 'd', ids, internal, () => undefined)!;
        expect(without.missing).toEqual(entries.map((e, i) => (e.messageId >= 1000 ? i : -1)).filter((i) => i >= 0));
        const d = sortKeyColumn(copy, 'd', ids, internal, (id) => byId.get(id))!;
        expect(d.missing).toEqual([]);
        expect(Array.from(d.keys)).toEqual(entries.map((e, i) => e.keys.d ?? internal[i]!));
        for (const field of FIELDS) {
          const col = sortKeyColumn(copy, field, ids, internal, (id) => byId.get(id))!;
          expect(col.missing).toEqual([]);
          for (let i = 0; i < entries.length; i++) for (let j = 0; j < entries.length; j++) expect(cmp(col.keys[i]!, col.keys[j]!), field).toBe(cmp(entries[i]!.keys[field], entries[j]!.keys[field]));
        }
        // The same bytes decode to the same keys as objects.
        expect(copy.keys()!.keys.length).toBe(rows.length);
      }),
      { seed: 88, numRuns: 150 },
    );
  });

  it('gives null for a cut, padded, version 1 or foreign buffer, and for a string index past the table', () => {
    const rows = [
      { messageId: 1, keys: { d: 5, s: 'x', f: 'y', t: '', c: '', df: '', dt: '', id: 'm', r: ['p'] } as SortKeys },
      { messageId: 2, keys: { d: null, s: 'z', f: '', t: '', c: '', df: '', dt: '', id: null, r: [] } as SortKeys },
    ];
    const buf = encodeSortKeys(rows);
    expect(decodeSortColumns(buf)).not.toBeNull();
    for (let cut = 0; cut < buf.length; cut += 7) expect(decodeSortColumns(buf.subarray(0, cut))).toBeNull();
    expect(decodeSortColumns(Buffer.concat([buf, Buffer.alloc(8)]))).toBeNull();
    expect(decodeSortColumns(Buffer.from('not a copy at all'))).toBeNull();
    const head = Buffer.from(JSON.stringify({ v: 1, n: 0, refs: 0, strings: [] }));
    const len = Buffer.alloc(8);
    len.writeUInt32LE(head.length, 0);
    expect(decodeSortColumns(Buffer.concat([len, head, Buffer.alloc((8 - (head.length % 8)) % 8)]))).toBeNull();
    // A subject index past the table: the subject column is refused, the dates still read.
    const hl = buf.readUInt32LE(0);
    const parsed = JSON.parse(buf.subarray(8, 8 + hl).toString()) as { widths: number[]; idWidth: number };
    const bad = Buffer.from(buf);
    const body = 8 + hl + ((8 - (hl % 8)) % 8);
    const subjects = body + 8 * Math.ceil((2 * parsed.idWidth) / 8) + 16;
    bad[subjects] = 200;
    expect(decodeSortKeys(bad)).toBeNull();
    const copy = decodeSortColumns(bad)!;
    expect(copy.strings('s')).toBeNull();
    expect(sortKeyColumn(copy, 's', Float64Array.of(1, 2), Float64Array.of(0, 0), () => undefined)).toBeNull();
    expect(Array.from(sortKeyColumn(copy, 'd', Float64Array.of(1, 2), Float64Array.of(7, 9), () => undefined)!.keys)).toEqual([5, 9]);
  });
});
