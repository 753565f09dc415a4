/**
 * The session's sequence-number view (appliance/imap/sequence.ts UidMap, issue 18): at SELECT it
 * borrows the folder's UID column instead of copying it (copying 100,000 UIDs into fresh memory
 * was most of a warm SELECT of a large folder), and copies it only when the view itself changes,
 * so the folder's column never changes under another session.
 */
import { describe, expect, it } from 'vitest';
import { UidMap } from '../../appliance/imap/sequence.js';

describe('the sequence-number view of a selected folder', () => {
  it('borrows a UID column at SELECT (no copy of its memory)', () => {
    const uids = new Uint32Array(1_000_000).map((_, i) => i + 1);
    const before = process.memoryUsage().arrayBuffers;
    const view = new UidMap(uids.subarray(0, uids.length));
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(uids.byteLength / 4);
    expect([view.length, view.uidAt(1), view.maxUid, view.seqOf(500_000)]).toEqual([1_000_000, 1, 1_000_000, 500_000]);
  });

  it('leaves the borrowed column as it was when the view changes (expunge, new message)', () => {
    const column = Uint32Array.of(3, 5, 8, 13, 21);
    const a = new UidMap(column.subarray(0, 4));
    const b = new UidMap(column.subarray(0, 4));
    a.removeSeq(2);
    b.push(34);
    expect([...a]).toEqual([3, 8, 13]);
    expect([...b]).toEqual([3, 5, 8, 13, 34]);
    expect([...column]).toEqual([3, 5, 8, 13, 21]);
    a.push(40);
    a.removeSeq(1);
    expect([...a]).toEqual([8, 13, 40]);
    expect(a.seqsOfAscending(Uint32Array.of(3, 8, 40))).toEqual(Uint32Array.of(0, 1, 3));
  });
});
