/**
 * SEARCH of metadata keys (SUBJECT, FROM/TO/CC/BCC) with flag keys and NOT/OR/AND of them is
 * decided key by key for every entry (search-executor.ts metaMatches; issue 18 round 9, one pass
 * per key since round 13:
 * SEARCH SUBJECT in a fresh process), not by matches() per message. Its answers must be
 * matches()'s for every message and key; keys it does not cover are left to the general path.
 */
import { describe, expect, it } from 'vitest';
import { columnsOfEntries } from '../../appliance/imap/flag-columns.js';
import { metaMatches } from '../../appliance/imap/search-executor.js';
import { matches, parseSearch, type SearchKey } from '../../appliance/imap/search.js';
import type { SelectedMailbox } from '../../appliance/imap/selected.js';
import type { Token } from '../../appliance/imap/parser.js';
import { parseMessage } from '../../appliance/mailstore/mime/index.js';
import type { MessageEntry } from '../../appliance/mailstore/store.types.js';
import { prng } from '../../scripts/lib/prng.js';

const FROMS = ['"Alice Martin" <alice@example.com>', '=?utf-8?q?Chlo=C3=A9_Dubois?= <chloe@example.net>', 'bob@example.org (Bob)', 'Team: a@x.example, b@y.example;', ''];
const SUBJECTS = ['Quarterly reconciliation 7', 'RE: quarterly RECONCILIATION', '=?utf-8?q?R=C3=A9union_budget?=', 'Lunch', ''];
const FLAGS = [[], ['\\Seen'], ['\\Seen', '\\Flagged'], ['$Label1'], ['\\flagged', '$label1']];

const message = (i: number) =>
  parseMessage(
    Buffer.from(
      `${FROMS[i % FROMS.length] ? `From: ${FROMS[i % FROMS.length]}\r\n` : ''}To: t${i % 3}@example.net\r\nCc: "Cc ${i % 2}" <cc@example.org>\r\n` +
        `${SUBJECTS[i % SUBJECTS.length] ? `Subject: ${SUBJECTS[i % SUBJECTS.length]}\r\n` : ''}Message-ID: <m${i}@t>\r\n\r\nbody ${i}\r\n`,
    ),
  );

/** Search keys as a client writes them, parsed as SEARCH parses them. */
function atoms(text: string): Token[] {
  const stack: Token[][] = [[]];
  for (const w of text.match(/[()]|"[^"]*"|[^\s()]+/g)!) {
    if (w === '(') stack.push([]);
    else if (w === ')') {
      const list = stack.pop()!;
      stack[stack.length - 1]!.push({ t: 'list', v: list } as Token);
    } else stack[stack.length - 1]!.push((w.startsWith('"') ? { t: 'string', v: w.slice(1, -1) } : { t: 'atom', v: w }) as Token);
  }
  return stack[0]!;
}

const LEAVES = [
  'SUBJECT "quarterly"',
  'SUBJECT "réunion"',
  'SUBJECT ""',
  'FROM "alice"',
  'FROM "chloé"',
  'FROM "a@x.example"',
  'TO "t1@"',
  'CC "cc 1"',
  'BCC "x"',
  'SEEN',
  'UNSEEN',
  'FLAGGED',
  'KEYWORD $label1',
  'UNKEYWORD $Label1',
  'ALL',
];

function randomKey(r: () => number, depth: number): string {
  const leaf = () => LEAVES[Math.floor(r() * LEAVES.length)]!;
  if (depth === 0) return leaf();
  const x = r();
  if (x < 0.35) return leaf();
  if (x < 0.55) return `NOT ${randomKey(r, depth - 1)}`;
  if (x < 0.8) return `OR ${randomKey(r, depth - 1)} ${randomKey(r, depth - 1)}`;
  return `(${randomKey(r, depth - 1)} ${randomKey(r, depth - 1)})`;
}

describe('metaMatches (SEARCH of metadata keys from the columns)', () => {
  const n = 40;
  const metas = Array.from({ length: n }, (_, i) => message(i));
  const entries: MessageEntry[] = Array.from({ length: n }, (_, i) => ({
    uid: i + 1,
    messageId: 100 + i,
    flags: FLAGS[(i * 7) % FLAGS.length]!,
    modseq: i + 1,
    internalDate: 0,
    size: 10,
    savedAt: null,
  }));
  const cols = columnsOfEntries(entries);
  const byId = new Map(entries.map((e, i) => [e.messageId, metas[i]!]));
  const sel = { view: { saved: [], length: n, maxUid: n } } as unknown as SelectedMailbox;

  it('answers what matches() answers, for every message and 500 random keys', () => {
    const r = prng(20261207);
    for (let c = 0; c < 500; c++) {
      const text = randomKey(r, 3);
      const key = parseSearch(atoms(text)).key;
      const found = metaMatches(key, cols, sel, byId);
      expect(found, text).not.toBeNull();
      // messages without metadata (not found) as the general path sees them
      const bare = metaMatches(key, cols, sel, new Map());
      for (let i = 0; i < n; i++) {
        const want = matches(key, { entry: entries[i]!, seq: i + 1, meta: metas[i]!, raw: null, recent: false, saved: new Set() }, n, n, {});
        expect(found![i] === 1, `${text} on message ${i}`).toBe(want);
        expect(bare![i] === 1, `${text} without metadata`).toBe(matches(key, { entry: entries[i]!, seq: i + 1, meta: null, raw: null }, n, n, {}));
      }
    }
  });

  it('leaves keys it does not cover to the general path', () => {
    for (const text of ['RECENT', '1:5', 'UID 3', 'SENTBEFORE 1-Jan-2020', 'HEADER X-A "b"', 'LARGER 5', 'SUBJECT "a" MODSEQ 3', 'OR SUBJECT "a" BODY "b"', 'NOT SINCE 1-Jan-2020']) {
      const key: SearchKey = parseSearch(atoms(text)).key;
      expect(metaMatches(key, cols, sel, byId), text).toBeNull();
    }
  });
});
