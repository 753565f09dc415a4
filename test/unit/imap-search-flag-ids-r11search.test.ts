/**
 * A plain SEARCH or UID SEARCH on flags alone is answered with the numbers straight from the
 * folder's flag columns (search-executor.ts flagSearchIds, issue 18 round 11: UID SEARCH FLAGGED
 * of 100,000 messages made a hit object per match, then an array of numbers, then the line). Its
 * answers must be matches()'s for every message of the session's view, by UID and by sequence
 * number, whether the view is the folder's own UID column or a view of its own (messages expunged
 * or not announced yet); keys on more than the flags are left to executeSearch.
 */
import { describe, expect, it } from 'vitest';
import { columnsOfEntries } from '../../appliance/imap/flag-columns.js';
import { flagSearchIds } from '../../appliance/imap/search-executor.js';
import { matches, parseSearch } from '../../appliance/imap/search.js';
import type { SelectedMailbox } from '../../appliance/imap/selected.js';
import { UidMap } from '../../appliance/imap/sequence.js';
import type { ImapSession } from '../../appliance/imap/session.js';
import type { Token } from '../../appliance/imap/parser.js';
import type { MessageEntry, UidFlagColumns } from '../../appliance/mailstore/store.types.js';
import { prng } from '../../scripts/lib/prng.js';

const FLAGS = [[], ['\\Seen'], ['\\Seen', '\\Flagged'], ['$Label1'], ['\\flagged', '$label1'], ['\\Deleted', '\\Answered'], ['\\Draft']];

/** Search keys as a client writes them (atoms and parenthesised lists). */
function atoms(text: string): Token[] {
  const stack: Token[][] = [[]];
  for (const w of text.match(/[()]|[^\s()]+/g)!) {
    if (w === '(') stack.push([]);
    else if (w === ')') {
      const list = stack.pop()!;
      stack[stack.length - 1]!.push({ t: 'list', v: list } as Token);
    } else stack[stack.length - 1]!.push({ t: 'atom', v: w } as Token);
  }
  return stack[0]!;
}

const LEAVES = ['SEEN', 'UNSEEN', 'FLAGGED', 'UNFLAGGED', 'DELETED', 'UNANSWERED', 'DRAFT', 'KEYWORD $label1', 'UNKEYWORD $Label1', 'ALL'];

function randomKey(r: () => number, depth: number): string {
  const leaf = () => LEAVES[Math.floor(r() * LEAVES.length)]!;
  if (depth === 0) return leaf();
  const x = r();
  if (x < 0.35) return leaf();
  if (x < 0.55) return `NOT ${randomKey(r, depth - 1)}`;
  if (x < 0.8) return `OR ${randomKey(r, depth - 1)} ${randomKey(r, depth - 1)}`;
  return `(${randomKey(r, depth - 1)} ${randomKey(r, depth - 1)})`;
}

describe('flagSearchIds (SEARCH on flags alone from the flag columns)', () => {
  const n = 300;
  const entries: MessageEntry[] = Array.from({ length: n }, (_, i) => ({
    uid: 2 * i + 5,
    messageId: 100 + i,
    flags: FLAGS[(i * 5 + (i >> 3)) % FLAGS.length]!,
    modseq: i + 1,
    internalDate: 0,
    size: 10,
    savedAt: null,
  }));
  const cols = columnsOfEntries(entries);
  const session = { store: { uidFlagColumns: async (): Promise<UidFlagColumns> => cols } } as unknown as ImapSession;
  const selOf = (view: UidMap) => ({ folder: { id: 1 }, view, recent: new Set<number>() }) as unknown as SelectedMailbox;

  /** What matches() says for the messages of `view`, as UIDs or sequence numbers. */
  const expected = (text: string, view: UidMap, byUid: boolean) => {
    const key = parseSearch(atoms(text)).key;
    const out: number[] = [];
    for (const e of entries) {
      const seq = view.seqOf(e.uid);
      if (seq && matches(key, { entry: e, seq, meta: null, raw: null, recent: false, saved: new Set() }, view.length, view.maxUid, {})) out.push(byUid ? e.uid : seq);
    }
    return out;
  };

  const views: Array<[string, () => UidMap]> = [
    ['the folder\u2019s own UID column', () => new UidMap(cols.uids)],
    ['a view of its own, equal to the folder', () => new UidMap([...cols.uids])],
    ['a view without some messages (expunged, not reported yet)', () => new UidMap([...cols.uids].filter((u, i) => i % 7 !== 3 && i < n - 5))],
  ];

  it.each(views)('answers what matches() answers on %s, by UID and by sequence number, for 300 random keys', (_name, makeView) => {
    const view = makeView();
    const sel = selOf(view);
    const r = prng(20261207);
    return (async () => {
      for (let c = 0; c < 300; c++) {
        const text = randomKey(r, 3);
        const key = parseSearch(atoms(text)).key;
        for (const byUid of [true, false]) {
          const ids = await flagSearchIds(session, sel, key, byUid);
          expect(ids, text).toBeInstanceOf(Uint32Array);
          expect([...ids!], `${text} ${byUid ? 'by UID' : 'by sequence number'}`).toEqual(expected(text, view, byUid));
        }
      }
    })();
  });

  it('answers an empty result with no numbers', async () => {
    const ids = await flagSearchIds(session, selOf(new UidMap(cols.uids)), parseSearch(atoms('SEEN UNSEEN')).key, true);
    expect(ids?.length).toBe(0);
  });

  it('leaves keys on more than the flags to the general path', async () => {
    const sel = selOf(new UidMap(cols.uids));
    for (const text of ['RECENT', '1:5', 'UID 3', 'LARGER 5', 'FLAGGED MODSEQ 3', 'OR FLAGGED SUBJECT x', 'NOT SINCE 1-Jan-2020', '$']) {
      expect(await flagSearchIds(session, sel, parseSearch(atoms(text)).key, true), text).toBeNull();
    }
  });
});
