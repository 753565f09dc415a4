/**
 * UidMap.seqsOfAscending: the sequence numbers (RFC 9051 2.3.1.2) of a folder's UIDs in the
 * session's view, found by one merge walk; it must agree with seqOf for every UID, including
 * UIDs the view does not hold (new mail not yet announced) and UIDs only the view holds
 * (expunges not yet reported).
 */
import { describe, expect, it } from 'vitest';
import { UidMap } from '../../appliance/imap/sequence.js';

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
