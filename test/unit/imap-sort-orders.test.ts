/**
 * Sort orders kept per folder (appliance/imap/sort-orders.ts): after any sequence of appends,
 * expunges and unchanged rebuilds (a flag change), the kept and updated order is the order a
 * fresh sort gives (RFC 5256 3: ties in sequence order), for any criteria; and an update really
 * is incremental (not a fresh sort in disguise) when a few rows were added.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { folderOrder, folderThreads, mapPositions, updateOrder } from '../../appliance/imap/sort-orders.js';
import { type SortCriterion, type SortKeyName, formatThreads, sortOrder, threadOrderedSubject, threadReferences } from '../../appliance/imap/sort.js';
import type { SortRow } from '../../appliance/mailstore/store.types.js';

const names: SortKeyName[] = ['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO'];
// Few distinct values, so ties (broken by sequence order) are common.
const small = fc.constantFrom('', 'a', 'B', 'b', 'ä', 'zz');
const spec = fc.record({ d: fc.option(fc.integer({ min: -3, max: 3 }), { nil: null }), idate: fc.integer({ min: -3, max: 3 }), size: fc.integer({ min: 0, max: 3 }), s: small, f: small, t: small });
type Spec = typeof spec extends fc.Arbitrary<infer T> ? T : never;
const criteria = fc.array(fc.record({ key: fc.constantFrom(...names), reverse: fc.boolean() }), { minLength: 1, maxLength: 3 });
const op = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), specs: fc.array(spec, { minLength: 1, maxLength: 5 }) }),
  fc.record({ kind: fc.constant('expunge' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('flags' as const) }),
);

/** Keys objects by message, shared by the rows arrays built for it (as the store's key cache does). */
const keysOf = new WeakMap<Spec, SortRow['keys']>();
const keys = (x: Spec): SortRow['keys'] => {
  let k = keysOf.get(x);
  if (!k) keysOf.set(x, (k = { d: x.d === null ? null : x.d * 1000, s: x.s, f: x.f, t: x.t, c: x.s, df: x.f, dt: x.t, id: null, r: [] }));
  return k;
};

/** A fresh rows array, new row objects, as the store builds after a membership change. */
const build = (msgs: Array<{ uid: number; x: Spec }>): SortRow[] => msgs.map(({ uid, x }) => ({ uid, messageId: uid, size: x.size, internalDate: x.idate * 1000, keys: keys(x) }));

describe('sort orders kept per folder', () => {
  it('equal a fresh sort after any appends, expunges and flag changes, for any criteria', () => {
    fc.assert(
      fc.property(fc.array(spec, { maxLength: 40 }), fc.array(op, { maxLength: 8 }), criteria, criteria, (initial, ops, c1, c2: SortCriterion[]) => {
        const owner = {};
        let uidNext = 1;
        let msgs = initial.map((x) => ({ uid: uidNext++, x }));
        let rows = build(msgs);
        const check = (c: SortCriterion[]) => expect(Array.from(folderOrder(owner, 7, rows, c))).toEqual(Array.from(sortOrder(rows, c)));
        check(c1);
        check(c2);
        ops.forEach((o, step) => {
          if (o.kind === 'append') msgs = [...msgs, ...o.specs.map((x) => ({ uid: (uidNext += 1 + (step % 2)), x }))];
          else if (o.kind === 'expunge') {
            const gone = new Set(o.picks.map((p) => msgs[p % Math.max(1, msgs.length)]?.uid));
            msgs = msgs.filter((m) => !gone.has(m.uid));
          }
          rows = build(msgs);
          // Asked in turn, or only one of them: the other is carried over to a later array.
          check(step % 3 === 2 ? c2 : c1);
          if (step % 2) check(c2);
        });
      }),
      { seed: 5267, numRuns: 300 },
    );
  });

  it('updates incrementally when a few rows were added, and agrees with a fresh sort', () => {
    fc.assert(
      fc.property(fc.array(spec, { minLength: 20, maxLength: 60 }), fc.array(spec, { minLength: 1, maxLength: 4 }), criteria, (initial, added, c) => {
        const before = build(initial.map((x, i) => ({ uid: i + 1, x })));
        const after = build([...initial.slice(3).map((x, i) => ({ uid: i + 4, x })), ...added.map((x, i) => ({ uid: 100 + i, x }))]);
        const updated = updateOrder(before, sortOrder(before, c), after, c);
        expect(updated).not.toBeNull();
        expect(Array.from(updated!)).toEqual(Array.from(sortOrder(after, c)));
      }),
      { seed: 5256, numRuns: 300 },
    );
  });

  it('does not carry an order to other messages under the same UIDs (a folder deleted and made again)', () => {
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: 30 }), fc.array(spec, { minLength: 1, maxLength: 30 }), criteria, (first, second, c) => {
        const owner = {};
        const a = build(first.map((x, i) => ({ uid: i + 1, x })));
        folderOrder(owner, 3, a, c);
        // Other messages (other ids and keys) with the same UIDs in a folder of the same id.
        const b = build(second.map((x, i) => ({ uid: i + 1, x: { ...x } }))).map((r) => ({ ...r, messageId: r.uid + 1000 }));
        expect(Array.from(folderOrder(owner, 3, b, c))).toEqual(Array.from(sortOrder(b, c)));
      }),
      { seed: 3501, numRuns: 200 },
    );
  });

  it('maps positions across a membership change by UID', () => {
    const k = keys({ d: null, idate: 0, size: 0, s: '', f: '', t: '' });
    const at = (uids: number[]) => uids.map((uid) => ({ uid, messageId: uid, size: 0, internalDate: 0, keys: k }) as SortRow);
    const { moved, added } = mapPositions(at([1, 2, 5, 7]), at([2, 5, 8, 9]));
    expect(Array.from(moved)).toEqual([-1, 0, 1, -1]);
    expect(added).toEqual([2, 3]);
  });

  it('keeps a folder thread tree for one rows array only', () => {
    const owner = {};
    const row = (uid: number, id: string, refs: string[], s: string): SortRow => ({
      uid,
      messageId: uid,
      size: 1,
      internalDate: uid,
      keys: { d: uid, s, f: '', t: '', c: '', df: '', dt: '', id, r: refs },
    });
    const a = [row(1, 'p', [], 'x'), row(2, 'c', ['p'], 'x'), row(3, 'q', [], 'y')];
    const ids = (rs: SortRow[]) => rs.map((r) => r.uid);
    expect(formatThreads(folderThreads(owner, 1, a, 'REFERENCES'), ids(a))).toBe(formatThreads(threadReferences(a), ids(a)));
    expect(folderThreads(owner, 1, a, 'REFERENCES')).toBe(folderThreads(owner, 1, a, 'REFERENCES'));
    const b = [...a, row(4, 'r', ['q'], 'y')];
    expect(formatThreads(folderThreads(owner, 1, b, 'REFERENCES'), ids(b))).toBe('(1 2)(3 4)');
    expect(formatThreads(folderThreads(owner, 1, b, 'ORDEREDSUBJECT'), ids(b))).toBe(formatThreads(threadOrderedSubject(b), ids(b)));
  });
});
