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
// Message ids past 32 bits (stored as doubles) or all within them (stored in 32 bits).
const rows = fc.oneof(
  fc.array(fc.record({ messageId: fc.integer({ min: 1, max: 2 ** 40 }), keys }), { maxLength: 40 }),
  fc.array(fc.record({ messageId: fc.integer({ min: 0, max: 2 ** 32 - 1 }), keys }), { maxLength: 40 }),
);

/** The version 1 layout (fourth round), as copies already in databases hold it. */
function encodeV1(rs: ReadonlyArray<{ messageId: number; keys: SortKeys }>): Buffer {
  const n = rs.length;
  const strings = new Map<string, number>();
  const at = (x: string): number => {
    let i = strings.get(x);
    if (i === undefined) strings.set(x, (i = strings.size));
    return i;
  };
  const f = new Float64Array(n * 2);
  const u = new Uint32Array(n * 9);
  const refs: number[] = [];
  rs.forEach(({ messageId, keys: k }, i) => {
    f[i] = messageId;
    f[n + i] = k.d ?? NaN;
    (['s', 'f', 't', 'c', 'df', 'dt'] as const).forEach((name, j) => (u[j * n + i] = at(k[name])));
    u[6 * n + i] = k.id === null ? 0xffffffff : at(k.id);
    u[7 * n + i] = k.re ? 1 : 0;
    for (const r of k.r) refs.push(at(r));
    u[8 * n + i] = refs.length;
  });
  const head = Buffer.from(JSON.stringify({ v: 1, n, refs: refs.length, strings: [...strings.keys()] }));
  const len = Buffer.alloc(8);
  len.writeUInt32LE(head.length, 0);
  return Buffer.concat([len, head, Buffer.alloc((8 - (head.length % 8)) % 8), Buffer.from(f.buffer), Buffer.from(u.buffer), Buffer.from(new Uint32Array(refs).buffer)]);
}

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

  it('still decodes the version 1 copies written before (each column a 32-bit word)', () => {
    fc.assert(
      fc.property(rows, (rs) => {
        const copy = decodeSortKeys(encodeV1(rs));
        expect(copy).not.toBeNull();
        expect(Array.from(copy!.ids)).toEqual(rs.map((r) => r.messageId));
        expect(copy!.keys.map(plain)).toEqual(rs.map((r) => r.keys));
      }),
      { seed: 57, numRuns: 100 },
    );
  });

  it('is narrower than version 1, and keeps more than 255 references or 65,536 strings exactly', () => {
    // Three distinct strings a message: more than 65,536 in all, so string indexes need 32 bits.
    const many = Array.from({ length: 23_000 }, (_, i) => ({
      messageId: i + 1,
      keys: { d: i, s: `s${i}`, f: `f${i}`, t: '', c: '', df: 'a', dt: '', id: `m${i}`, r: i % 8 ? [`m${i - 1}`] : [] } as SortKeys,
    }));
    many[5]!.keys.r = Array.from({ length: 300 }, (_, k) => `ref${k}`);
    const v2 = encodeSortKeys(many);
    expect(v2.length).toBeLessThan(encodeV1(many).length * 0.75);
    const copy = decodeSortKeys(v2)!;
    expect(copy.keys.map(plain)).toEqual(many.map((r) => r.keys));
  });

  it('reads a copy in place when its columns are aligned (no copy of it into fresh memory), and copies one that is not', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => ({
      messageId: i + 1,
      keys: { d: i * 1000, s: `subject ${i % 500}`, f: `f${i % 97}`, t: 'to', c: '', df: `F ${i % 97}`, dt: 'To', id: `<m${i}@x>`, r: i % 8 ? [`<m${i - 1}@x>`] : [] } as SortKeys,
    }));
    const buf = encodeSortKeys(many);
    const hl = buf.readUInt32LE(0);
    const columns = buf.length - 8 - hl - ((8 - (hl % 8)) % 8);
    const before = process.memoryUsage().arrayBuffers;
    const decoded = decodeSortKeys(buf)!;
    // In place: only its own id and reference-end columns (12 bytes a message); a copy would add all the columns again.
    expect(12 * many.length).toBeLessThan(columns);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(columns);
    expect(decoded.keys.map(plain)).toEqual(many.map((r) => plain(r.keys)));
    const shifted = Buffer.alloc(buf.length + 1).subarray(1);
    buf.copy(shifted);
    expect(decodeSortKeys(shifted)!.keys.map(plain)).toEqual(many.map((r) => plain(r.keys)));
    expect([...decodeSortKeys(shifted)!.ids]).toEqual(many.map((r) => r.messageId));
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
    // Version 2, one message: its id (4 bytes, padded to 8), its date (8), then the subject's index (one byte).
    buf[start + 16] = 200;
    expect(decodeSortKeys(buf)).toBeNull();
  });
});
