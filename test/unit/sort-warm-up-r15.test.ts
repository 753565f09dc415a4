/**
 * The SORT warm-up at server start (issue 18, fifteenth round) orders a made-up date column of
 * the made-up folder and writes the answers as bytes; they are the made-up folder's answers.
 */
import { describe, expect, it } from 'vitest';
import { warmUpSortAnswers } from '../../appliance/imap/warm-up.js';
import { madeUpFolder } from '../../appliance/mailstore/warm-up-folder.js';
import { columnOrder, sortResponse } from '../../appliance/imap/sort.js';

describe('SORT warm-up (r15)', () => {
  it('gets the made-up answers', () => {
    expect(warmUpSortAnswers()).toBe(true);
  });

  it('orders the made-up dates as a plain sort does, ties in folder order', () => {
    const { uids } = madeUpFolder();
    const dates = Float64Array.from(uids, (_, i) => 1.7e12 + 60_000 * (i - (i % 5 === 4 ? 1 : 0)));
    const positions = Array.from(uids, (_, i) => i);
    const newest = positions.slice().sort((a, b) => dates[b]! - dates[a]! || a - b);
    expect(sortResponse(uids, columnOrder(dates, true), null).toString('latin1')).toBe(`* SORT ${newest.map((i) => uids[i]).join(' ')}\r\n`);
  });
});
