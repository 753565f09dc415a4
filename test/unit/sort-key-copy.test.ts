/**
 * The compact copy of a folder's sort keys (appliance/mailstore/sort-key-copy.ts): what is
 * decoded is exactly what was encoded (random keys: null dates and Message-IDs, reply marks,
 * references, non-ASCII and empty strings, shared strings), and a buffer that is not a whole
 * copy decodes to null, never to wrong keys.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeSortKeys, encodeSortKeys } from '../../appliance/mailstore/sort-key-copy.js';
import type { SortKeys } from '../../appliance/mailstore/sort-keys.js';

const text = fc.oneof(fc.constantFrom('', 're', 'budget 1', 'ünïcödé', 'a@b'), fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
const keys: fc.Arbitrary<SortKeys> = fc
  .record({
    d: fc.option(fc.integer({ min: -1e12, max: 4e12 }), { nil: null }),
    s: text,
    f: text,
    t: text,
    c: text,
    df: text,
    dt: text,
    id: fc.option(text, { nil: null }),
    r: fc.array(text, { maxLength: 5 }),
    re: fc.boolean(),
  })
  .map(({ re, ...k }) => (re ? { ...k, re: 1 as const } : k));
/** A decoded message's keys as a plain object (the copy reads its columns through getters). */
const plain = (k: SortKeys): SortKeys => ({ d: k.d, s: k.s, f: k.f, t: k.t, c: k.c, df: k.df, dt: k.dt, id: k.id, r: [...k.r], ...(k.re === 1 ? { re: 1 as const } : {}) });
const rows = fc.array(fc.record({ messageId: fc.integer({ min: 1, max: 2 ** 40 }), keys }), { maxLength: 40 });

describe('sort key copy', () => {
  it('decodes what it encoded', () => {
    fc.assert(
      fc.property(rows, (rs) => {
        const copy = decodeSortKeys(encodeSortKeys(rs));
        expect(copy).not.toBeNull();
        expect(Array.from(copy!.ids)).toEqual(rs.map((r) => r.messageId));
        expect(copy!.keys.map(plain)).toEqual(rs.map((r) => r.keys));
      }),
      { seed: 58, numRuns: 200 },
    );
  });

  it('decodes a cut, padded or foreign buffer to null', () => {
    fc.assert(
      fc.property(
        rows.filter((rs) => rs.length > 0),
        fc.nat(),
        (rs, cut) => {
          const buf = encodeSortKeys(rs);
          expect(decodeSortKeys(buf.subarray(0, cut % buf.length))).toBeNull();
          expect(decodeSortKeys(Buffer.concat([buf, Buffer.alloc(4)]))).toBeNull();
        },
      ),
      { seed: 59, numRuns: 100 },
    );
    expect(decodeSortKeys(Buffer.from('not a copy at all'))).toBeNull();
    // A string index past the table (a damaged copy) is refused, not read as undefined.
    const buf = encodeSortKeys([{ messageId: 1, keys: { d: null, s: 'x', f: '', t: '', c: '', df: '', dt: '', id: null, r: [] } }]);
    const hl = buf.readUInt32LE(0);
    const start = 8 + hl + ((8 - (hl % 8)) % 8);
    buf.writeUInt32LE(999, start + 16); // the subject's index
    expect(decodeSortKeys(buf)).toBeNull();
  });
});
