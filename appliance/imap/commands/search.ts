/**
 * SEARCH and UID SEARCH (every RFC 3501 key, CHARSET UTF-8, MODSEQ of CONDSTORE), with
 * RETURN options: ESEARCH (RFC 4731: MIN MAX ALL COUNT), SEARCHRES (RFC 5182: SAVE and "$")
 * and PARTIAL (RFC 5267 4.4). The executor (search-executor.ts) is shared with SORT, THREAD
 * and the CONTEXT=SEARCH updates.
 */
import { ImapSyntaxError, type Token, isAtom } from '../parser.js';
import { type SearchKey, parseSearch } from '../search.js';
import { type SearchHit, executeSearch, flagSearchIds, onFlagsAlone } from '../search-executor.js';
import type { SelectedMailbox } from '../selected.js';
import { compactSet } from '../sequence.js';
import { digitCount, writeSpacedNumber } from '../decimal.js';
import type { ImapSession } from '../session.js';
import { MAX_UPDATE_CONTEXTS, UpdateContext } from '../search-context.js';
import { selectedOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { SELECTED } from './types.js';

/** RETURN options of SEARCH/SORT (RFC 4731 3.1, RFC 5182 2, RFC 5267 4.4). */
export interface ReturnOptions {
  min: boolean;
  max: boolean;
  all: boolean;
  count: boolean;
  save: boolean;
  partial: [number, number] | null;
  /** UPDATE (RFC 5267 4.2): keep the result current with ADDTO/REMOVETO until CANCELUPDATE. */
  update: boolean;
}

/** Parses `RETURN (...)` at args[0] when present; returns the options and the rest. */
export function parseReturn(args: Token[]): { ret: ReturnOptions | null; rest: Token[] } {
  if (!isAtom(args[0], 'RETURN')) return { ret: null, rest: args };
  const list = args[1];
  if (!list || list.t !== 'list') throw new ImapSyntaxError('RETURN needs a list of options');
  const ret: ReturnOptions = { min: false, max: false, all: false, count: false, save: false, partial: null, update: false };
  for (let i = 0; i < list.v.length; i++) {
    const t = list.v[i]!;
    if (t.t !== 'atom') throw new ImapSyntaxError('Invalid RETURN option');
    switch (t.v.toUpperCase()) {
      case 'MIN':
        ret.min = true;
        break;
      case 'MAX':
        ret.max = true;
        break;
      case 'ALL':
        ret.all = true;
        break;
      case 'COUNT':
        ret.count = true;
        break;
      case 'SAVE':
        ret.save = true;
        break;
      case 'UPDATE':
        if (ret.update) throw new ImapSyntaxError('UPDATE given twice');
        ret.update = true;
        break;
      case 'PARTIAL': {
        const r = list.v[++i];
        const m = r?.t === 'atom' ? /^(\d{1,9}):(\d{1,9})$/.exec(r.v) : null;
        if (!m || Number(m[1]) === 0 || Number(m[2]) === 0) throw new ImapSyntaxError('PARTIAL needs a range like 1:100');
        const a = Number(m[1]);
        const b = Number(m[2]);
        ret.partial = a <= b ? [a, b] : [b, a];
        break;
      }
      default:
        throw new ImapSyntaxError(`Unknown RETURN option ${t.v.slice(0, 30)}`);
    }
  }
  if (ret.partial && ret.all) throw new ImapSyntaxError('PARTIAL and ALL exclude each other');
  // RETURN () means ALL (RFC 4731 3.1); RETURN (UPDATE) alone returns no data now, only updates later (as Dovecot does).
  if (!ret.min && !ret.max && !ret.all && !ret.count && !ret.save && !ret.partial && !ret.update) ret.all = true;
  return { ret, rest: args.slice(2) };
}

/**
 * Saves the result for "$" (RFC 5182 2.1: with MIN/MAX only those are saved) and writes the
 * ESEARCH response (RFC 4731 3.1; none when SAVE is the only option). `ids` are in result
 * order (ascending for SEARCH, sort order for SORT, so MIN/MAX are the first and last);
 * `uids` are the same hits as UIDs, in the same order.
 */
export function answerWithReturn(
  session: ImapSession,
  sel: SelectedMailbox,
  tag: string,
  byUid: boolean,
  ret: ReturnOptions,
  ids: number[],
  uids: number[],
  modseq: number | null,
  sorted: boolean,
): void {
  if (ret.save) {
    if ((ret.min || ret.max) && !ret.all && !ret.count && !ret.partial) {
      const pick: number[] = [];
      if (ret.min && uids.length) pick.push(uids[0]!);
      if (ret.max && uids.length) pick.push(uids[uids.length - 1]!);
      sel.view.saved = [...new Set(pick)].sort((a, b) => a - b);
    } else sel.view.saved = [...uids].sort((a, b) => a - b);
  }
  if (ret.save && !ret.min && !ret.max && !ret.all && !ret.count && !ret.partial) return;
  let line = `* ESEARCH (TAG ${JSON.stringify(tag)})${byUid ? ' UID' : ''}`;
  if (ids.length) {
    if (ret.min) line += ` MIN ${ids[0]}`;
    if (ret.max) line += ` MAX ${ids[ids.length - 1]}`;
    if (ret.all) line += ` ALL ${sorted ? ids.join(',') : compactSet(ids)}`;
  }
  if (ret.count) line += ` COUNT ${ids.length}`;
  if (ret.partial) {
    const [a, b] = ret.partial;
    const slice = ids.slice(a - 1, b);
    line += ` PARTIAL (${a}:${b} ${slice.length ? (sorted ? slice.join(',') : compactSet(slice)) : 'NIL'})`;
  }
  if (modseq !== null && ids.length && (ret.min || ret.max || ret.all || ret.count || ret.partial)) line += ` MODSEQ ${modseq}`;
  session.write(line + '\r\n');
}

/**
 * Whether a RETURN (UPDATE) search may keep a context (RFC 5267 4.2). When not, the search is
 * answered without one and the client is told with NOUPDATE: PARTIAL windows and SAVE are not
 * kept current, and a mailbox holds at most MAX_UPDATE_CONTEXTS of them.
 */
export function canUpdate(session: ImapSession, sel: SelectedMailbox, tag: string, ret: ReturnOptions): boolean {
  let why: string | null = null;
  // The tag names the context (CANCELUPDATE); one already in use keeps its context.
  if (sel.contexts.has(tag)) why = 'A search with this tag is already being updated';
  else if (ret.partial) why = 'Updates of PARTIAL results are not offered';
  else if (ret.save) why = 'Updates of a saved result are not offered';
  else if (sel.contexts.size >= MAX_UPDATE_CONTEXTS) why = 'Too many search contexts';
  if (!why) return true;
  session.untagged(`NO [NOUPDATE ${JSON.stringify(tag)}] ${why}`);
  return false;
}

async function runSearch(session: ImapSession, tag: string, args: Token[], byUid: boolean): Promise<void> {
  const sel = selectedOf(session);
  const parsedReturn = parseReturn(args);
  const rest = parsedReturn.rest;
  // RFC 9051 6.4.4: an IMAP4rev2 session gets ESEARCH for every SEARCH; no RETURN means ALL.
  const ret = parsedReturn.ret ?? (session.rev2 ? { min: false, max: false, all: true, count: false, save: false, partial: null, update: false } : null);
  let parsed;
  try {
    parsed = parseSearch(rest, { rev2: session.rev2 });
  } catch (err) {
    // A failed SEARCH ... RETURN (SAVE) leaves "$" empty (RFC 5182 2.1).
    if (ret?.save) sel.view.saved = [];
    throw err;
  }
  const { key, usesModseq } = parsed;
  if (usesModseq) session.enableCondstore();
  // A plain answer on flags alone: the numbers straight from the flag columns (issue 18). Asked
  // first, so that another search neither calls nor waits for it (a fresh process compiled it).
  const flagIds = !ret && !usesModseq && onFlagsAlone(key) ? await flagSearchIds(session, sel, key, byUid) : null;
  if (flagIds) {
    session.write(searchResponse(flagIds, null));
    return;
  }
  const hits = await executeSearch(session, sel, key);
  const highest = usesModseq && hits.length ? hits.reduce((m, h) => Math.max(m, h.modseq), 0) : null;
  if (ret) return answerSearchReturn(session, sel, tag, byUid, ret, key, hits, highest);
  // Hits come in sequence order, which is also UID order.
  const ids = hits.map((h) => (byUid ? h.uid : h.seq));
  session.write(searchResponse(ids, highest));
}

/**
 * SEARCH RETURN (...) or any SEARCH of IMAP4rev2: the ESEARCH answer, and the update context of
 * RETURN (UPDATE). A function of its own: a fresh process compiles a function whole on its first
 * call, and the first plain SEARCH compiled this too (issue 18, round 12).
 */
function answerSearchReturn(session: ImapSession, sel: SelectedMailbox, tag: string, byUid: boolean, ret: ReturnOptions, key: SearchKey, hits: SearchHit[], highest: number | null): void {
  const uids = hits.map((h) => h.uid);
  // Hits come in sequence order, which is also UID order.
  answerWithReturn(session, sel, tag, byUid, ret, byUid ? uids : hits.map((h) => h.seq), uids, highest, false);
  if (ret.update && canUpdate(session, sel, tag, ret)) sel.contexts.set(tag, new UpdateContext(tag, key, null, uids));
}

const SEARCH_PREFIX = '* SEARCH';

/**
 * The untagged SEARCH response (`* SEARCH 2 3 5`, with ` (MODSEQ n)` when `modseq` is given,
 * RFC 7162 3.1.5) as bytes, the numbers (sequence numbers or UIDs, below 2^32) written digit by
 * digit into one buffer of the exact size: joining them into a string, then encoding it for the
 * socket, was a third of a warm UID SEARCH FLAGGED with 10,000 hits (issue 18).
 */
export function searchResponse(ids: ArrayLike<number>, modseq: number | null): Buffer {
  const tail = modseq === null ? '\r\n' : ` (MODSEQ ${modseq})\r\n`;
  let size = SEARCH_PREFIX.length + tail.length + ids.length;
  for (let k = 0; k < ids.length; k++) size += digitCount(ids[k]!);
  const out = Buffer.allocUnsafe(size);
  let at = out.write(SEARCH_PREFIX, 0, 'latin1');
  for (let k = 0; k < ids.length; k++) at = writeSpacedNumber(out, at, ids[k]!);
  out.write(tail, at, 'latin1');
  return out;
}

/** CANCELUPDATE "tag" ... (RFC 5267 4.2): ends the update contexts of those searches. */
export const cancelUpdate: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    const sel = selectedOf(session);
    if (!cmd.args.length) throw new ImapSyntaxError('CANCELUPDATE needs at least one search tag');
    const tags = cmd.args.map((t) => {
      if (t.t !== 'string' && t.t !== 'atom') throw new ImapSyntaxError('Invalid search tag');
      return t.v;
    });
    const unknown = tags.find((t) => !sel.contexts.has(t));
    if (unknown !== undefined) throw new ImapSyntaxError(`No search updates for tag ${JSON.stringify(unknown.slice(0, 30))}`);
    for (const t of tags) sel.contexts.delete(t);
    return undefined;
  },
};

export const search: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runSearch(session, cmd.tag, cmd.args, false);
    return undefined;
  },
};

export const uidSearch: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runSearch(session, cmd.tag, cmd.args, true);
    return undefined;
  },
};
