/**
 * RFC 5256 pieces without a server: base subject extraction (2.1), THREAD=REFERENCES on
 * reference loops, duplicate Message-IDs and deep reply chains, and the THREAD response format (4).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareRows, formatThreads, type SortCriterion, type SortKeyName, sortRows, threadOrderedSubject, threadReferences } from '../../appliance/imap/sort.js';
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

  it('orders as a plain comparison of the criteria with sequence-order ties, for any rows and criteria', () => {
    const names: SortKeyName[] = ['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO'];
    // Few distinct values, so ties are common; dates with and without a Date header.
    const small = fc.constantFrom('', 'a', 'B', 'b', 'ä', 'zz', 'a b');
    const arbRow = fc.record({
      d: fc.option(fc.integer({ min: -3, max: 3 }), { nil: null }),
      idate: fc.integer({ min: -3, max: 3 }),
      size: fc.integer({ min: 0, max: 3 }),
      s: small,
      f: small,
      t: small,
      c: small,
      df: small,
      dt: small,
    });
    const arbCriteria = fc.array(fc.record({ key: fc.constantFrom(...names), reverse: fc.boolean() }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.array(arbRow, { maxLength: 60 }), arbCriteria, (specs, criteria: SortCriterion[]) => {
        const rows: SortRow[] = specs.map((x, i) => ({
          uid: i + 1,
          messageId: i + 1,
          size: x.size,
          internalDate: x.idate * 1000,
          keys: { d: x.d === null ? null : x.d * 1000, s: x.s, f: x.f, t: x.t, c: x.c, df: x.df, dt: x.dt, id: null, r: [] },
        }));
        const want = rows
          .slice()
          .sort(compareRows(criteria))
          .map((r) => r.uid);
        expect(sortRows(rows, criteria).map((r) => r.uid)).toEqual(want);
      }),
      { seed: 5256, numRuns: 400 },
    );
  });

  it('orders large inputs the same whether keys pack exactly with positions or not (wide dates, fractions)', () => {
    const make = (date: (i: number) => number | null): SortRow[] =>
      Array.from({ length: 3000 }, (_, i) => ({
        uid: 2 * i + 1,
        messageId: i,
        size: (i * 7919) % 13,
        internalDate: (i * 104729) % 17,
        keys: { d: date(i), s: '', f: '', t: '', c: '', df: '', dt: '', id: null, r: [] },
      }));
    const sets = [
      make((i) => ((i * 2654435761) % 50) * 86_400_000), // packable
      make((i) => (i % 3 === 0 ? null : ((i * 2654435761) % 97) * 1e13 - 4e14)), // range × rows beyond 2^53: ranks
      make((i) => ((i * 31) % 11) + (i % 4 === 0 ? 0.5 : 0)), // fractions
    ];
    for (const rows of sets) {
      for (const criteria of [
        [{ key: 'DATE', reverse: true }],
        [{ key: 'DATE', reverse: false }],
        [
          { key: 'SIZE', reverse: true },
          { key: 'DATE', reverse: false },
        ],
      ] as SortCriterion[][]) {
        const want = rows
          .slice()
          .sort(compareRows(criteria))
          .map((r) => r.uid);
        expect(sortRows(rows, criteria).map((r) => r.uid)).toEqual(want);
      }
    }
  });

  it('orders many sibling threads by date, ties by sequence order (RFC 5256 2.2 step 6)', () => {
    // 40 unrelated threads (roots) with few distinct dates, one wide date: both sibling orderings
    for (const wide of [false, true]) {
      const rows = Array.from({ length: 40 }, (_, i) => row(i + 1, `t${i}`, [], `subject ${i}`, wide && i === 7 ? 9e15 : (i * 7) % 5));
      const want = rows
        .map((r, pos) => ({ uid: r.uid, d: r.keys.d!, pos }))
        .sort((a, b) => a.d - b.d || a.pos - b.pos)
        .map((x) => `(${x.uid})`)
        .join('');
      expect(formatThreads(threadReferences(rows), (r) => r.uid)).toBe(want);
      expect(formatThreads(threadOrderedSubject(rows), (r) => r.uid)).toBe(want);
    }
  });
});
