/**
 * Runs a parsed search over the selected mailbox: the executor shared by SEARCH, SORT, THREAD
 * and the CONTEXT=SEARCH/SORT updates (search-context.ts). A module of its own, so that the
 * command modules and the update contexts both import it and not each other.
 */
import type { MessageMeta } from '../mailstore/mime/types.js';
import type { MessageEntry } from '../mailstore/store.types.js';
import { type EvalCache, type SearchKey, matches, searchNeeds } from './search.js';
import type { SelectedMailbox } from './selected.js';
import type { ImapSession } from './session.js';

const RAW_CONCURRENCY = 8;

export interface SearchHit {
  seq: number;
  uid: number;
  modseq: number;
  entry: MessageEntry;
}

/**
 * Runs a parsed search over the session's view; hits in sequence order. `only` limits it to
 * those entries (ascending UID): the changed messages a CONTEXT update re-evaluates.
 */
export async function executeSearch(session: ImapSession, sel: SelectedMailbox, key: SearchKey, only?: MessageEntry[]): Promise<SearchHit[]> {
  const needs = searchNeeds(key);
  const all = only ?? (await session.store.listMessages(sel.folder.id));
  // Only messages the session knows (its view), with their sequence numbers (both lists ascend by UID).
  const allSeqs = sel.view.seqsOfAscending(all.map((e) => e.uid));
  const entries: MessageEntry[] = [];
  const seqs: number[] = [];
  for (let i = 0; i < all.length; i++) {
    if (!allSeqs[i]) continue;
    entries.push(all[i]!);
    seqs.push(allSeqs[i]!);
  }
  const metas: Map<number, MessageMeta> | null = needs.meta ? await session.store.getMeta(entries.map((e) => e.messageId)) : null;
  const maxSeq = sel.view.length;
  const maxUid = sel.view.maxUid;
  const saved = new Set(sel.view.saved);
  const hits: SearchHit[] = [];
  const hit = (e: MessageEntry, seq: number) => hits.push({ seq, uid: e.uid, modseq: e.modseq, entry: e });

  if (needs.raw === 'none') {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const seq = seqs[i]!;
      if (matches(key, { entry: e, seq, meta: metas?.get(e.messageId) ?? null, raw: null, recent: sel.recent.has(e.uid), saved }, maxSeq, maxUid)) hit(e, seq);
    }
    return hits;
  }
  // Message bytes are read with bounded concurrency.
  let next = 0;
  const results: boolean[] = new Array(entries.length).fill(false);
  const worker = async () => {
    while (next < entries.length && !session.isClosed) {
      const i = next++;
      const e = entries[i]!;
      const meta = metas?.get(e.messageId) ?? null;
      let raw: Buffer | null = null;
      try {
        raw = await session.store.readMessage(e.messageId, needs.raw === 'header' && meta ? { start: 0, end: meta.root.bodyStart } : undefined);
      } catch {
        continue;
      }
      const cache: EvalCache = {};
      results[i] = matches(key, { entry: e, seq: seqs[i]!, meta, raw, recent: sel.recent.has(e.uid), saved }, maxSeq, maxUid, cache);
    }
  };
  await Promise.all(Array.from({ length: RAW_CONCURRENCY }, worker));
  entries.forEach((e, i) => {
    if (results[i]) hit(e, seqs[i]!);
  });
  return hits;
}
