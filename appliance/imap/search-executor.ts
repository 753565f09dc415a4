/**
 * Runs a parsed search over the selected mailbox: the executor shared by SEARCH, SORT, THREAD
 * and the CONTEXT=SEARCH/SORT updates (search-context.ts). A module of its own, so that the
 * command modules and the update contexts both import it and not each other.
 *
 * BODY and TEXT keys are answered by the store's search index when it has one (issue 18,
 * mailstore/fulltext.ts); only messages the index has no whole text of, or needles it cannot
 * answer exactly, are read and decoded as before.
 */
import type { MessageMeta } from '../mailstore/mime/types.js';
import type { FlagColumns, MessageEntry, UidFlagColumns } from '../mailstore/store.types.js';
import { columnsOfEntries, flagColumnsOf, uidFlagColumnsOf } from './flag-columns.js';
import type { TextSearchAnswer } from '../mailstore/fulltext.js';
import { type EvalCache, type SearchKey, type SearchTarget, addressFieldText, matches, searchNeeds, textKeys } from './search.js';
import type { SelectedMailbox } from './selected.js';
import { UidMap } from './sequence.js';
import { madeUpFolder } from '../mailstore/warm-up-folder.js';
import type { ImapSession } from './session.js';

const RAW_CONCURRENCY = 8;

/** A message found: what SEARCH, SORT and the update contexts answer with (no entry object: a flag search of 100,000 messages may find 10,000). */
export interface SearchHit {
  seq: number;
  uid: number;
  /** Read only when the search key has MODSEQ (RFC 7162 3.1.5); 0 from a search on flags alone, which never has it. */
  modseq: number;
}

type Needs = ReturnType<typeof searchNeeds>;

/** What a search reads of the selected mailbox: the session's view (sequence numbers, "$") and its \\Recent UIDs. */
export type SearchScope = Pick<SelectedMailbox, 'view' | 'recent'>;

/** The index's answers by key, and what each entry still needs loaded (the scan's needs where the index cannot answer). */
async function indexAnswers(session: ImapSession, sel: SelectedMailbox, key: SearchKey, entries: MessageEntry[], only: boolean) {
  const keys = textKeys(key);
  const scan = searchNeeds(key);
  if (!keys.length || !session.store.searchText) return { needsOf: (): Needs => scan, answerOf: () => undefined };
  const ids = entries.map((e) => e.messageId);
  // The whole view: the index says which of these it covers from its own rows (a cold SEARCH BODY read every entry row of the folder for it).
  const answer: TextSearchAnswer = await session.store.searchText(
    sel.folder.id,
    only ? ids : null,
    keys.map((k) => ({ field: k.k, needle: k.s })),
    only ? undefined : ids,
  );
  const byKey = new Map<SearchKey, Set<number> | null>(keys.map((k, i) => [k, answer.hits[i] ?? null]));
  const indexed = searchNeeds(key, { textIndexed: true });
  const partial = answer.hits.some((h) => h === null);
  return {
    needsOf: (e: MessageEntry): Needs => (partial || answer.uncovered.has(e.messageId) ? scan : indexed),
    answerOf: (e: MessageEntry) => {
      if (answer.uncovered.has(e.messageId)) return undefined;
      return (k: SearchKey) => {
        const hits = byKey.get(k);
        return hits ? hits.has(e.messageId) : undefined;
      };
    },
  };
}

/** Whether a key has a MODSEQ key anywhere (the only search whose hits need their MODSEQ, RFC 7162 3.1.5). */
function hasModseqKey(key: SearchKey): boolean {
  switch (key.k) {
    case 'modseq':
      return true;
    case 'not':
      return hasModseqKey(key.a);
    case 'or':
      return hasModseqKey(key.a) || hasModseqKey(key.b);
    case 'and':
      return key.all.some(hasModseqKey);
    default:
      return false;
  }
}

/** Whether a key looks at nothing but the flags (FLAGGED, UNSEEN, KEYWORD, and NOT/OR/AND of them). */
export function onFlagsAlone(key: SearchKey): boolean {
  switch (key.k) {
    case 'all':
    case 'none':
    case 'flag':
      return true;
    case 'not':
      return onFlagsAlone(key.a);
    case 'or':
      return onFlagsAlone(key.a) && onFlagsAlone(key.b);
    case 'and':
      return key.all.every(onFlagsAlone);
    default:
      return false;
  }
}

/**
 * A search of flags, dates, sizes and UIDs: answered from the folder's columns alone, in one pass
 * with one entry object refilled per message (UID SEARCH FLAGGED of 100,000 messages); only
 * the hits become objects.
 */
function plainSearch(sel: SearchScope, key: SearchKey, cols: FlagColumns, seqs: Uint32Array = sel.view.seqsOfAscending(cols.uids), metas: Map<number, MessageMeta> | null = null): SearchHit[] {
  const hits: SearchHit[] = [];
  if (!cols.length) return hits;
  const maxSeq = sel.view.length;
  const maxUid = sel.view.maxUid;
  const shared: EvalCache = {};
  // Refilled per message below (entryAt would read the MODSEQs, which only a MODSEQ key needs).
  const cursor: MessageEntry = { uid: 0, messageId: 0, flags: [], modseq: 0, internalDate: 0, size: 0, savedAt: null };
  const target: SearchTarget = { entry: cursor, seq: 0, meta: null, raw: null, recent: false, saved: new Set(sel.view.saved), textAnswer: undefined };
  const recent = sel.recent.size > 0;
  if (!metas && onFlagsAlone(key)) return flagSearch(sel, key, cols, seqs);
  // A narrow index decodes its MODSEQs on first read (issue 18): only a key with MODSEQ reads them.
  const modseqs = hasModseqKey(key) ? cols.modseqs : null;
  for (let i = 0; i < cols.length; i++) {
    const seq = seqs[i]!;
    if (!seq) continue;
    const uid = cols.uids[i]!;
    const savedAt = cols.savedAts[i]!;
    cursor.uid = uid;
    cursor.messageId = cols.messageIds[i]!;
    cursor.flags = cols.lists[cols.list[i]!] as string[];
    cursor.modseq = modseqs ? modseqs[i]! : 0;
    cursor.internalDate = cols.internalDates[i]!;
    cursor.size = cols.sizes[i]!;
    cursor.savedAt = Number.isNaN(savedAt) ? null : savedAt;
    target.seq = seq;
    target.recent = recent && sel.recent.has(uid);
    target.meta = metas ? (metas.get(cursor.messageId) ?? null) : null;
    // Address keys memoize per message: a fresh cache for each when metadata is searched.
    if (matches(key, target, maxSeq, maxUid, metas ? {} : shared)) hits.push({ seq, uid, modseq: cursor.modseq });
  }
  return hits;
}

/**
 * A search whose answer depends on the flags alone (UID SEARCH FLAGGED): decided once per
 * distinct flag list; UIDs and flag lists are all it reads, so a fresh process's narrow
 * index will do (issue 18).
 */
function flagSearch(sel: SearchScope, key: SearchKey, cols: UidFlagColumns, seqs: Uint32Array | null = seqsInView(sel, cols.uids)): SearchHit[] {
  const at = flagMatches(sel, key, cols, seqs);
  const hits: SearchHit[] = new Array(at.length);
  // No MODSEQs: a key on flags alone has no MODSEQ key (a narrow index decodes them on first read, issue 18).
  for (let k = 0; k < at.length; k++) {
    const i = at[k]!;
    hits[k] = { seq: seqs ? seqs[i]! : i + 1, uid: cols.uids[i]!, modseq: 0 };
  }
  return hits;
}

/**
 * The entries of the columns in the session's view (`seqs`, or null when entry i is message
 * i + 1) whose flag list matches a key on flags alone, ascending, in one typed array: a fresh
 * process runs this loop in the interpreter before V8 compiles it (UID SEARCH FLAGGED of 100,000
 * messages, issue 18), so it does as little per message as it can.
 */
function flagMatches(sel: SearchScope, key: SearchKey, cols: UidFlagColumns, seqs: Uint32Array | null): Uint32Array {
  const byList = flagSearchLists(sel, key, cols);
  const { length, list } = cols;
  // The matches gather in a scratch array kept between searches (the loop is synchronous), and
  // leave as a copy of their own size: a fresh column-sized array per search (400 KB for 100,000
  // messages, zeroed) was garbage the next collection paid for (issue 18, warm UID SEARCH FLAGGED).
  if (scratch.length < length) scratch = new Uint32Array(Math.max(length, scratch.length * 2));
  const out = scratch;
  let n = 0;
  if (seqs) {
    for (let i = 0; i < length; i++) if (seqs[i] && byList[list[i]!]) out[n++] = i;
  } else {
    for (let i = 0; i < length; i++) if (byList[list[i]!]) out[n++] = i;
  }
  return out.slice(0, n);
}

/** flagMatches' scratch array: grown to the largest folder searched, reused by every search. */
let scratch = new Uint32Array(1024);

/**
 * The answer of a plain SEARCH or UID SEARCH on flags alone over the session's view: the numbers
 * themselves, ascending, in one typed array, without a hit object per message; null when the key
 * looks at more than the flags (then executeSearch).
 */
export async function flagSearchIds(session: ImapSession, sel: SelectedMailbox, key: SearchKey, byUid: boolean): Promise<Uint32Array | null> {
  if (!onFlagsAlone(key)) return null;
  const cols = await uidFlagColumnsOf(session.store, sel.folder.id);
  const seqs = seqsInView(sel, cols.uids);
  return idsOfMatches(flagMatches(sel, key, cols, seqs), cols.uids, seqs, byUid);
}

/** Each entry index of `out` (flagMatches) becomes its UID or sequence number, in place. */
function idsOfMatches(out: Uint32Array, uids: Uint32Array, seqs: Uint32Array | null, byUid: boolean): Uint32Array {
  if (byUid) for (let k = 0; k < out.length; k++) out[k] = uids[out[k]!]!;
  else if (seqs) for (let k = 0; k < out.length; k++) out[k] = seqs[out[k]!]!;
  else for (let k = 0; k < out.length; k++) out[k] += 1;
  return out;
}

/**
 * Warm-up at server start (issue 18, fourteenth round), on the made-up folder
 * (mailstore/warm-up-folder.ts; no stored data is read, nothing is kept but the grown scratch
 * array): UID SEARCH FLAGGED and SEARCH UNSEEN over it, in the session's own order and through a
 * view of other UIDs, a few times each. A fresh process otherwise ran flagMatches' loop over all
 * 100,000 entries of a large folder in the interpreter on its first flag search (about 4 ms of
 * a cold UID SEARCH FLAGGED's main-thread CPU). Resolves to the answers (a test checks them).
 */
export function warmUpFlagSearch(): Uint32Array[] {
  const { uids, list, lists } = madeUpFolder();
  const cols: UidFlagColumns = { length: uids.length, uids, list, lists, modseqs: new Float64Array(0) };
  const own: SearchScope = { view: new UidMap(uids), recent: new Set() };
  const other: SearchScope = { view: new UidMap(uids.filter((u) => u % 4 === 1)), recent: new Set() };
  const flagged: SearchKey = { k: 'flag', flag: '\\Flagged', set: true };
  const unseen: SearchKey = { k: 'flag', flag: '\\Seen', set: false };
  const out: Uint32Array[] = [];
  for (let round = 0; round < 3; round++)
    for (const scope of [own, other])
      for (const [key, byUid] of [
        [flagged, true],
        [unseen, false],
      ] as const) {
        const seqs = seqsInView(scope, uids);
        out.push(idsOfMatches(flagMatches(scope, key, cols, seqs), uids, seqs, byUid));
      }
  return out;
}

/**
 * Sequence numbers of the folder's UIDs in the session's view (0: not in it), or null when the
 * view is that very column or holds the same UIDs, so that entry i is message i + 1: the common
 * case of a session that has seen every change (issue 18, UID SEARCH FLAGGED of 100,000
 * messages; SEARCH SUBJECT after FETCH replaced the folder's narrow columns by full ones).
 */
export function seqsInView(sel: SearchScope, uids: Uint32Array): Uint32Array | null {
  return sel.view.holdsExactly(uids) ? null : sel.view.seqsOfAscending(uids);
}

/** A key on the flags alone decided for each distinct flag list of the columns (1: matches). */
function flagSearchLists(sel: SearchScope, key: SearchKey, cols: UidFlagColumns): Uint8Array {
  const entry: MessageEntry = { uid: 0, messageId: 0, flags: [], modseq: 0, internalDate: 0, size: 0, savedAt: null };
  const target: SearchTarget = { entry, seq: 0, meta: null, raw: null, recent: false, saved: new Set(sel.view.saved), textAnswer: undefined };
  const shared: EvalCache = {};
  const out = new Uint8Array(cols.lists.length);
  cols.lists.forEach((flags, i) => {
    entry.flags = flags as string[];
    out[i] = matches(key, target, sel.view.length, sel.view.maxUid, shared) ? 1 : 0;
  });
  return out;
}

/**
 * A search of header fields kept in the metadata (SUBJECT, FROM/TO/CC/BCC, SENT*) with flags,
 * dates and the like (issue 18, SEARCH SUBJECT): the folder's columns, the metadata of the
 * messages in the view in one batch, one pass; no entry object per message, only the hits.
 */
async function metaSearch(session: ImapSession, sel: SelectedMailbox, key: SearchKey): Promise<SearchHit[]> {
  const cols = await flagColumnsOf(session.store, sel.folder.id);
  // A view that holds the folder's UIDs (null): every message, message i + 1 at entry i, no walk.
  const seqs = seqsInView(sel, cols.uids);
  const ids: number[] = seqs ? [] : Array.from(cols.messageIds);
  if (seqs) for (let i = 0; i < cols.length; i++) if (seqs[i]) ids.push(cols.messageIds[i]!);
  // Keys metaMatches decides read the header fields alone: from the folder's envelope copy after a
  // start (issue 18, fourteenth round: the SEARCH SUBJECT after a FETCH ENVELOPE answered from the
  // copy read every message's row), else the metadata.
  const store = session.store;
  if (store.headerFields && ids.length && headerKeysOnly(key)) return metaHits(sel, key, cols, seqs, await store.headerFields(sel.folder.id, ids));
  const metas = ids.length ? await store.getMeta(ids) : new Map<number, MessageMeta>();
  return metaHits(sel, key, cols, seqs, metas);
}

/** The header fields of messages by message id SUBJECT and FROM/TO/CC/BCC are decided on (store.headerFields, or the metadata). */
export interface HeaderFields {
  subject(id: number): string;
  address(id: number, field: 'from' | 'to' | 'cc' | 'bcc'): string;
}

/** A key metaMatches decides (never null), reading header fields and flags only. */
export function headerKeysOnly(key: SearchKey): boolean {
  switch (key.k) {
    case 'all':
    case 'none':
    case 'subject':
    case 'addr':
    case 'flag':
      return true;
    case 'not':
      return headerKeysOnly(key.a);
    case 'or':
      return headerKeysOnly(key.a) && headerKeysOnly(key.b);
    case 'and':
      return key.all.every(headerKeysOnly);
    default:
      return false;
  }
}

/** The header fields of metadata by message id (a message without any: empty fields). */
function fieldsOfMetas(metas: Map<number, MessageMeta>): HeaderFields {
  return {
    subject: (id) => metas.get(id)?.subject ?? '',
    address: (id, field) => addressFieldText(metas.get(id) ?? null, field),
  };
}

/**
 * metaSearch's answer once its columns and metadata are read (`seqs`: seqsInView's). Apart from
 * the reads so that the server's start-up warm-up (search-warmup.ts) runs it on a made-up folder.
 */
export function metaHits(sel: SearchScope, key: SearchKey, cols: FlagColumns, seqs: Uint32Array | null, metas: Map<number, MessageMeta> | HeaderFields): SearchHit[] {
  const match = metaMatches(key, cols, sel, metas);
  // Only a key headerKeysOnly refuses gets here, always with the metadata.
  if (!match) return plainSearch(sel, key, cols, seqs ?? identitySeqs(cols.length), metas as Map<number, MessageMeta>);
  const hits: SearchHit[] = [];
  const { uids } = cols;
  // MODSEQs only for a key with MODSEQ: the first SEARCH SUBJECT of a fresh process decoded them all.
  const modseqs = hasModseqKey(key) ? cols.modseqs : null;
  // From match to match natively: a search of 1,200 messages with 30 hits runs its loop 30 times.
  for (let i = match.indexOf(1); i !== -1; i = match.indexOf(1, i + 1)) {
    const seq = seqs ? seqs[i]! : i + 1;
    if (seq) hits.push({ seq, uid: uids[i]!, modseq: modseqs ? modseqs[i]! : 0 });
  }
  return hits;
}

/** 1, 2, …, n: the sequence numbers of a view that holds every entry of the columns. */
function identitySeqs(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i + 1;
  return out;
}

/**
 * SUBJECT, FROM/TO/CC/BCC and flag keys, and NOT/OR/AND of them, decided for every entry of the
 * folder's columns (1: matches) key by key, not message by message (issue 18, rounds 9 and 13:
 * SEARCH SUBJECT cold): where plainSearch refills an entry object and walks the whole key switch
 * for each message, this makes one pass per key; a flag key is decided once per distinct flag
 * list, a SUBJECT key natively (subjectHits). The answers are matches()'s. Null for any other key.
 */
export function metaMatches(key: SearchKey, cols: FlagColumns, sel: SearchScope, source: Map<number, MessageMeta> | HeaderFields): Uint8Array | null {
  const n = cols.length;
  const metas = source instanceof Map ? fieldsOfMetas(source) : source;
  switch (key.k) {
    case 'all':
      return new Uint8Array(n).fill(1);
    case 'none':
      return new Uint8Array(n);
    case 'subject':
      return subjectHits(cols.messageIds, n, metas, key.s);
    case 'addr': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = metas.address(cols.messageIds[i]!, key.field).includes(key.s) ? 1 : 0;
      return out;
    }
    case 'flag': {
      const byList = flagSearchLists(sel, key, cols);
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = byList[cols.list[i]!]!;
      return out;
    }
    case 'not': {
      const a = metaMatches(key.a, cols, sel, metas);
      if (a) for (let i = 0; i < n; i++) a[i] ^= 1;
      return a;
    }
    case 'or':
    case 'and': {
      const parts = key.k === 'or' ? [key.a, key.b] : key.all;
      let out: Uint8Array | null = null;
      for (const k of parts) {
        const m = metaMatches(k, cols, sel, metas);
        if (!m) return null;
        if (!out) out = m;
        else if (key.k === 'or') for (let i = 0; i < n; i++) out[i] |= m[i]!;
        else for (let i = 0; i < n; i++) out[i] &= m[i]!;
      }
      return out;
    }
    default:
      return null;
  }
}

/**
 * For each of the first `n` entries (1: matches), whether the decoded Subject of its metadata
 * holds `s` (lower-case) as subjectMatches decides it: the subjects joined by line feeds,
 * lower-cased once and searched natively, a match counted where it lies within one subject
 * (issue 18, SEARCH SUBJECT of a fresh process: a lower-cased copy, a search and two calls per
 * message ran in code V8 had not compiled yet). A line feed is neither cased nor
 * case-ignorable, so no subject's lower case depends on its neighbours (the final sigma); when
 * lower-casing changed the length (U+0130 becomes two code units) each subject is tested alone.
 */
export function subjectHits(messageIds: ArrayLike<number>, n: number, source: Map<number, MessageMeta> | HeaderFields, s: string): Uint8Array {
  const metas = source instanceof Map ? fieldsOfMetas(source) : source;
  const out = new Uint8Array(n);
  if (!s.length) return out.fill(1);
  const parts = new Array<string>(n);
  // Where each subject ends in the joined text (the separator's place; the next one starts after it).
  const ends = new Uint32Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const subject = metas.subject(messageIds[i]!);
    parts[i] = subject;
    at += subject.length;
    ends[i] = at++;
  }
  const text = parts.join('\n');
  const low = text.toLowerCase();
  if (low.length !== text.length) {
    for (let i = 0; i < n; i++) out[i] = parts[i]!.toLowerCase().includes(s) ? 1 : 0;
    return out;
  }
  const len = s.length;
  let i = 0;
  let p = low.indexOf(s);
  while (p !== -1) {
    // The first subject that ends at or after the match's start: the match starts in it (or on its end).
    while (ends[i]! < p) i++;
    if (p + len <= ends[i]!) {
      out[i] = 1;
      p = low.indexOf(s, ends[i]! + 1);
    } else p = low.indexOf(s, p + 1);
  }
  return out;
}

/**
 * What executeSearch does with a key: 'columns' (flags, dates, sizes, UIDs: one pass over the
 * columns), 'meta' (header fields kept in the metadata, metaSearch) or 'scan' (the search index,
 * the message bytes). Worked out once per search (textKeys and searchNeeds walk the key).
 */
export function searchPath(key: SearchKey): 'columns' | 'meta' | 'scan' {
  const text = textKeys(key).length > 0;
  const needs = searchNeeds(key);
  if (!text && !needs.meta) return 'columns';
  return !text && needs.raw === 'none' ? 'meta' : 'scan';
}

/**
 * Runs a parsed search over the session's view; hits in sequence order. `only` limits it to
 * those entries (ascending UID): the changed messages a CONTEXT update re-evaluates.
 */
export function executeSearch(session: ImapSession, sel: SelectedMailbox, key: SearchKey, only?: MessageEntry[]): Promise<SearchHit[]> {
  const path = searchPath(key);
  // Flags, dates, sizes, UIDs only (no metadata, no bytes): one pass over columns, no object per message.
  if (path === 'columns') return plainColumnsSearch(session, sel, key, only);
  if (!only && path === 'meta') return metaSearch(session, sel, key);
  // Kept apart from this dispatch: a fresh process compiles a function whole on its first call,
  // and the first SEARCH SUBJECT of one compiled this path too (issue 18, round 12).
  return scanSearch(session, sel, key, only);
}

/** A search of flags, dates, sizes and UIDs (executeSearch): from the folder's columns, or the columns of `only`. */
async function plainColumnsSearch(session: ImapSession, sel: SelectedMailbox, key: SearchKey, only: MessageEntry[] | undefined): Promise<SearchHit[]> {
  if (!only && onFlagsAlone(key)) return flagSearch(sel, key, await uidFlagColumnsOf(session.store, sel.folder.id));
  return plainSearch(sel, key, only ? columnsOfEntries(only) : await flagColumnsOf(session.store, sel.folder.id));
}

/**
 * The general search (executeSearch): the index answers BODY/TEXT keys where it can, metadata
 * and message bytes are loaded for the messages whose keys need them.
 */
async function scanSearch(session: ImapSession, sel: SelectedMailbox, key: SearchKey, only: MessageEntry[] | undefined): Promise<SearchHit[]> {
  const all = only ?? (await session.store.listMessages(sel.folder.id));
  // Only messages the session knows (its view), with their sequence numbers (both lists ascend by UID).
  const uids = new Uint32Array(all.length);
  for (let i = 0; i < all.length; i++) uids[i] = all[i]!.uid;
  const allSeqs = sel.view.seqsOfAscending(uids);
  let entries: MessageEntry[] = all;
  let seqs: ArrayLike<number> = allSeqs;
  if (allSeqs.includes(0)) {
    entries = [];
    const known: number[] = [];
    for (let i = 0; i < all.length; i++) {
      if (!allSeqs[i]) continue;
      entries.push(all[i]!);
      known.push(allSeqs[i]!);
    }
    seqs = known;
  }
  const { needsOf, answerOf } = await indexAnswers(session, sel, key, entries, only !== undefined);
  const needs = entries.map(needsOf);
  const metaIds = entries.filter((e, i) => needs[i]!.meta).map((e) => e.messageId);
  const metas: Map<number, MessageMeta> | null = metaIds.length ? await session.store.getMeta(metaIds) : null;
  const maxSeq = sel.view.length;
  const maxUid = sel.view.maxUid;
  const saved = new Set(sel.view.saved);
  const results: boolean[] = new Array(entries.length).fill(false);
  const reading: number[] = [];
  // One target object reused for the messages answered without their bytes (flags, dates,
  // metadata, the index): a search of 100,000 entries allocates no object per message.
  const target: SearchTarget = { entry: entries[0]!, seq: 0, meta: null, raw: null, recent: false, saved, textAnswer: undefined };
  for (let i = 0; i < entries.length; i++) {
    if (needs[i]!.raw !== 'none') {
      reading.push(i);
      continue;
    }
    const e = entries[i]!;
    target.entry = e;
    target.seq = seqs[i]!;
    target.meta = metas?.get(e.messageId) ?? null;
    target.recent = sel.recent.has(e.uid);
    target.textAnswer = answerOf(e);
    results[i] = matches(key, target, maxSeq, maxUid, {});
  }
  // Message bytes are read with bounded concurrency.
  let next = 0;
  const worker = async () => {
    while (next < reading.length && !session.isClosed) {
      const i = reading[next++]!;
      const e = entries[i]!;
      const meta = metas?.get(e.messageId) ?? null;
      let raw: Buffer | null = null;
      try {
        raw = await session.store.readMessage(e.messageId, needs[i]!.raw === 'header' && meta ? { start: 0, end: meta.root.bodyStart } : undefined);
      } catch {
        continue;
      }
      const cache: EvalCache = {};
      results[i] = matches(key, { entry: e, seq: seqs[i]!, meta, raw, recent: sel.recent.has(e.uid), saved, textAnswer: answerOf(e) }, maxSeq, maxUid, cache);
    }
  };
  await Promise.all(Array.from({ length: RAW_CONCURRENCY }, worker));
  const hits: SearchHit[] = [];
  entries.forEach((e, i) => {
    if (results[i]) hits.push({ seq: seqs[i]!, uid: e.uid, modseq: e.modseq });
  });
  return hits;
}
