/**
 * The folder index's columns (appliance/mailstore/entry-columns.ts, issue 18): journal changes
 * applied to them give the entries a plain list of entries would hold, columns handed to a
 * reader do not change under it when later changes are applied (copy on write), and the
 * persisted copy decodes to the same columns, while a damaged copy decodes to nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryColumns } from '../../appliance/mailstore/entry-columns.js';
import { decodeColumns, encodeColumns } from '../../appliance/mailstore/folder-snapshot.js';
import type { MessageEntry } from '../../appliance/mailstore/store.types.js';

const FLAGS = [[], ['\\Seen'], ['\\Seen', '\\Flagged'], ['$Label'], ['\\Deleted', '$Label']];

const entry = (uid: number, f: number, modseq: number): MessageEntry => ({
  uid,
  messageId: uid * 7 + f,
  flags: [...FLAGS[f % FLAGS.length]!],
  modseq,
  internalDate: 1_700_000_000_000 + uid * 1000 + 0.5 * (uid % 2),
  size: 100 + uid,
  savedAt: uid % 3 ? 1_700_000_100_000 + uid : null,
});

/** One journal read: entries added or changed (by UID) and UIDs expunged. */
const changes = fc.record({
  changed: fc.uniqueArray(fc.record({ uid: fc.integer({ min: 1, max: 60 }), f: fc.nat(9) }), { selector: (c) => c.uid, maxLength: 12 }),
  expunged: fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 6 }),
});

const plain = (entries: MessageEntry[]) => entries.map((e) => ({ ...e, flags: [...e.flags] }));

describe('folder index columns', () => {
  it('hold what a list of entries holds after any journal changes, and leave columns already handed out as they were', () => {
    fc.assert(
      fc.property(fc.array(changes, { maxLength: 8 }), (steps) => {
        const model = new Map<number, MessageEntry>();
        const cols = new EntryColumns(0);
        let modseq = 1;
        for (const step of steps) {
          const before = cols.flagColumns();
          const frozen = { uids: [...before.uids], list: [...before.list], modseqs: [...before.modseqs] };
          const sortedChanged = step.changed.map((c) => entry(c.uid, c.f, ++modseq)).sort((a, b) => a.uid - b.uid);
          const expunged = [...step.expunged].sort((a, b) => a - b);
          const had = new Set(model.keys());
          for (const e of sortedChanged) model.set(e.uid, e);
          for (const u of expunged) model.delete(u);
          const membership = cols.apply({ changed: sortedChanged, expunged });
          const want = [...model.values()].sort((a, b) => a.uid - b.uid);
          expect(plain(cols.entries())).toEqual(plain(want));
          // Sort rows are kept while this says nothing was added or removed: it must say so whenever it was.
          if (had.size !== model.size || [...model.keys()].some((u) => !had.has(u))) expect(membership).toBe(true);
          // The reader's columns: as they were when handed out.
          expect({ uids: [...before.uids], list: [...before.list], modseqs: [...before.modseqs] }).toEqual(frozen);
          for (let i = 0; i < cols.length; i++) expect(cols.find(cols.uid[i]!)).toBe(i);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('decodes the persisted copy to the same entries, and a damaged copy to nothing', () => {
    const entries = Array.from({ length: 50 }, (_, i) => entry(i * 2 + 1, i, 10 + i));
    const cols = EntryColumns.fromEntries(entries);
    // A flag change leaves a list nobody uses any more: the copy keeps only lists in use.
    cols.apply({ changed: [{ ...entries[3]!, flags: ['$Only'], modseq: 99 }], expunged: [] });
    cols.apply({ changed: [{ ...entries[3]!, flags: [], modseq: 100 }], expunged: [] });
    const data = encodeColumns(cols);
    // Decoded from a buffer of its own (the columns are views of it) and from one at an odd offset (copied).
    const own = Buffer.alloc(data.length);
    data.copy(own);
    const odd = Buffer.alloc(data.length + 3).subarray(3);
    data.copy(odd);
    expect(plain(decodeColumns(odd)!.entries())).toEqual(plain(cols.entries()));
    const back = decodeColumns(own)!;
    expect(plain(back.entries())).toEqual(plain(cols.entries()));
    expect(back.lists.map((l) => l.join(' '))).not.toContain('$Only');
    // Appending to decoded columns (their arrays are views of the copy) grows them.
    back.apply({ changed: [entry(500, 1, 200)], expunged: [1] });
    expect(back.entries().map((e) => e.uid)).toEqual([...entries.slice(1).map((e) => e.uid), 500]);

    const headLen = data.readUInt32LE(0);
    const head = JSON.parse(data.subarray(8, 8 + headLen).toString()) as { n: number; sets: string[]; cols: Array<{ w: number }> };
    const body = 8 + headLen + ((8 - (headLen % 8)) % 8);
    const n = head.n;
    // Columns in order (UIDs, flag lists, …), each entry's difference from the previous one, `w` bytes each.
    const [uidW, listW] = [head.cols[0]!.w, head.cols[1]!.w];
    expect([uidW, listW]).toEqual([1, 1]); // UIDs step by 2, five flag lists: a byte each
    const uidAt = body;
    const listAt = uidAt + n * uidW + ((8 - ((n * uidW) % 8)) % 8);
    const damaged = (edit: (b: Buffer) => void) => {
      const b = Buffer.from(data);
      edit(b);
      return decodeColumns(b);
    };
    expect(damaged((b) => b.writeInt8(head.sets.length, listAt + 7))).toBeNull(); // a flag list that is not there
    expect(damaged((b) => b.writeInt8(0, uidAt + 1))).toBeNull(); // UIDs not ascending
    expect(decodeColumns(data.subarray(0, data.length - 4))).toBeNull(); // cut short
    expect(damaged((b) => b.write(JSON.stringify({ ...head, v: 1 }).slice(0, headLen), 8))).toBeNull(); // another version's copy
    expect(damaged((b) => b.write('x', 8))).toBeNull(); // not a header
  });

  it('stores each column as narrow as the differences between neighbours allow, and reads back any values', () => {
    // A folder as ingest leaves it: UIDs, message ids, MODSEQs and dates rising together, small sizes.
    const typical = EntryColumns.fromEntries(
      Array.from({ length: 1000 }, (_, i) => ({
        uid: i + 1,
        messageId: 5000 + i * 3,
        flags: [...FLAGS[i % 3]!],
        modseq: 10 + i,
        internalDate: 1_700_000_000_000 + i * 40,
        size: 900 + (i % 50) * 100,
        savedAt: 1_700_000_000_000 + i * 40,
      })),
    );
    const data = encodeColumns(typical);
    // uid, list, message id, MODSEQ: a byte each; dates: two; size: two (against 48 bytes an entry as plain columns).
    expect(data.length).toBeLessThan(1000 * 10 + 400);
    expect(plain(decodeColumns(data)!.entries())).toEqual(plain(typical.entries()));
    // Any values: steps of every width, backwards, fractions, NaN (no saved date), the largest safe integers
    // (not -0: the columns come from integer and bigint database columns).
    const value = fc.oneof(
      fc.integer({ min: -200, max: 200 }),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.double({ noNaN: true, min: -1e15, max: 1e15 }).filter((x) => !Object.is(x, -0)),
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ step: fc.integer({ min: 1, max: 70_000 }), messageId: value, modseq: value, internalDate: value, size: value, savedAt: fc.option(value) }), { maxLength: 40 }),
        (rows) => {
          let uid = 0;
          const entries = rows.map(({ step, ...r }, i) => ({ ...r, uid: (uid += step), flags: [...FLAGS[i % FLAGS.length]!] }));
          const cols = EntryColumns.fromEntries(entries);
          expect(plain(decodeColumns(encodeColumns(cols))!.entries())).toEqual(plain(entries));
        },
      ),
    );
  });
});
