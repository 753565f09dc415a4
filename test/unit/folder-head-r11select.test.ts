/**
 * The narrow copy of a large folder's index, version 2 (appliance/mailstore/folder-snapshot.ts
 * encodeHead, issue 18, eleventh round): a fresh process's SELECT reads the UIDs and flag lists
 * through views of the copy's bytes and decodes the MODSEQs only when a command reads them; a
 * CRC-32 of the copy stands for the per-entry checks. The folder index built on it applies the
 * change journal to the MODSEQs as before, and columns handed out keep their values.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryColumns } from '../../appliance/mailstore/entry-columns.js';
import { FolderIndex, type FolderIndexSource, SNAPSHOT_MIN_ENTRIES } from '../../appliance/mailstore/folder-index.js';
import { decodeHead, encodeHead } from '../../appliance/mailstore/folder-snapshot.js';
import type { FolderChanges, MessageEntry } from '../../appliance/mailstore/store.types.js';

const entry = (uid: number, flags: string[], modseq = uid): MessageEntry => ({ uid, messageId: uid, flags, modseq, internalDate: 0, size: 1, savedAt: null });

/** Where a narrow copy's MODSEQ differences start, and their width. */
function modseqBytes(buf: Buffer): { at: number; w: number } {
  const hl = buf.readUInt32LE(0);
  const head = JSON.parse(buf.subarray(8, 8 + hl).toString()) as { n: number; lw: number; m: { w: number }; ur?: number };
  const pad8 = (x: number) => x + ((8 - (x % 8)) % 8);
  // UIDs: every one in 4 bytes, or (version 3, fourteenth round) runs of consecutive UIDs in 8 bytes each.
  const uidBytes = head.ur ? 8 * head.ur : 4 * head.n;
  return { at: pad8(8 + hl) + pad8(uidBytes) + pad8(head.lw * head.n), w: head.m.w };
}

describe('the narrow copy, version 2', () => {
  it('reads UIDs through a view of its bytes and decodes the MODSEQs on first read, once', () => {
    const buf = encodeHead(EntryColumns.fromEntries([entry(3, ['\\Seen']), entry(5, []), entry(9, ['$x'])]), 3);
    const head = decodeHead(buf)!;
    expect(head.uid.buffer).toBe(buf.buffer);
    expect([...head.uid]).toEqual([3, 5, 9]);
    // Changed after the decoding (the CRC was checked then): the MODSEQs show it, so they were not decoded yet.
    const { at, w } = modseqBytes(buf);
    expect(w).toBe(1);
    buf[at + 2] = 10; // the third MODSEQ is now the second plus 10
    expect([...head.modseq]).toEqual([3, 5, 15]);
    expect(head.modseqs()).toBe(head.modseq);
  });

  it('is refused when any byte after its length was changed (CRC-32)', () => {
    const good = encodeHead(EntryColumns.fromEntries(Array.from({ length: 40 }, (_, i) => entry(2 * i + 1, i % 3 ? [] : ['\\Seen'], 100 + i))));
    expect(decodeHead(good)).not.toBeNull();
    fc.assert(
      fc.property(fc.integer({ min: 4, max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = Buffer.from(good);
        bad[at] ^= x;
        expect(decodeHead(bad)).toBeNull();
      }),
    );
  });
});

describe('the folder index from a narrow copy, version 2', () => {
  const n = SNAPSHOT_MIN_ENTRIES + 5;
  const entries = Array.from({ length: n }, (_, i) => entry(i + 1, i % 3 ? [] : ['\\Seen'], 10 + i));
  const setup = () => {
    const data = encodeHead(EntryColumns.fromEntries(entries), 3);
    let state = { modseq: 10 + n - 1, count: n };
    let journal: FolderChanges = { highestModseq: state.modseq, uidNext: n + 1, changed: [], expunged: [] };
    const src: FolderIndexSource = {
      state: async () => state,
      loadEntries: async () => entries,
      changesSince: async () => journal,
      loadHead: async () => ({ modseq: 10 + n - 1, entries: n, data }),
      saveSnapshot: async () => undefined,
    };
    const change = (changed: MessageEntry[], modseq: number, expunged: number[] = [], count = n) => {
      state = { modseq, count };
      journal = { highestModseq: modseq, uidNext: n + 10, changed, expunged };
    };
    return { src, data, change };
  };

  it('answers SELECT without decoding the MODSEQs, and reads them from the copy when asked', async () => {
    const { src, data } = setup();
    const cols = await new FolderIndex(src).uidFlagColumns(1);
    // UIDs 1 to n are one run (version 3): the column is filled from it, not a view of the copy.
    expect(Array.from(cols.uids)).toEqual(entries.map((e) => e.uid));
    const { at } = modseqBytes(data);
    data[at + 1] += 7; // entry 2's MODSEQ, changed after SELECT: it shows, so SELECT decoded none
    expect(cols.modseqs[0]).toBe(10);
    expect(cols.modseqs[1]).toBe(18);
    expect(cols.modseqs[2]).toBe(19);
  });

  it('applies the journal to MODSEQs not decoded yet, and columns handed out before keep theirs', async () => {
    const { src, change } = setup();
    const ix = new FolderIndex(src);
    const before = await ix.uidFlagColumns(1);
    change([{ ...entries[4]!, flags: ['\\Flagged'], modseq: 5000 }], 5000);
    const after = await ix.uidFlagColumns(1);
    expect(after.modseqs[4]).toBe(5000);
    expect(after.lists[after.list[4]!]).toEqual(['\\Flagged']);
    expect(Array.from(after.modseqs)).toEqual(entries.map((e, i) => (i === 4 ? 5000 : e.modseq)));
    // The columns SELECT was given stay as they were (copy on write, the MODSEQs included).
    expect(Array.from(before.modseqs)).toEqual(entries.map((e) => e.modseq));
    expect(before.lists[before.list[4]!]).toEqual([]);
  });

  it('hands out MODSEQs decoded after a change as they were when handed out', async () => {
    const { src, change } = setup();
    const ix = new FolderIndex(src);
    const before = await ix.uidFlagColumns(1);
    change([{ ...entries[0]!, modseq: 6000 }], 6000);
    await ix.uidFlagColumns(1);
    // First read of the old columns' MODSEQs after the change was applied.
    expect(before.modseqs[0]).toBe(10);
    expect((await ix.uidFlagColumns(1)).modseqs[0]).toBe(6000);
  });

  it('adds and removes entries of an index started from a narrow copy (its unused columns start empty)', async () => {
    const { src, change } = setup();
    const ix = new FolderIndex(src);
    await ix.uidFlagColumns(1);
    const added = entry(n + 3, ['$New'], 7000);
    change([added], 7000, [2, 5], n - 1);
    const cols = await ix.uidFlagColumns(1);
    const want = [...entries.filter((e) => e.uid !== 2 && e.uid !== 5), added];
    expect(cols.length).toBe(want.length);
    expect(Array.from(cols.uids)).toEqual(want.map((e) => e.uid));
    expect(Array.from(cols.modseqs)).toEqual(want.map((e) => e.modseq));
    expect(Array.from(cols.list, (l) => [...cols.lists[l]!])).toEqual(want.map((e) => e.flags));
  });
});
