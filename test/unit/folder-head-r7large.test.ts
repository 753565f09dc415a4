/**
 * The narrow copy of a large folder's index (appliance/mailstore/folder-snapshot.ts encodeHead,
 * table folder_index_heads, issue 18): UIDs, MODSEQs and flag lists alone, what SELECT, FETCH
 * FLAGS and flag searches need. It decodes to the UIDs, MODSEQs and flags of the columns it was made from, whatever their gaps and however many
 * distinct flag lists; a copy that is not one this code wrote decodes to nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryColumns } from '../../appliance/mailstore/entry-columns.js';
import { FolderIndex, type FolderIndexSource, SNAPSHOT_MIN_ENTRIES } from '../../appliance/mailstore/folder-index.js';
import { decodeHead, encodeColumns, encodeHead } from '../../appliance/mailstore/folder-snapshot.js';
import type { MessageEntry } from '../../appliance/mailstore/store.types.js';

const entry = (uid: number, flags: string[], modseq = uid): MessageEntry => ({ uid, messageId: uid, flags, modseq, internalDate: 0, size: 1, savedAt: null });

/** UIDs and flags of columns, as plain values. */
const brief = (c: { length: number; uid: Uint32Array; modseq: Float64Array; list: Uint32Array; lists: ReadonlyArray<readonly string[]> }) =>
  Array.from(c.uid.subarray(0, c.length), (uid, i) => ({ uid, modseq: c.modseq[i], flags: [...c.lists[c.list[i]!]!] }));

const columns = (entries: MessageEntry[]) => EntryColumns.fromEntries(entries);

describe('the narrow copy of a folder index', () => {
  it('decodes to the UIDs and flags it was made from (any gaps, any number of flag lists)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 0x3ffffff }), fc.nat(300), fc.integer({ min: 1, max: 2 ** 40 })), { maxLength: 80 }),
        fc.constantFrom(1, 2, 1000, 70_000),
        (steps, spread) => {
          let uid = 0;
          const entries = steps.map(([gap, f, modseq]) => entry((uid += Math.min(gap, 1 + (gap % spread))), f % 7 === 0 ? [] : [`$k${f}`, ...(f % 2 ? ['\\Seen'] : [])], f % 3 ? modseq : uid));
          const c = columns(entries);
          expect(brief(decodeHead(encodeHead(c))!)).toEqual(brief(c));
        },
      ),
    );
  });

  it('holds UIDs far apart and more than 256 and 65,536 distinct flag lists', () => {
    const far = columns([entry(1, []), entry(0xfffffff0, ['\\Seen'])]);
    expect(brief(decodeHead(encodeHead(far))!)).toEqual(brief(far));
    for (const lists of [300, 70_000]) {
      const c = columns(Array.from({ length: lists }, (_, i) => entry(i + 1, [`$k${i}`])));
      const head = encodeHead(c);
      expect(brief(decodeHead(head)!)).toEqual(brief(c));
    }
  });

  it('is under half of the full copy for a folder filled in order (UIDs as they are since the eleventh round)', () => {
    const c = columns(Array.from({ length: 10_000 }, (_, i) => entry(i + 1, i % 3 ? [] : ['\\Seen'])));
    expect(encodeHead(c).length * 2).toBeLessThan(encodeColumns(c).length);
  });

  it('decodes a copy that is not one this code wrote to nothing', () => {
    const c = columns([entry(3, ['\\Seen']), entry(5, []), entry(9, ['$x'])]);
    const good = encodeHead(c);
    const hl = good.readUInt32LE(0);
    const head = JSON.parse(good.subarray(8, 8 + hl).toString()) as Record<string, unknown>;
    const withHead = (h: Record<string, unknown>) => {
      const json = Buffer.from(JSON.stringify(h).padEnd(hl));
      const out = Buffer.from(good);
      json.copy(out, 8);
      return out;
    };
    const body = 8 + hl + ((8 - (hl % 8)) % 8);
    const poke = (at: number, v: number) => {
      const out = Buffer.from(good);
      out[body + at] = v;
      return out;
    };
    expect(decodeHead(good)).not.toBeNull();
    for (const bad of [
      Buffer.from('nonsense and more nonsense'),
      good.subarray(0, good.length - 1),
      encodeColumns(c), // the full copy is not a narrow one
      withHead({ ...head, v: 99 }),
      withHead({ ...head, lw: 3 }),
      poke(4, 1), // a UID that does not ascend (UIDs 3, 5, 9 as 4 bytes each, then padding)
      poke(2, 0xff),
      poke(16 + 2, 7), // a flag-list number beyond the lists
    ])
      expect(decodeHead(bad)).toBeNull();
  });
});

describe('the folder index from its narrow copy', () => {
  /** A folder of `n` entries with both copies as of MODSEQ `n`, and the reads made of it. */
  const source = (n: number) => {
    const entries = Array.from({ length: n }, (_, i) => entry(i + 1, i % 3 ? [] : ['\\Seen']));
    const c = columns(entries);
    const reads: string[] = [];
    const snap = (data: Buffer) => ({ modseq: n, entries: n, data });
    const src: FolderIndexSource = {
      state: async () => ({ modseq: n, count: n }),
      loadEntries: async () => (reads.push('rows'), entries),
      changesSince: async () => ({ highestModseq: n, uidNext: n + 1, changed: [], expunged: [] }),
      loadSnapshot: async () => (reads.push('full'), snap(encodeColumns(c))),
      loadHead: async () => (reads.push('narrow'), snap(encodeHead(c))),
      saveSnapshot: async () => undefined,
    };
    return { src, reads, entries };
  };

  it('answers UIDs, MODSEQs and flags from the narrow copy alone, and reads the full copy only when a caller needs more', async () => {
    const { src, reads, entries } = source(SNAPSHOT_MIN_ENTRIES + 5);
    const ix = new FolderIndex(src);
    const cols = await ix.uidFlagColumns(1);
    expect(brief({ ...cols, uid: cols.uids, modseq: cols.modseqs })).toEqual(entries.map((e) => ({ uid: e.uid, modseq: e.modseq, flags: e.flags })));
    await ix.uidFlagColumns(1);
    expect(reads).toEqual(['narrow']);
    expect(await ix.entries(1)).toEqual(entries);
    expect(reads).toEqual(['narrow', 'full']);
    // From then on the full index answers both.
    await ix.uidFlagColumns(1);
    expect(await ix.pick(1, [2, 3])).toEqual(entries.slice(1, 3));
    expect(reads).toEqual(['narrow', 'full']);
  });
});
