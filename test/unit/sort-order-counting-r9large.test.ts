/**
 * The order of one numeric key column (appliance/imap/sort.ts columnOrder; issue 18, ninth
 * round): keys in a range about the number of positions are ordered by counting, others by a
 * packed native sort or by ranks; all give a stable sort by the key, ascending or descending,
 * ties in position order (RFC 5256 3).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { columnOrder } from '../../appliance/imap/sort.js';

function expected(keys: number[], reverse: boolean): number[] {
  return keys.map((_, i) => i).sort((a, b) => (keys[a] === keys[b] ? a - b : (keys[a]! < keys[b]! ? -1 : 1) * (reverse ? -1 : 1)));
}

describe('columnOrder', () => {
  it('orders by the key with ties in position order, for small and wide ranges, whole and fractional keys', () => {
    // One kind of key per column: a narrow range (counted), a wide one (packed), fractions (ranked), or a mix.
    const kinds = [fc.integer({ min: -5, max: 5 }), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: -1e13, max: 1e13 }), fc.double({ min: -10, max: 10, noNaN: true })];
    const column = fc.oneof(...kinds.map((k) => fc.array(k, { maxLength: 300 })), fc.array(fc.oneof(...kinds), { maxLength: 300 }));
    fc.assert(
      fc.property(column, fc.boolean(), (keys, reverse) => {
        expect(Array.from(columnOrder(Float64Array.from(keys), reverse))).toEqual(expected(keys, reverse));
      }),
      { seed: 1820, numRuns: 500 },
    );
  });

  it('orders 100,000 string indexes (a sort-key copy column) as the comparison sort does', () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 113_000);
    for (const reverse of [false, true]) expect(Array.from(columnOrder(Float64Array.from(keys), reverse))).toEqual(expected(keys, reverse));
  });
});
