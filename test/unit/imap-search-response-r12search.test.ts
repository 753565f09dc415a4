/**
 * The untagged SEARCH response is written as bytes (commands/search.ts searchResponse, issue 18
 * round 12: a warm UID SEARCH FLAGGED of 100,000 messages joined 10,000 numbers into a string,
 * then encoded it for the socket), and a flag-only search gathers its matches in a scratch
 * array kept between searches (search-executor.ts flagMatches): each answer must be the text
 * the join wrote, and each result its own array, untouched by the searches after it.
 */
import { describe, expect, it } from 'vitest';
import { searchResponse } from '../../appliance/imap/commands/search.js';
import { columnsOfEntries } from '../../appliance/imap/flag-columns.js';
import { parseSearch } from '../../appliance/imap/search.js';
import { flagSearchIds } from '../../appliance/imap/search-executor.js';
import type { SelectedMailbox } from '../../appliance/imap/selected.js';
import { UidMap } from '../../appliance/imap/sequence.js';
import type { ImapSession } from '../../appliance/imap/session.js';
import type { MessageEntry, UidFlagColumns } from '../../appliance/mailstore/store.types.js';
import { prng } from '../../scripts/lib/prng.js';

describe('searchResponse (the SEARCH response as bytes)', () => {
  const joined = (ids: number[], modseq: number | null) => `* SEARCH${ids.map((n) => ` ${n}`).join('')}${modseq === null ? '' : ` (MODSEQ ${modseq})`}\r\n`;

  it('writes what joining the numbers wrote, at every digit count up to 2^32 - 1', () => {
    const edges: number[] = [0, 1];
    for (let p = 10; p <= 1e9; p *= 10) edges.push(p - 1, p, p + 1);
    edges.push(2 ** 31 - 1, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1);
    const out = searchResponse(edges, null);
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(out.toString('latin1')).toBe(joined(edges, null));
  });

  it('writes random lists, as numbers and as typed arrays, with and without MODSEQ', () => {
    const r = prng(20261207);
    for (let c = 0; c < 200; c++) {
      const ids = Array.from({ length: Math.floor(r() * 50) }, () => Math.floor(r() * 2 ** (1 + Math.floor(r() * 32))));
      const modseq = c % 3 === 0 ? null : Math.floor(r() * 2 ** 52);
      expect(searchResponse(ids, modseq).toString('latin1')).toBe(joined(ids, modseq));
      expect(searchResponse(Uint32Array.from(ids), modseq).toString('latin1')).toBe(joined(ids, modseq));
    }
  });

  it('answers no hits with the bare response, and keeps a MODSEQ', () => {
    expect(searchResponse([], null).toString('latin1')).toBe('* SEARCH\r\n');
    expect(searchResponse(new Uint32Array(0), 7).toString('latin1')).toBe('* SEARCH (MODSEQ 7)\r\n');
  });
});

describe('flagSearchIds results (matches gathered in a shared scratch array)', () => {
  const folder = (n: number, uidBase: number): UidFlagColumns => {
    const entries: MessageEntry[] = Array.from({ length: n }, (_, i) => ({
      uid: uidBase + i,
      messageId: i + 1,
      flags: i % 4 === 0 ? ['\\Flagged'] : i % 3 === 0 ? ['\\Seen'] : [],
      modseq: i + 1,
      internalDate: 0,
      size: 1,
      savedAt: null,
    }));
    return columnsOfEntries(entries);
  };
  const run = (cols: UidFlagColumns, text: string) => {
    const session = { store: { uidFlagColumns: async () => cols } } as unknown as ImapSession;
    const sel = { folder: { id: 1 }, view: new UidMap(cols.uids), recent: new Set<number>() } as unknown as SelectedMailbox;
    return flagSearchIds(session, sel, parseSearch([{ t: 'atom', v: text }]).key, true);
  };

  it('keeps each result as answered while later searches of larger and smaller folders run', async () => {
    const big = folder(5000, 1);
    const small = folder(40, 100_000);
    const first = (await run(big, 'FLAGGED'))!;
    const copy = [...first];
    expect(copy.length).toBe(1250);
    const second = (await run(small, 'SEEN'))!;
    const third = (await run(folder(20_000, 7), 'UNFLAGGED'))!;
    expect([...first]).toEqual(copy);
    expect([...second]).toEqual([...small.uids].filter((_, i) => i % 4 !== 0 && i % 3 === 0));
    expect(third.length).toBe(15_000);
  });

  it('answers in an array of its own size, not a view of a folder-sized one', async () => {
    const ids = (await run(folder(4000, 1), 'FLAGGED'))!;
    expect(ids.length).toBe(1000);
    expect(ids.buffer.byteLength).toBe(ids.length * 4);
  });
});
