/**
 * The FLAGS list of a newly selected folder (appliance/imap/selected.ts; RFC 3501 7.2.6, issue 18
 * ninth round): the system flags and every keyword of a flag list some message uses, in the order
 * of the lists; the messages' list numbers are read only when a list holds a keyword not known
 * yet (a folder with system flags alone, or only the default keywords, reads none of them).
 */
import { describe, expect, it } from 'vitest';
import { SelectedMailbox } from '../../appliance/imap/selected.js';
import type { ImapSession } from '../../appliance/imap/session.js';
import type { FolderInfo, UidFlagColumns } from '../../appliance/mailstore/store.types.js';

const session = { store: { watch: () => () => undefined }, rev2: false } as unknown as ImapSession;
const folder = { id: 1, highestModseq: 1 } as FolderInfo;

/** Columns of `n` messages using the lists `use(i)`, with the reads of their list numbers counted. */
function columns(lists: string[][], n: number, use: (i: number) => number) {
  const raw = Uint32Array.from({ length: n }, (_, i) => use(i));
  const counter = { reads: 0 };
  const list = new Proxy(raw, {
    get(t, k) {
      if (typeof k === 'string' && /^\d+$/.test(k)) counter.reads++;
      const v = Reflect.get(t, k) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  const cols: UidFlagColumns = { length: n, uids: Uint32Array.from({ length: n }, (_, i) => i + 1), modseqs: new Float64Array(n), list, lists };
  return { cols, counter };
}

describe('SELECT FLAGS: keywords in use', () => {
  it.each([
    ['system flags alone', [['\\Seen'], [], ['\\Seen', '\\Flagged']]],
    ['the default keywords', [['$Forwarded'], ['\\Seen', '$Junk'], ['$notjunk']]],
  ])('reads no message for %s', (_, lists) => {
    const { cols, counter } = columns(lists, 1000, (i) => i % lists.length);
    const sel = new SelectedMailbox(session, folder, false, cols);
    expect(sel.flagsList()).toBe('(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk $NotJunk)');
    expect(counter.reads).toBe(0);
  });

  it('lists the keywords of the lists in use, in list order, and not those of a list nobody uses', () => {
    const lists = [['\\Seen', '$Work'], ['$Unused'], [], ['$Later', '$work', '$Home']];
    const { cols, counter } = columns(lists, 30, (i) => (i % 2 ? 3 : i % 3 ? 2 : 0));
    const sel = new SelectedMailbox(session, folder, false, cols);
    expect(sel.flagsList()).toBe('(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk $NotJunk $Work $Later $Home)');
    expect(counter.reads).toBe(30);
  });
});
