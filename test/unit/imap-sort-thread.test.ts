/**
 * RFC 5256 pieces without a server: base subject extraction (2.1), THREAD=REFERENCES on
 * reference loops, duplicate Message-IDs and deep reply chains, and the THREAD response format (4).
 */
import { describe, expect, it } from 'vitest';
import { formatThreads, sortRows, threadOrderedSubject, threadReferences } from '../../appliance/imap/sort.js';
import { baseSubject } from '../../appliance/mailstore/sort-keys.js';
import type { SortRow } from '../../appliance/mailstore/store.types.js';

const row = (uid: number, id: string | null, refs: string[], subject = 'x', d = uid): SortRow => ({
  uid,
  messageId: uid,
  size: 1,
  internalDate: d,
  keys: { d, s: baseSubject(subject).base, f: '', t: '', c: '', df: '', dt: '', id, r: refs, ...(baseSubject(subject).reply ? { re: 1 as const } : {}) },
});

describe('RFC 5256 base subject (2.1)', () => {
  it.each([
    ['Re: Fwd: [list] Re: Hello  World', 'hello world', true],
    ['[fwd: Hello]', 'hello', true],
    ['Hello (fwd)', 'hello', true],
    ['[PATCH] fix', 'fix', false],
    ['[only blob]', '[only blob]', false],
    ['RE : x', 'x', true],
    ['re: [x] re: y', 'y', true],
    ['  plain  ', 'plain', false],
  ])('%j → %j', (input, base, reply) => {
    expect(baseSubject(input)).toEqual({ base, reply });
  });
});

describe('THREAD=REFERENCES (RFC 5256 2.2)', () => {
  it('survives reference loops and duplicate Message-IDs', () => {
    const rows = [row(1, 'a', ['b']), row(2, 'b', ['a']), row(3, 'a', []), row(4, null, ['a'])];
    const out = formatThreads(threadReferences(rows), (r) => r.uid);
    // Every message appears exactly once.
    expect(out.match(/\d+/g)!.map(Number).sort()).toEqual([1, 2, 3, 4]);
  });

  it('writes a 20,000-message reply chain without recursion trouble', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => row(i + 1, `m${i}`, i ? [`m${i - 1}`] : []));
    const out = formatThreads(threadReferences(rows), (r) => r.uid);
    expect(out.startsWith('(1 2 3 ')).toBe(true);
    expect(out.endsWith(' 20000)')).toBe(true);
  });

  it('formats siblings, dummies and chains per RFC 5256 4', () => {
    const rows = [row(1, 'p', []), row(2, 'c1', ['p']), row(3, 'c2', ['p']), row(4, 'g', ['p', 'c2']), row(5, 'x', ['lost'], 'other'), row(6, 'y', ['lost'], 'other')];
    expect(formatThreads(threadReferences(rows), (r) => r.uid)).toBe('(1 (2)(3 4))((5)(6))');
    // Step 5: roots with the same base subject are gathered under one dummy.
    const same = [row(1, 'p', []), row(2, 'c', ['p']), row(3, 'x', ['lost']), row(4, 'y', ['lost'])];
    expect(formatThreads(threadReferences(same), (r) => r.uid)).toBe('((1 2)(3)(4))');
  });
});

describe('ORDEREDSUBJECT and SORT ties', () => {
  it('groups by base subject, orders threads by their first date (RFC 5256 2.1)', () => {
    const rows = [row(1, null, [], 'b', 30), row(2, null, [], 'a', 20), row(3, null, [], 'Re: b', 10), row(4, null, [], 'a', 40)];
    expect(formatThreads(threadOrderedSubject(rows), (r) => r.uid)).toBe('(3 1)(2 4)');
  });

  it('breaks ties by sequence order, also under REVERSE (RFC 5256 3)', () => {
    const rows = [row(1, null, [], 's', 5), row(2, null, [], 's', 5), row(3, null, [], 's', 1)];
    expect(sortRows(rows, [{ key: 'DATE', reverse: true }]).map((r) => r.uid)).toEqual([1, 2, 3]);
    expect(sortRows(rows, [{ key: 'DATE', reverse: false }]).map((r) => r.uid)).toEqual([3, 1, 2]);
  });
});
