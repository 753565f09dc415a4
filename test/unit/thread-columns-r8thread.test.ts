/**
 * THREAD from a sort-key copy's columns (issue 18, eighth round): the THREAD keys read as codes
 * (sort-key-copy.ts threadKeyColumns, with the DATE and subject columns of sortKeyColumn) thread
 * a folder exactly as its sort rows do (RFC 5256 2.1 ORDEREDSUBJECT, 2.2 REFERENCES), for the
 * whole folder and for a subset of it, also when the copy lacks some messages (their keys known
 * otherwise) and holds some no longer there.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatThreads, orderedSubjectThreads, referenceThreads, threadInputOf, threadOrderedSubject, threadReferences } from '../../appliance/imap/sort.js';
import { decodeSortColumns, encodeSortKeys, sortKeyColumn, threadKeyColumns } from '../../appliance/mailstore/sort-key-copy.js';
import type { SortKeys } from '../../appliance/mailstore/sort-keys.js';
import type { SortRow } from '../../appliance/mailstore/store.types.js';

/** Few ids, subjects and dates, so that references are shared, parents missing, ids duplicated, subjects and dates tied. */
const keysArb: fc.Arbitrary<SortKeys> = fc
  .record({
    d: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
    s: fc.constantFrom('', 'a', 'b', 'B', 'c', 'ü'),
    id: fc.option(fc.constantFrom('', 'm0', 'm1', 'm2', 'm3', 'm4', 'm5', 'a', 'b'), { nil: null }),
    r: fc.array(fc.constantFrom('m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'x', '', 'b'), { maxLength: 4 }),
    re: fc.boolean(),
  })
  .map(({ re, ...k }) => ({ ...k, f: '', t: '', c: '', df: '', dt: '', ...(re ? { re: 1 as const } : {}) }));

const folderArb: fc.Arbitrary<Folder> = fc.record({
  keys: fc.array(keysArb, { minLength: 0, maxLength: 40 }),
  /** Per message: in the copy or not (then its keys are "known"), selected by the search or not. */
  inCopy: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
  selected: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
  /** Keys of messages in the copy but no longer in the folder. */
  gone: fc.array(keysArb, { maxLength: 3 }),
});

/** The THREAD answers (UIDs) of the rows and of the copy's columns, whole and for the selected subset. */
interface Folder {
  keys: SortKeys[];
  inCopy: boolean[];
  selected: boolean[];
  gone: SortKeys[];
}

function answers({ keys, inCopy, selected, gone }: Folder) {
  const rows: SortRow[] = keys.map((k, i) => ({ uid: i + 1, messageId: 100 + i, size: 1, internalDate: (i * 7) % 5, keys: k }));
  const copied = [...rows.filter((_, i) => inCopy[i]).map((r) => ({ messageId: r.messageId, keys: r.keys })), ...gone.map((k, i) => ({ messageId: 900 + i, keys: k }))];
  const copy = decodeSortColumns(encodeSortKeys(copied))!;
  const messageIds = rows.map((r) => r.messageId);
  const known = (id: number) => (inCopy[id - 100] ? undefined : rows[id - 100]?.keys);
  const dates = sortKeyColumn(
    copy,
    'd',
    messageIds,
    rows.map((r) => r.internalDate),
    known,
  )!;
  const subjects = sortKeyColumn(
    copy,
    's',
    messageIds,
    rows.map((r) => r.internalDate),
    known,
  )!;
  const input = { dates: dates.keys, subjects: subjects.keys, ...threadKeyColumns(copy, messageIds, subjects.keys, known)! };
  const uids = rows.map((r) => r.uid);
  const picked = rows.filter((_, i) => selected[i]);
  const positions = rows.flatMap((_, i) => (selected[i] ? [i] : []));
  const subset = threadInputOf(input, positions);
  const pickedUids = picked.map((r) => r.uid);
  return {
    rows: [threadReferences(rows), threadOrderedSubject(rows), threadReferences(picked), threadOrderedSubject(picked)].map((t) => formatThreads(t, (r) => r.uid)),
    columns: [
      formatThreads(referenceThreads(input), uids),
      formatThreads(orderedSubjectThreads(input), uids),
      formatThreads(referenceThreads(subset), pickedUids),
      formatThreads(orderedSubjectThreads(subset), pickedUids),
    ],
  };
}

describe('THREAD from the sort-key copy columns', () => {
  it('threads random folders as their sort rows do (REFERENCES and ORDEREDSUBJECT, whole and subset)', () => {
    fc.assert(
      fc.property(folderArb, (folder) => {
        const { rows, columns } = answers(folder);
        expect(columns).toEqual(rows);
      }),
      { numRuns: 500 },
    );
  });

  it('treats an empty Message-ID as none and an empty subject as none (step 5), from the copy as from the rows', () => {
    const k = (id: string | null, r: string[], s: string, d: number): SortKeys => ({ d, s, f: '', t: '', c: '', df: '', dt: '', id, r });
    const folder = {
      keys: [k('', [], '', 1), k('', ['lost'], '', 2), k('p', [], 'a', 3), k('q', ['lost'], 'a', 4), k(null, [''], '', 5)],
      inCopy: Array.from({ length: 40 }, (_, i) => i !== 1),
      selected: Array.from({ length: 40 }, (_, i) => i !== 2),
      gone: [k('lost', [], 'a', 0)],
    };
    const { rows, columns } = answers(folder);
    expect(columns).toEqual(rows);
    // 2 and 4 share the missing parent; the dummy takes the subject of its first child (2: none), so 3 stays apart.
    expect(rows[0]).toBe('(1)((2)(4))(3)(5)');
  });

  it('refuses a copy whose Message-ID index is past its string table', () => {
    const buf = encodeSortKeys([{ messageId: 1, keys: { d: 1, s: 'a', f: '', t: '', c: '', df: '', dt: '', id: 'x', r: [] } }]);
    const copy = decodeSortColumns(buf)!;
    expect(copy.thread()).not.toBeNull();
    // The id column is one byte (index + 1 = 2 for "x", the second string): make it point past the table.
    const text = buf.subarray(8, 8 + buf.readUInt32LE(0)).toString();
    const head = JSON.parse(text) as { widths: number[] };
    expect(head.widths[6]).toBe(1);
    const bodyAt = 8 + buf.readUInt32LE(0) + ((8 - (buf.readUInt32LE(0) % 8)) % 8);
    const damaged = Buffer.from(buf);
    // ids (4 bytes, padded to 8), dates (8), then the six one-byte string columns (each padded to 8), then the id column.
    damaged[bodyAt + 8 + 8 + 6 * 8] = 200;
    expect(decodeSortColumns(damaged)!.thread()).toBeNull();
  });
});
