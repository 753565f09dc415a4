/**
 * The narrow copy of a large folder's index, version 3 (appliance/mailstore/folder-snapshot.ts
 * encodeHead, issue 18, fourteenth round): UIDs that make few runs of consecutive values are
 * stored as the runs (a 100,000-message folder filled in order: 0.2 MB instead of 0.6, what a cold
 * SELECT reads through SQLite's overflow pages); others as before. Version 2 copies are still read.
 */
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryColumns } from '../../appliance/mailstore/entry-columns.js';
import { decodeHead, encodeHead, warmUpHeads } from '../../appliance/mailstore/folder-snapshot.js';

function columns(uids: number[], flagsOf = (i: number) => (i % 3 ? [] : ['\\Seen'])): EntryColumns {
  return EntryColumns.fromEntries(uids.map((uid, i) => ({ uid, messageId: uid, flags: flagsOf(i), modseq: 5 + i, internalDate: 0, size: 1, savedAt: null })));
}

const headOf = (buf: Buffer) => JSON.parse(buf.subarray(8, 8 + buf.readUInt32LE(0)).toString()) as Record<string, unknown>;

/** The same copy with another head (same length, padded) and its CRC-32 made right again. */
function withHead(buf: Buffer, h: Record<string, unknown>): Buffer {
  const hl = buf.readUInt32LE(0);
  const json = Buffer.from(JSON.stringify(h));
  expect(json.length).toBeLessThanOrEqual(hl);
  const out = Buffer.from(buf);
  Buffer.from(JSON.stringify(h).padEnd(hl)).copy(out, 8);
  out.writeUInt32LE(crc32(out.subarray(8)), 4);
  return out;
}

const brief = (h: { length: number; uid: Uint32Array; list: Uint32Array; lists: Array<readonly string[]>; modseqs: () => Float64Array }) => ({
  uids: Array.from(h.uid.subarray(0, h.length)),
  flags: Array.from(h.list.subarray(0, h.length), (l) => [...h.lists[l]!]),
  modseqs: Array.from(h.modseqs().subarray(0, h.length)),
});

describe('the narrow copy, version 3 (r14large)', () => {
  it('stores a folder filled in order as runs of UIDs: a third of the size, the same columns', () => {
    const uids = Array.from({ length: 100_000 }, (_, i) => i + 1);
    const c = columns(uids);
    const buf = encodeHead(c, 3);
    expect(headOf(buf)).toMatchObject({ v: 3, ur: 1 });
    expect(buf.length).toBeLessThan(210_000); // 4 bytes a UID took 0.6 MB
    const head = decodeHead(buf)!;
    expect(head.length).toBe(100_000);
    expect(head.uid[0]).toBe(1);
    expect(head.uid[99_999]).toBe(100_000);
    expect(Array.from(head.uid).every((u, i) => u === i + 1)).toBe(true);
  });

  it('decodes any ascending UIDs as they were, as runs or as they are', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 400 })), { minLength: 0, maxLength: 30 }), (gaps) => {
        const uids: number[] = [];
        let next = 0;
        for (const [gap, len] of gaps) {
          next += gap;
          for (let k = 0; k < len; k++) uids.push(next++);
        }
        const c = columns(uids);
        const buf = encodeHead(c);
        const ur = headOf(buf).ur as number;
        // Runs are chosen when they take at most a quarter of 4 bytes a UID.
        expect(ur).toBe(uids.length && 8 * gaps.length <= uids.length ? gaps.length : 0);
        expect(brief(decodeHead(buf)!)).toEqual(brief({ length: c.length, uid: c.uid, list: c.list, lists: c.lists as Array<readonly string[]>, modseqs: () => c.modseq }));
      }),
      { numRuns: 60 },
    );
  });

  it('refuses runs that do not make the entries, even with a right CRC-32', () => {
    const buf = encodeHead(columns([...Array.from({ length: 50 }, (_, i) => i + 1), ...Array.from({ length: 50 }, (_, i) => i + 200)]));
    const h = headOf(buf);
    expect(h.ur).toBe(2);
    const hl = buf.readUInt32LE(0);
    const body = 8 + hl + ((8 - (hl % 8)) % 8);
    for (const [at, v] of [
      [4, 49], // the first run one short: 99 UIDs for 100 entries
      [4, 0], // an empty run
      [12, 51], // the second run one too long
    ] as const) {
      const bad = Buffer.from(buf);
      bad.writeUInt32LE(v, body + at);
      bad.writeUInt32LE(crc32(bad.subarray(8)), 4);
      expect(decodeHead(bad)).toBeNull();
    }
    expect(decodeHead(withHead(buf, { ...h, ur: 3 }))).toBeNull(); // the size no longer matches
    expect(decodeHead(withHead(buf, { ...h, ur: 0 }))).toBeNull(); // every UID in 4 bytes: the size no longer matches
    expect(decodeHead(buf)).not.toBeNull();
  });

  it('still reads a version 2 copy (every UID in 4 bytes), so copies written before need not be written again', () => {
    const c = columns([3, 5, 9, 11, 13]);
    const v3 = encodeHead(c, 3);
    const { ur, ...rest } = headOf(v3);
    expect(ur).toBe(0);
    const v2 = withHead(v3, { ...rest, v: 2 });
    expect(brief(decodeHead(v2)!)).toEqual(brief(decodeHead(v3)!));
    expect(decodeHead(withHead(v3, { ...rest, v: 1 }))).toBeNull();
  });

  it('warms up on made-up runs and gets the made-up UIDs', () => {
    expect(warmUpHeads()).toBe(true);
  });
});
