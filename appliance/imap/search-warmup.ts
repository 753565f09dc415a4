/**
 * Start-up warm-up of SEARCH (issue 18): a warm-up of code, on made-up data only. No stored data
 * is read and nothing is kept: a made-up two-message folder (columns, view and metadata built in
 * memory here) is searched by subject, address and flags, and the answer is written into a
 * buffer nobody sends. V8 compiles a function at its first call: a fresh process's first
 * SEARCH SUBJECT compiled the key parser, the dispatch, the metadata search and the answer's
 * writer on its answer path, about a third of its CPU (see the commit that added this file).
 * The IMAP server runs it at start with the other warm-ups (warm-up.ts warmUpImap).
 */
import { parseMessage } from '../mailstore/mime/parse.js';
import type { MessageMeta } from '../mailstore/mime/types.js';
import type { MessageEntry } from '../mailstore/store.types.js';
import { parseReturn, searchResponse } from './commands/search.js';
import { columnsOfEntries } from './flag-columns.js';
import type { Token } from './parser.js';
import { parseSearch } from './search.js';
import { metaHits, onFlagsAlone, searchPath, seqsInView } from './search-executor.js';
import { UidMap } from './sequence.js';

const made = (uid: number, flags: string[]): MessageEntry => ({ uid, messageId: uid, flags, modseq: uid, internalDate: 0, size: 1, savedAt: null });

/** A made-up message's metadata in the form the store reads it back (JSON). */
function madeMeta(subject: string): MessageMeta {
  const raw = Buffer.from(`From: Warm Up <warm@up.invalid>\r\nTo: up@warm.invalid\r\nSubject: ${subject}\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\nwarm-up\r\n`);
  return JSON.parse(JSON.stringify(parseMessage(raw))) as MessageMeta;
}

/**
 * Runs the search code of SEARCH SUBJECT/FROM and flag keys once on a made-up folder; true when
 * the answers are the made-up folder's (a failed warm-up only costs the compilation it skipped).
 */
export function warmUpSearch(): boolean {
  const cols = columnsOfEntries([made(1, ['\\Seen']), made(2, [])]);
  const scope = { view: new UidMap(Uint32Array.from([1, 2])), recent: new Set<number>() };
  const metas = new Map<number, MessageMeta>([
    [1, madeMeta('Warm-up of the search')],
    [2, madeMeta('Another subject')],
  ]);
  const atom = (v: string): Token => ({ t: 'atom', v });
  const string = (v: string): Token => ({ t: 'string', v });
  const found: string[] = [];
  for (const args of [
    [atom('SUBJECT'), string('WARM-UP')],
    [atom('FROM'), string('warm@up')],
    [atom('UNSEEN'), atom('SUBJECT'), string('subject')],
  ]) {
    const { rest } = parseReturn(args);
    const { key } = parseSearch(rest, { rev2: false });
    if (onFlagsAlone(key) || searchPath(key) !== 'meta') return false;
    const hits = metaHits(scope, key, cols, seqsInView(scope, cols.uids), metas);
    found.push(
      searchResponse(
        hits.map((h) => h.seq),
        null,
      ).toString('latin1'),
    );
  }
  return found.join('') === '* SEARCH 1\r\n* SEARCH 1 2\r\n* SEARCH 2\r\n';
}
