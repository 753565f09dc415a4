/**
 * SORT and UID SORT (RFC 5256 3, DISPLAYFROM/DISPLAYTO of RFC 5957, RETURN options of ESORT
 * RFC 5267 3) and THREAD / UID THREAD (RFC 5256 4: ORDEREDSUBJECT, REFERENCES). The search
 * part runs through the SEARCH executor; keys come from the index (store.sortRows), not from
 * the message metadata.
 */
import type { SortRow } from '../../mailstore/store.types.js';
import { ImapSyntaxError, type Token, str } from '../parser.js';
import { ImapNo } from '../responses.js';
import { parseSearch, type SearchKey } from '../search.js';
import type { SelectedMailbox } from '../selected.js';
import { formatThreads, parseSortCriteria, sortOrder, threadOrderedSubject, threadReferences } from '../sort.js';
import type { ImapSession } from '../session.js';
import { UpdateContext } from '../search-context.js';
import { executeSearch } from '../search-executor.js';
import { answerWithReturn, canUpdate, parseReturn } from './search.js';
import { selectedOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { SELECTED } from './types.js';

function checkCharset(t: Token | undefined): void {
  const cs = str(t, 'charset').toUpperCase();
  if (cs !== 'UTF-8' && cs !== 'US-ASCII' && cs !== 'UTF8') throw new ImapNo('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
}

/** The rows the search criteria select, in sequence order, with their keys and sequence numbers. */
async function selectRows(session: ImapSession, sel: SelectedMailbox, criteria: Token[]): Promise<{ rows: SortRow[]; seqs: Uint32Array; modseq: number | null; key: SearchKey }> {
  const { key, usesModseq } = parseSearch(criteria, { rev2: session.rev2 });
  if (usesModseq) session.enableCondstore();
  const all = await session.store.sortRows(sel.folder.id);
  const uids = new Uint32Array(all.length);
  for (let i = 0; i < all.length; i++) uids[i] = all[i]!.uid;
  const allSeqs = sel.view.seqsOfAscending(uids);
  const hits = key.k === 'all' && !usesModseq ? null : await executeSearch(session, sel, key);
  const wanted = hits ? new Set(hits.map((h) => h.uid)) : null;
  const modseq = usesModseq && hits?.length ? hits.reduce((m, h) => Math.max(m, h.modseq), 0) : null;
  // One pass: the rows in this session's view (and the search result), their sequence numbers beside them.
  const rows: SortRow[] = [];
  const seqs = new Uint32Array(all.length);
  for (let i = 0; i < all.length; i++) {
    const seq = allSeqs[i]!;
    if (seq === 0 || (wanted !== null && !wanted.has(uids[i]!))) continue;
    seqs[rows.length] = seq;
    rows.push(all[i]!);
  }
  return { rows, seqs: seqs.subarray(0, rows.length), modseq, key };
}

async function runSort(session: ImapSession, tag: string, args: Token[], byUid: boolean): Promise<void> {
  const sel = selectedOf(session);
  const { ret, rest } = parseReturn(args);
  const criteria = parseSortCriteria(rest[0]);
  checkCharset(rest[1]);
  if (rest.length < 3) throw new ImapSyntaxError('Missing search criteria');
  let picked;
  try {
    picked = await selectRows(session, sel, rest.slice(2));
  } catch (err) {
    if (ret?.save) sel.view.saved = [];
    throw err;
  }
  const { rows, seqs } = picked;
  const order = sortOrder(rows, criteria);
  const ids = new Array<number>(order.length);
  for (let k = 0; k < order.length; k++) ids[k] = byUid ? rows[order[k]!]!.uid : seqs[order[k]!]!;
  if (ret) {
    const sorted = new Array<SortRow>(order.length);
    for (let k = 0; k < order.length; k++) sorted[k] = rows[order[k]!]!;
    answerWithReturn(
      session,
      sel,
      tag,
      byUid,
      ret,
      ids,
      sorted.map((r) => r.uid),
      picked.modseq,
      true,
    );
    if (ret.update && canUpdate(session, sel, tag, ret)) sel.contexts.set(tag, new UpdateContext(tag, picked.key, criteria, sorted));
    return;
  }
  let line = `* SORT${ids.length ? ' ' + ids.join(' ') : ''}`;
  if (picked.modseq !== null) line += ` (MODSEQ ${picked.modseq})`;
  session.write(line + '\r\n');
}

async function runThread(session: ImapSession, args: Token[], byUid: boolean): Promise<void> {
  const sel = selectedOf(session);
  const algorithm = str(args[0], 'threading algorithm').toUpperCase();
  if (algorithm !== 'ORDEREDSUBJECT' && algorithm !== 'REFERENCES') throw new ImapSyntaxError(`Unknown threading algorithm ${algorithm.slice(0, 30)}`);
  checkCharset(args[1]);
  if (args.length < 3) throw new ImapSyntaxError('Missing search criteria');
  const { rows, seqs } = await selectRows(session, sel, args.slice(2));
  const roots = algorithm === 'REFERENCES' ? threadReferences(rows) : threadOrderedSubject(rows);
  const body = formatThreads(roots, byUid ? (r) => r.uid : (_, pos) => seqs[pos]!);
  session.write(`* THREAD${body ? ' ' + body : ''}\r\n`);
}

export const sort: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runSort(session, cmd.tag, cmd.args, false);
    return undefined;
  },
};

export const uidSort: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runSort(session, cmd.tag, cmd.args, true);
    return undefined;
  },
};

export const thread: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runThread(session, cmd.args, false);
    return undefined;
  },
};

export const uidThread: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runThread(session, cmd.args, true);
    return undefined;
  },
};
