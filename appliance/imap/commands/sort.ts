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
import {
  AsciiWriter,
  orderedSubjectThreads,
  parseSortCriteria,
  referenceThreads,
  type SortCriterion,
  type SortKeyName,
  sortResponse,
  threadInputOf,
  threadOrderedSubject,
  threadReferences,
  writeThreads,
} from '../sort.js';
import { folderColumnOrder, folderColumnThreads, folderOrder, folderThreads } from '../sort-orders.js';
import type { ImapSession } from '../session.js';
import { UpdateContext } from '../search-context.js';
import { executeSearch } from '../search-executor.js';
import { answerWithReturn, canUpdate, parseReturn, type ReturnOptions } from './search.js';
import { selectedOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { SELECTED } from './types.js';

function checkCharset(t: Token | undefined): void {
  const cs = str(t, 'charset').toUpperCase();
  if (cs !== 'UTF-8' && cs !== 'US-ASCII' && cs !== 'UTF8') throw new ImapNo('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
}

/** Which of a folder's entries (ascending UID) the search criteria select, in this session's view. */
interface Selection {
  /** Per entry: its sequence number in this session's view if the criteria select it, else 0. */
  seqs: Uint32Array;
  /** How many entries are selected. */
  count: number;
  modseq: number | null;
  key: SearchKey;
}

interface Picked extends Selection {
  /** The folder's sort rows (ascending UID), kept per membership by the store. */
  all: SortRow[];
}

/**
 * The answers of whole-folder SORTs (`* SORT ...` as bytes) by kept order (sort-orders.ts: one
 * array per folder membership and criteria, replaced when a message is added or removed), by UID
 * and by sequence number: a webmail's next page view SORTs the same folder again, and its answer
 * is then these bytes, not 1,200 numbers formatted again (issue 18, fifteenth round). The few most
 * recently used orders only (a 100,000-message folder's answer is about 0.6 MB).
 */
const wholeAnswers = new Map<Uint32Array, { uid?: Buffer; seq?: Buffer }>();
const WHOLE_ANSWERS_MAX = 4;

/** A plain SORT of every message (no RETURN, no MODSEQ, ALL) by a session whose view is exactly the folder's `uids`. */
function wholeFolder(sel: SelectedMailbox, ret: ReturnOptions | null, search: Criteria, uids: Uint32Array): boolean {
  return !ret && !search.usesModseq && search.key.k === 'all' && sel.view.holdsExactly(uids);
}

/**
 * The answer to wholeFolder's SORT from the folder's kept `order`: UIDs of `uids`, or sequence
 * numbers (entry i is number i + 1, as the view holds the folder's entries exactly); made once
 * per order (the UIDs of an order's entries never change).
 */
function wholeAnswer(order: Uint32Array, uids: Uint32Array, byUid: boolean): Buffer {
  let kept = wholeAnswers.get(order);
  wholeAnswers.delete(order);
  wholeAnswers.set(order, (kept ??= {}));
  while (wholeAnswers.size > WHOLE_ANSWERS_MAX) wholeAnswers.delete(wholeAnswers.keys().next().value!);
  if (byUid) return (kept.uid ??= sortResponse(uids, order, null));
  return (kept.seq ??= sortResponse(null, order, null));
}

type Criteria = ReturnType<typeof parseSearch>;

/** Marks the entries (`uids`, ascending) the criteria select by their sequence numbers. */
async function selectUids(session: ImapSession, sel: SelectedMailbox, uids: Uint32Array, { key, usesModseq }: Criteria): Promise<Selection> {
  const seqs = sel.view.seqsOfAscending(uids);
  const hits = key.k === 'all' && !usesModseq ? null : await executeSearch(session, sel, key);
  const wanted = hits ? new Set(hits.map((h) => h.uid)) : null;
  const modseq = usesModseq && hits?.length ? hits.reduce((m, h) => Math.max(m, h.modseq), 0) : null;
  let count = 0;
  for (let i = 0; i < uids.length; i++) {
    if (seqs[i] !== 0 && wanted !== null && !wanted.has(uids[i]!)) seqs[i] = 0;
    if (seqs[i] !== 0) count++;
  }
  return { seqs, count, modseq, key };
}

function parseCriteria(session: ImapSession, criteria: Token[]): Criteria {
  const parsed = parseSearch(criteria, { rev2: session.rev2 });
  if (parsed.usesModseq) session.enableCondstore();
  return parsed;
}

/** The rows the search criteria select (in sequence order), marked by their sequence numbers beside the folder's sort rows. */
async function selectRows(session: ImapSession, sel: SelectedMailbox, criteria: Criteria): Promise<Picked> {
  const all = await session.store.sortRows(sel.folder.id);
  return { all, ...(await selectUids(session, sel, uidsOf(all), criteria)) };
}

/** `full` (an order of every entry) filtered to the selected entries: still sorted, ties in sequence order. */
function selectedOrder(full: Uint32Array, { seqs, count }: Selection): Uint32Array {
  if (count === seqs.length) return full;
  const order = new Uint32Array(count);
  let m = 0;
  for (let k = 0; k < full.length; k++) if (seqs[full[k]!] !== 0) order[m++] = full[k]!;
  return order;
}

/** The untagged answer without RETURN: `* SORT n n n` (with the MODSEQ when asked). */
function writeSort(session: ImapSession, ids: ArrayLike<number>, order: Uint32Array, modseq: number | null): void {
  session.write(sortResponse(ids, order, modseq));
}

/** The sort keys read as one column of the store (store.sortColumn): DATE and the string keys. */
const COLUMN_FIELDS: Partial<Record<SortKeyName, 'd' | 's' | 'f' | 't' | 'c' | 'df' | 'dt'>> = { DATE: 'd', SUBJECT: 's', FROM: 'f', TO: 't', CC: 'c', DISPLAYFROM: 'df', DISPLAYTO: 'dt' };

/**
 * SORT by one key of a large folder the store has no sort rows of: that key's column alone
 * (store.sortColumn, issue 18: no object per message); false when it is not at hand.
 */
async function sortByColumn(session: ImapSession, sel: SelectedMailbox, tag: string, byUid: boolean, ret: ReturnOptions | null, criteria: SortCriterion[], search: Criteria): Promise<boolean> {
  const field = criteria.length === 1 ? COLUMN_FIELDS[criteria[0]!.key] : undefined;
  if (!field || ret?.update || !session.store.sortColumn) return false;
  const column = await session.store.sortColumn(sel.folder.id, field);
  if (!column) return false;
  if (wholeFolder(sel, ret, search, column.uids)) {
    session.write(wholeAnswer(folderColumnOrder(session.store, sel.folder.id, column, criteria[0]!), column.uids, byUid));
    return true;
  }
  const picked = await selectUids(session, sel, column.uids, search);
  const order = selectedOrder(folderColumnOrder(session.store, sel.folder.id, column, criteria[0]!), picked);
  if (!ret) {
    writeSort(session, byUid ? column.uids : picked.seqs, order, picked.modseq);
    return true;
  }
  const ids = new Array<number>(order.length);
  const uids = new Array<number>(order.length);
  for (let k = 0; k < order.length; k++) {
    uids[k] = column.uids[order[k]!]!;
    ids[k] = byUid ? uids[k]! : picked.seqs[order[k]!]!;
  }
  answerWithReturn(session, sel, tag, byUid, ret, ids, uids, picked.modseq, true);
  return true;
}

/** The selected rows (sequence order) and their sequence numbers. */
function selectedRows({ all, seqs, count }: Picked): { rows: SortRow[]; seqs: Uint32Array } {
  if (count === all.length) return { rows: all, seqs };
  const rows = new Array<SortRow>(count);
  const out = new Uint32Array(count);
  let m = 0;
  for (let i = 0; i < all.length; i++) {
    if (seqs[i] === 0) continue;
    out[m] = seqs[i]!;
    rows[m++] = all[i]!;
  }
  return { rows, seqs: out };
}

async function runSort(session: ImapSession, tag: string, args: Token[], byUid: boolean): Promise<void> {
  const sel = selectedOf(session);
  const { ret, rest } = parseReturn(args);
  const criteria = parseSortCriteria(rest[0]);
  checkCharset(rest[1]);
  if (rest.length < 3) throw new ImapSyntaxError('Missing search criteria');
  let picked: Picked;
  try {
    const search = parseCriteria(session, rest.slice(2));
    if (await sortByColumn(session, sel, tag, byUid, ret, criteria, search)) return;
    const all = await session.store.sortRows(sel.folder.id);
    const uids = uidsOf(all);
    if (wholeFolder(sel, ret, search, uids)) {
      session.write(wholeAnswer(folderOrder(session.store, sel.folder.id, all, criteria), uids, byUid));
      return;
    }
    picked = { all, ...(await selectUids(session, sel, uids, search)) };
  } catch (err) {
    if (ret?.save) sel.view.saved = [];
    throw err;
  }
  const { all, seqs } = picked;
  // The folder's kept order (sort-orders.ts), filtered to the selected rows: still sorted, ties in sequence order.
  const order = selectedOrder(folderOrder(session.store, sel.folder.id, all, criteria), picked);
  if (!ret) return writeSort(session, byUid ? uidsOf(all) : seqs, order, picked.modseq);
  const ids = new Array<number>(order.length);
  const sorted = new Array<SortRow>(order.length);
  for (let k = 0; k < order.length; k++) {
    sorted[k] = all[order[k]!]!;
    ids[k] = byUid ? sorted[k]!.uid : seqs[order[k]!]!;
  }
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
}

function uidsOf(rows: readonly SortRow[]): Uint32Array {
  const out = new Uint32Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = rows[i]!.uid;
  return out;
}

type Algorithm = 'REFERENCES' | 'ORDEREDSUBJECT';

/** The selected entries' THREAD tree and their numbers (UIDs or sequence numbers) by position in it. */
interface Threaded {
  tree: ReturnType<typeof threadReferences>;
  ids: ArrayLike<number>;
}

/**
 * THREAD of a large folder the store has no sort rows of, from its THREAD key columns
 * (store.threadColumns, issue 18: no sort row per message); null when they are not at hand.
 */
async function threadByColumns(session: ImapSession, sel: SelectedMailbox, algorithm: Algorithm, byUid: boolean, search: Criteria): Promise<Threaded | null> {
  const column = session.store.threadColumns ? await session.store.threadColumns(sel.folder.id) : null;
  if (!column) return null;
  const { uids } = column;
  const { seqs, count } = await selectUids(session, sel, uids, search);
  // Every entry selected: the folder's threads, kept while its membership is unchanged (sort-orders.ts).
  if (count === uids.length) return { tree: folderColumnThreads(session.store, sel.folder.id, column, algorithm), ids: byUid ? uids : seqs };
  const positions = new Uint32Array(count);
  const ids = new Uint32Array(count);
  for (let i = 0, m = 0; i < uids.length; i++) {
    if (seqs[i] === 0) continue;
    positions[m] = i;
    ids[m++] = byUid ? uids[i]! : seqs[i]!;
  }
  const input = threadInputOf(column, positions);
  return { tree: algorithm === 'REFERENCES' ? referenceThreads(input) : orderedSubjectThreads(input), ids };
}

/** THREAD from the folder's sort rows (store.sortRows). */
async function threadByRows(session: ImapSession, sel: SelectedMailbox, algorithm: Algorithm, byUid: boolean, search: Criteria): Promise<Threaded> {
  const picked = await selectRows(session, sel, search);
  const { rows, seqs } = selectedRows(picked);
  // Every row selected: the folder's threads, kept while its membership is unchanged (sort-orders.ts).
  const whole = rows === picked.all;
  const tree = whole ? folderThreads(session.store, sel.folder.id, rows, algorithm) : algorithm === 'REFERENCES' ? threadReferences(rows) : threadOrderedSubject(rows);
  return { tree, ids: byUid ? uidsOf(rows) : seqs };
}

async function runThread(session: ImapSession, args: Token[], byUid: boolean): Promise<void> {
  const sel = selectedOf(session);
  const algorithm = str(args[0], 'threading algorithm').toUpperCase();
  if (algorithm !== 'ORDEREDSUBJECT' && algorithm !== 'REFERENCES') throw new ImapSyntaxError(`Unknown threading algorithm ${algorithm.slice(0, 30)}`);
  checkCharset(args[1]);
  if (args.length < 3) throw new ImapSyntaxError('Missing search criteria');
  const search = parseCriteria(session, args.slice(2));
  const { tree, ids } = (await threadByColumns(session, sel, algorithm, byUid, search)) ?? (await threadByRows(session, sel, algorithm, byUid, search));
  const w = new AsciiWriter();
  w.text('* THREAD');
  if (tree.roots.length) w.byte(32);
  writeThreads(w, tree, ids);
  w.text('\r\n');
  session.write(w.toString());
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
