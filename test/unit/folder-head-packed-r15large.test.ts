/**
 * The narrow copy of a large folder's index, version 4 (appliance/mailstore/folder-snapshot.ts
 * encodeHead, issue 18, fifteenth round): flag-list numbers packed into 1, 2 or 4 bits when the
 * lists are at most 16, MODSEQs stored as runs of consecutive values when they make few. A cold
 * SELECT of the 100,000-message bench folder read 0.2 MB of it through SQLite's overflow pages
 * (51 reads after the page-cache drop); now 25 KB (9 reads). Version 3 copies are still read.
 */
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryColumns } from '../../appliance/mailstore/entry-columns.js';
import { decodeHead, encodeHead } from '../../appliance/mailstore/folder-snapshot.js';
import type { MessageEntry } from '../../appliance/mailstore/store.types.js';

const entry = (uid: number, flags: string[], modseq: number): MessageEntry => ({ uid, messageId: uid, flags, modseq, internalDate: 0, size: 1, savedAt: null });
const headOf = (buf: Buffer) => JSON.parse(buf.subarray(8, 8 + buf.readUInt32LE(0)).toString()) as Record<string, unknown>;
const brief = (h: { length: number; uid: Uint32Array; list: Uint32Array; lists: ReadonlyArray<readonly string[]>; modseqs: () => Float64Array }) => ({
  uids: Array.from(h.uid.subarray(0, h.length)),
  flags: Array.from(h.list.subarray(0, h.length), (l) => [...h.lists[l]!]),
  modseqs: Array.from(h.modseqs().subarray(0, h.length)),
});
const ofColumns = (c: EntryColumns) => ({ length: c.length, uid: c.uid, list: c.list, lists: c.lists, modseqs: () => c.modseq });

/** The bench folder: UIDs 1..n, MODSEQs 1..n, every third \Seen, every tenth \Flagged (four lists). */
function benchFolder(n: number): EntryColumns {
  return EntryColumns.fromEntries(Array.from({ length: n }, (_, i) => entry(i + 1, [...(i % 3 ? [] : ['\\Seen']), ...(i % 10 ? [] : ['\\Flagged'])], i + 1)));
}

describe('the narrow copy, version 4 (r15large)', () => {
  it('stores the bench folder in 25 KB: two bits a flag list, the MODSEQs as one run', () => {
    const c = benchFolder(100_000);
    const buf = encodeHead(c);
    expect(headOf(buf)).toMatchObject({ v: 4, ur: 1, lb: 2, mr: 1 });
    expect(buf.length).toBeLessThan(26_000); // version 3: 200 KB (a byte a list number, a byte a MODSEQ difference)
    expect(encodeHead(c, 3).length).toBeGreaterThan(200_000);
    expect(brief(decodeHead(buf)!)).toEqual(brief(ofColumns(c)));
  });

  it('decodes any columns as they were, packed or not, as runs or not', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 20 }), fc.boolean()), { minLength: 0, maxLength: 400 }),
        fc.integer({ min: 1, max: 40 }),
        (steps, kinds) => {
          let uid = 0;
          let modseq = 10;
          const entries = steps.map(([gap, k, jump]) => entry((uid += gap), k % kinds ? [`$k${k % kinds}`] : [], (modseq += jump ? 7 : 1)));
          const c = EntryColumns.fromEntries(entries);
          const buf = encodeHead(c);
          const h = headOf(buf);
          const lists = new Set(entries.map((e) => e.flags.join(' '))).size;
          expect(h.lb).toBe(lists <= 2 ? 1 : lists <= 4 ? 2 : lists <= 16 ? 4 : 0);
          expect(brief(decodeHead(buf)!)).toEqual(brief(ofColumns(c)));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('refuses MODSEQ runs that do not make the entries and list numbers beyond the lists, even with a right CRC-32', () => {
    const c = benchFolder(1000);
    const buf = encodeHead(c);
    const h = headOf(buf);
    expect(h).toMatchObject({ ur: 1, lb: 2, mr: 1 });
    const hl = buf.readUInt32LE(0);
    const body = 8 + hl + ((8 - (hl % 8)) % 8);
    const listAt = body + 8; // one UID run, 8 bytes
    const modseqAt = listAt + 256; // 1,000 numbers of 2 bits: 250 bytes, padded to 256
    const resign = (b: Buffer) => (b.writeUInt32LE(crc32(b.subarray(8)), 4), b);
    const shortRun = Buffer.from(buf);
    shortRun.writeDoubleLE(999, modseqAt + 8);
    expect(decodeHead(resign(shortRun))).toBeNull();
    const fraction = Buffer.from(buf);
    fraction.writeDoubleLE(1.5, modseqAt);
    expect(decodeHead(resign(fraction))).toBeNull();
    // Four lists in use: a 2-bit number can't go beyond them; with three lists it can (3).
    const three = EntryColumns.fromEntries(Array.from({ length: 1000 }, (_, i) => entry(i + 1, i % 3 ? [] : i % 2 ? ['\\Seen'] : ['\\Flagged'], i + 1)));
    const b3 = encodeHead(three);
    expect(headOf(b3)).toMatchObject({ lb: 2 });
    const bad = Buffer.from(b3);
    bad[listAt] = 0xff; // entries 0-3: list number 3, of three lists
    expect(decodeHead(resign(bad))).toBeNull();
    expect(decodeHead(buf)).not.toBeNull();
  });

  it('still reads a version 3 copy, and writes version 4', () => {
    const c = benchFolder(5000);
    const v3 = encodeHead(c, 3);
    expect(headOf(v3)).toMatchObject({ v: 3 });
    expect(headOf(v3)).not.toHaveProperty('lb');
    expect(brief(decodeHead(v3)!)).toEqual(brief(decodeHead(encodeHead(c))!));
  });
});
