/**
 * The SORT answer as bytes of the exact size (issue 18, fifteenth round): the same text as the
 * numbers joined, for UIDs up to 2^32 - 1, for sequence numbers by position (ids null), with a
 * MODSEQ, and for an empty result.
 */
import { describe, expect, it } from 'vitest';
import { sortResponse } from '../../appliance/imap/sort.js';

describe('sortResponse', () => {
  it('writes the numbers of the order, by id or by position, with and without MODSEQ', () => {
    const ids = Uint32Array.from([1, 9, 10, 99, 100, 12345, 99999, 100000, 4294967295, 1000000000, 7]);
    const order = Uint32Array.from([10, 8, 0, 3, 2, 9, 1, 5, 4, 7, 6]);
    const joined = Array.from(order, (p) => ids[p]).join(' ');
    expect(sortResponse(ids, order, null).toString('latin1')).toBe(`* SORT ${joined}\r\n`);
    expect(sortResponse(ids, order, 1234567890123).toString('latin1')).toBe(`* SORT ${joined} (MODSEQ 1234567890123)\r\n`);
    expect(sortResponse(null, order, null).toString('latin1')).toBe(`* SORT ${Array.from(order, (p) => p + 1).join(' ')}\r\n`);
    expect(sortResponse([3, 2, 1], [2, 1, 0], null).toString('latin1')).toBe('* SORT 1 2 3\r\n');
  });

  it('writes an empty result as "* SORT"', () => {
    expect(sortResponse(new Uint32Array(0), new Uint32Array(0), null).toString('latin1')).toBe('* SORT\r\n');
    expect(sortResponse(null, [], 5).toString('latin1')).toBe('* SORT (MODSEQ 5)\r\n');
  });

  it('is exactly as long as its text (no trailing bytes)', () => {
    const n = 5000;
    const order = Uint32Array.from({ length: n }, (_, i) => (i * 7919) % n);
    const buf = sortResponse(null, order, null);
    expect(buf.length).toBe(Buffer.byteLength(`* SORT ${Array.from(order, (p) => p + 1).join(' ')}\r\n`));
  });
});
