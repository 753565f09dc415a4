/**
 * UidMap.seqsOfAscending: the sequence numbers (RFC 9051 2.3.1.2) of a folder's UIDs in the
 * session's view, found by one merge walk; it must agree with seqOf for every UID, including
 * UIDs the view does not hold (new mail not yet announced) and UIDs only the view holds
 * (expunges not yet reported).
 */
import { describe, expect, it } from 'vitest';
import { UidMap, parseSequenceSet } from '../../appliance/imap/sequence.js';

describe('UidMap.seqsOfAscending', () => {
  it.each([
    ['equal lists', [1, 2, 3, 7], [1, 2, 3, 7]],
    ['new mail not in the view', [1, 2, 3], [1, 2, 3, 4, 5]],
    ['view holds expunged UIDs', [1, 2, 3, 4, 9], [2, 4, 9]],
    ['disjoint', [10, 20], [1, 2, 30]],
    ['empty view', [], [1, 2]],
    ['empty folder', [1, 2], []],
  ])('%s', (_name, view, folder) => {
    const v = new UidMap(view);
    expect([...v.seqsOfAscending(folder)]).toEqual(folder.map((u) => v.seqOf(u)));
  });

  it('agrees with seqOf on random views and folders', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 50; round++) {
      const view = Array.from({ length: 300 }, (_, i) => i + 1).filter(() => rnd() < 0.7);
      const folder = Array.from({ length: 320 }, (_, i) => i + 1).filter(() => rnd() < 0.7);
      const v = new UidMap(view);
      expect([...v.seqsOfAscending(folder)]).toEqual(folder.map((u) => v.seqOf(u)));
    }
  });
});

describe('UidMap.resolveSeq', () => {
  /** What the set means, number by number (RFC 9051 9: "*" is the last message; a range past it ends there). */
  const byNumber = (view: number[], set: string): number[] => {
    const seqs = new Set<number>();
    for (const [a, b] of parseSequenceSet(set)) {
      const x = a === Infinity ? view.length : a;
      const y = b === Infinity ? view.length : b;
      for (let s = Math.min(x, y); s <= Math.max(x, y); s++) if (s >= 1 && s <= view.length) seqs.add(s);
      if (x > view.length && b === Infinity && view.length) seqs.add(view.length);
    }
    return [...seqs].sort((p, q) => p - q).map((s) => view[s - 1]!);
  };

  it('answers overlapping, unordered and out-of-range sets as the numbers they name, once each, ascending', () => {
    const view = [3, 5, 8, 9, 12, 20, 21, 40];
    for (const set of ['1:*', '*', '2:4,3:6', '7:*,1:2', '5,1,5,2:3', '6:100', '100:*', '9:12', '4:2,8', '1:2,4:5,3,1:8']) {
      expect(new UidMap(view).resolveSeq(parseSequenceSet(set)), set).toEqual(byNumber(view, set));
    }
    expect(new UidMap([]).resolveSeq(parseSequenceSet('1:*'))).toEqual([]);
  });
});
