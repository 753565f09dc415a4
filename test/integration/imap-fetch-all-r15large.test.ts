/**
 * FETCH 1:* of flags alone (issue 18, fifteenth round): a set that takes in every message of the
 * session's view is answered from the view without resolving it into an array of every UID
 * (100,000 numbers cost 3-14 ms of CPU per FETCH on the bench's folder); any other set, or a
 * FETCH that needs more than flags, resolves its UIDs as before. The answers are the same.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UidMap } from '../../appliance/imap/sequence.js';
import { fetchLines, RawClient, startImapEnv, twoSessionsOnFlaggedInbox, type ImapTestEnv } from './imap-harness.js';

const USER = 'all@r15large.test';
const PASS = 'fetch all passphrase';
const COUNT = 120;
const msg = (i: number) => Buffer.from(`From: a@example.org\r\nSubject: m${i}\r\nMessage-ID: <a${i}@r15large>\r\n\r\nbody ${i}\r\n`);

describe('UidMap.takesAllSeqs (r15large)', () => {
  it('is true exactly when resolveSeq gives every UID of the view from one range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.tuple(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant(Infinity)), fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant(Infinity))), { minLength: 1, maxLength: 3 }),
        (n, ranges) => {
          const view = new UidMap(Array.from({ length: n }, (_, i) => 3 * i + 2));
          const all = Array.from({ length: n }, (_, i) => 3 * i + 2);
          if (view.takesAllSeqs(ranges)) expect(view.resolveSeq(ranges)).toEqual(all);
          const one = ranges.some(([a, b]) => (a === Infinity ? n : a) <= 1 && Math.min(b === Infinity ? n : b, n) === n);
          expect(view.takesAllSeqs(ranges)).toBe(n > 0 && one);
        },
      ),
      { numRuns: 300 },
    );
    expect(new UidMap([5, 6]).takesAllSeqs([[1, Infinity]])).toBe(true);
    expect(new UidMap([5, 6]).takesAllSeqs([[2, Infinity]])).toBe(false);
    expect(new UidMap([]).takesAllSeqs([[1, Infinity]])).toBe(false);
  });
});

describe('FETCH 1:* (FLAGS) without resolving the view (r15large)', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let b: RawClient;
  beforeAll(async () => {
    env = await startImapEnv();
    ({ a, b } = await twoSessionsOnFlaggedInbox(env, USER, PASS, COUNT, msg));
  }, 120_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    a?.close();
    b?.close();
    await env?.close();
  });

  it('resolves no UIDs for 1:*, the same answer as the general path; other sets and items resolve theirs', async () => {
    const resolve = vi.spyOn(UidMap.prototype, 'resolveSeq');
    const general = fetchLines(await a.cmd('g', 'FETCH 1:* (FLAGS INTERNALDATE)'), / INTERNALDATE "[^"]+"/);
    expect(resolve).toHaveBeenCalledTimes(1);
    resolve.mockClear();
    const lines = fetchLines(await a.cmd('f', 'FETCH 1:* (FLAGS)'), /$^/);
    expect(resolve).not.toHaveBeenCalled();
    expect(lines).toHaveLength(COUNT);
    expect(lines).toEqual(general);
    expect(fetchLines(await a.cmd('h', 'FETCH 1:500 (FLAGS)'), /$^/)).toEqual(general); // beyond the view: still every message
    expect(resolve).not.toHaveBeenCalled();
    expect(fetchLines(await a.cmd('t', 'FETCH 2:* (FLAGS)'), /$^/)).toEqual(general.slice(1));
    expect(resolve).toHaveBeenCalledTimes(1);
    // b's session holds \Recent: answered per line, with its UIDs resolved inside.
    resolve.mockClear();
    const r = fetchLines(await b.cmd('f', 'FETCH 1:* (FLAGS)'), /$^/);
    expect(r).toEqual(fetchLines(await b.cmd('g', 'FETCH 1:* (FLAGS INTERNALDATE)'), / INTERNALDATE "[^"]+"/));
    expect(r.filter((l) => l.includes('\\Recent'))).toHaveLength(COUNT);
  });

  it('after a change and an expunge by another session, 1:* answers the view as it is', async () => {
    await b.cmd('s', 'STORE 1:3 +FLAGS (\\Deleted)');
    await b.cmd('e', 'EXPUNGE');
    await b.cmd('s', 'STORE 5 +FLAGS (\\Answered)');
    const noop = await a.cmd('n', 'NOOP');
    expect(noop).toMatch(/\* 1 EXPUNGE/);
    const lines = fetchLines(await a.cmd('f', 'FETCH 1:* (FLAGS)'), /$^/);
    expect(lines).toHaveLength(COUNT - 3);
    expect(lines).toEqual(fetchLines(await a.cmd('g', 'FETCH 1:* (FLAGS INTERNALDATE)'), / INTERNALDATE "[^"]+"/));
    expect(lines[4]).toMatch(/^\* 5 FETCH \(FLAGS \(.*\\Answered.*\)\)$/);
  });
});
