/**
 * SEARCH SUBJECT decides every entry at once (search-executor.ts subjectHits, issue 18 round 13:
 * the subjects joined by line feeds, lower-cased once and searched natively, instead of a
 * lower-cased copy and a search per message): its answers must be subjectMatches' for every
 * entry, whatever the subjects and needles hold (line feeds, characters whose lower case is
 * longer, the Greek final sigma, empty subjects and needles, entries without metadata); the
 * metadata search built on it must answer as matches() does; the start-up warm-up must run on
 * its made-up folder.
 */
import { describe, expect, it } from 'vitest';
import { columnsOfEntries } from '../../appliance/imap/flag-columns.js';
import { matches, parseSearch, subjectMatches } from '../../appliance/imap/search.js';
import { metaHits, seqsInView, subjectHits } from '../../appliance/imap/search-executor.js';
import { warmUpSearch } from '../../appliance/imap/search-warmup.js';
import { UidMap } from '../../appliance/imap/sequence.js';
import type { Token } from '../../appliance/imap/parser.js';
import type { MessageMeta } from '../../appliance/mailstore/mime/types.js';
import type { MessageEntry } from '../../appliance/mailstore/store.types.js';
import { prng } from '../../scripts/lib/prng.js';

/** Pieces of subjects and needles: ASCII words, case pairs, and characters whose lower case is special. */
const PIECES = [
  're',
  'RE',
  'Re:',
  ' ',
  'budget',
  'BUDGET',
  'Quarterly',
  'quarterly reconciliation',
  '\n',
  '\r\n',
  'Σ',
  'ΑΣ',
  'ς',
  'σ',
  'İ',
  'i̇',
  'i',
  'I',
  'K',
  'k',
  'ß',
  'SS',
  'Ǆ',
  'ǆ',
  '😀',
  'é',
  'É',
  'x',
  '',
];

function text(r: () => number, maxPieces: number): string {
  let s = '';
  const n = Math.floor(r() * maxPieces);
  for (let k = 0; k < n; k++) s += PIECES[Math.floor(r() * PIECES.length)]!;
  return s;
}

const meta = (subject: string) => ({ subject }) as MessageMeta;

describe('subjectHits (SUBJECT for every entry at once)', () => {
  it('answers what subjectMatches answers, entry by entry, on random subjects and needles', () => {
    const r = prng(20261207);
    for (let round = 0; round < 400; round++) {
      const n = Math.floor(r() * 40);
      const ids = Array.from({ length: n }, (_, i) => 100 + i);
      const metas = new Map<number, MessageMeta>();
      for (const id of ids) if (r() > 0.1) metas.set(id, meta(text(r, 8))); // some entries without metadata
      // Needles as a SEARCH key holds them: lower-cased; half of them taken from a subject.
      const from = n && r() < 0.5 ? (metas.get(ids[Math.floor(r() * n)]!)?.subject ?? '') : text(r, 3);
      const start = Math.floor(r() * (from.length + 1));
      const needle = from.slice(start, start + 1 + Math.floor(r() * 6)).toLowerCase();
      const got = subjectHits(Float64Array.from(ids), n, metas, needle);
      const want = ids.map((id) => (subjectMatches(metas.get(id) ?? null, needle) ? 1 : 0));
      expect(Array.from(got), JSON.stringify({ needle, subjects: ids.map((id) => metas.get(id)?.subject ?? null) })).toEqual(want);
    }
  });

  it('counts no match across two subjects, and an empty needle in every subject', () => {
    const metas = new Map([
      [1, meta('ends with bud')],
      [2, meta('get ahead')],
      [3, meta('')],
    ]);
    expect(Array.from(subjectHits([1, 2, 3], 3, metas, 'bud\nget'))).toEqual([0, 0, 0]);
    expect(Array.from(subjectHits([1, 2, 3], 3, metas, 'budget'))).toEqual([0, 0, 0]);
    expect(Array.from(subjectHits([1, 2, 3], 3, metas, 'get'))).toEqual([0, 1, 0]);
    expect(Array.from(subjectHits([1, 2, 3, 4], 4, metas, ''))).toEqual([1, 1, 1, 1]);
  });

  it('finds a subject whose lower case is longer than it (U+0130) where the others are', () => {
    const metas = new Map([
      [1, meta('İstanbul')],
      [2, meta('istanbul')],
      [3, meta('ISTANBUL trip')],
    ]);
    expect(Array.from(subjectHits([1, 2, 3], 3, metas, 'stanbul'))).toEqual([1, 1, 1]);
    expect(Array.from(subjectHits([1, 2, 3], 3, metas, 'istanbul'))).toEqual([0, 1, 1]);
  });
});

describe('metaHits (the metadata search after its reads)', () => {
  it('answers as matches() does for SUBJECT with flags, NOT and OR', () => {
    const r = prng(7);
    const entries: MessageEntry[] = Array.from({ length: 60 }, (_, i) => ({
      uid: 10 + 2 * i,
      messageId: i + 1,
      flags: i % 3 ? ['\\Seen'] : [],
      modseq: i + 1,
      internalDate: 0,
      size: 1,
      savedAt: null,
    }));
    const metas = new Map<number, MessageMeta>(entries.map((e) => [e.messageId, meta(text(r, 6))]));
    const cols = columnsOfEntries(entries);
    const atom = (v: string): Token => ({ t: 'atom', v });
    const string = (v: string): Token => ({ t: 'string', v });
    const keys: Token[][] = [
      [atom('SUBJECT'), string('re')],
      [atom('SUBJECT'), string('Σ')],
      [atom('UNSEEN'), atom('SUBJECT'), string('budget')],
      [atom('NOT'), atom('SUBJECT'), string('i')],
      [atom('OR'), atom('SUBJECT'), string('k'), atom('SEEN')],
    ];
    for (const view of [new UidMap(cols.uids), new UidMap(Array.from(cols.uids).filter((_, i) => i % 4 !== 1))]) {
      const scope = { view, recent: new Set<number>() };
      for (const args of keys) {
        const { key } = parseSearch(args);
        const got = metaHits(scope, key, cols, seqsInView(scope, cols.uids), metas).map((h) => h.uid);
        const want = entries
          .filter((e) => view.seqOf(e.uid) > 0)
          .filter((e) => matches(key, { entry: e, seq: view.seqOf(e.uid), meta: metas.get(e.messageId) ?? null, raw: null }, view.length, view.maxUid))
          .map((e) => e.uid);
        expect(got, JSON.stringify(args)).toEqual(want);
      }
    }
  });
});

describe('warmUpSearch (start-up warm-up on a made-up folder)', () => {
  it('runs the search code and answers its made-up folder', () => {
    expect(warmUpSearch()).toBe(true);
  });
});
