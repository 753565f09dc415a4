/**
 * A search reads the folder's MODSEQs only when its key has MODSEQ (issue 18, eleventh round): a
 * fresh process's narrow index decodes its MODSEQs on their first read, and the first SEARCH
 * SUBJECT after SELECT paid for that decoding although its answer never shows a MODSEQ. A key
 * with MODSEQ still gets every hit's MODSEQ (RFC 7162 3.1.5: the highest is answered).
 */
import { describe, expect, it } from 'vitest';
import { columnsOfEntries } from '../../appliance/imap/flag-columns.js';
import { executeSearch } from '../../appliance/imap/search-executor.js';
import { parseSearch } from '../../appliance/imap/search.js';
import type { SelectedMailbox } from '../../appliance/imap/selected.js';
import { UidMap } from '../../appliance/imap/sequence.js';
import type { ImapSession } from '../../appliance/imap/session.js';
import type { Token } from '../../appliance/imap/parser.js';
import type { MessageMeta } from '../../appliance/mailstore/mime/types.js';
import type { FlagColumns, MessageEntry } from '../../appliance/mailstore/store.types.js';

const n = 40;
const entries: MessageEntry[] = Array.from({ length: n }, (_, i) => ({
  uid: i + 1,
  messageId: 500 + i,
  flags: i % 3 ? [] : ['\\Seen'],
  modseq: 100 + 2 * i,
  internalDate: Date.UTC(2026, 0, 1 + i),
  size: 1000 + i,
  savedAt: null,
}));

/** The columns, with their MODSEQ column behind a getter that counts its reads (a narrow index decodes there). */
function counted(): { cols: FlagColumns; reads: () => number } {
  const plain = columnsOfEntries(entries);
  let reads = 0;
  const cols = Object.create(plain) as FlagColumns;
  Object.defineProperty(cols, 'modseqs', {
    get: () => {
      reads++;
      return plain.modseqs;
    },
  });
  return { cols, reads: () => reads };
}

function meta(i: number): MessageMeta {
  return { v: 1, subject: i % 4 === 0 ? `Budget ${i}` : `Notes ${i}`, from: 'a@example.test', to: '', cc: '', bcc: '', sentAt: null } as unknown as MessageMeta;
}

function run(text: string) {
  const { cols, reads } = counted();
  const store = {
    flagColumns: async () => cols,
    uidFlagColumns: async () => cols,
    getMeta: async (ids: number[]) => new Map(ids.map((id) => [id, meta(id - 500)])),
    listMessages: async () => entries,
  };
  const session = { store } as unknown as ImapSession;
  const sel = { folder: { id: 1 }, view: new UidMap(Uint32Array.from(entries, (e) => e.uid)), recent: new Set<number>() } as unknown as SelectedMailbox;
  const tokens = text.split(' ').map((v) => ({ t: 'atom', v }) as Token);
  return executeSearch(session, sel, parseSearch(tokens).key).then((hits) => ({ hits, reads: reads() }));
}

describe('MODSEQs read by a search', () => {
  it('SEARCH SUBJECT, dates and sizes read none', async () => {
    for (const key of ['SUBJECT budget', 'SINCE 10-Jan-2026', 'LARGER 1020', 'UNSEEN SUBJECT notes']) {
      const { hits, reads } = await run(key);
      expect(hits.length, key).toBeGreaterThan(0);
      expect(reads, key).toBe(0);
    }
    const { hits } = await run('SUBJECT budget');
    expect(hits.map((h) => h.uid)).toEqual(entries.filter((_, i) => i % 4 === 0).map((e) => e.uid));
  });

  it('a key with MODSEQ gets each hit its MODSEQ', async () => {
    for (const key of ['MODSEQ 150', 'SUBJECT budget MODSEQ 150', 'OR MODSEQ 170 LARGER 1035']) {
      const { hits, reads } = await run(key);
      expect(reads, key).toBeGreaterThan(0);
      expect(hits.length, key).toBeGreaterThan(0);
      for (const h of hits) expect(h.modseq, key).toBe(entries[h.uid - 1]!.modseq);
    }
  });
});
