/**
 * The flag-search warm-up at server start (issue 18, fourteenth round) runs a plain SEARCH on
 * flags alone over a made-up folder, through the code a fresh process's UID SEARCH FLAGGED runs,
 * and its answers are the made-up folder's: checked here against a plain walk of that folder.
 */
import { describe, expect, it } from 'vitest';
import { warmUpFlagAnswers } from '../../appliance/imap/warm-up.js';
import { warmUpFlagSearch } from '../../appliance/imap/search-executor.js';

describe('flag-search warm-up (r14large)', () => {
  it('answers UID SEARCH FLAGGED and SEARCH UNSEEN of the made-up folder, in its own view and another', () => {
    const n = 8192;
    // The made-up folder's UIDs make three runs: 1-100, 150-4049, 4900-9091.
    const uid = (i: number) => (i < 100 ? i + 1 : i < 4000 ? i + 50 : i + 900);
    const flagged = (i: number) => i % 10 === 0;
    const seen = (i: number) => !flagged(i) && i % 3 === 0;
    const all = Array.from({ length: n }, (_, i) => i);
    // The other view holds the UIDs that leave 1 divided by 4, in order: sequence number = position in it + 1.
    const other = all.filter((i) => uid(i) % 4 === 1);
    const seqInOther = new Map(other.map((i, k) => [i, k + 1]));
    const expected = [all.filter(flagged).map(uid), all.filter((i) => !seen(i)).map((i) => i + 1), other.filter(flagged).map(uid), other.filter((i) => !seen(i)).map((i) => seqInOther.get(i)!)];
    const answers = warmUpFlagSearch().map((a) => [...a]);
    expect(answers).toHaveLength(12);
    for (let k = 0; k < 12; k++) expect(answers[k]).toEqual(expected[k % 4]);
    expect(warmUpFlagAnswers()).toBe(true);
  });
});
