/** SEARCH and UID SEARCH (every RFC 3501 key, CHARSET UTF-8, MODSEQ of CONDSTORE). */
import type { MessageMeta } from '../../mailstore/mime/types.js';
import { type EvalCache, matches, parseSearch, searchNeeds } from '../search.js';
import type { ImapSession } from '../session.js';
import { selectedOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { SELECTED } from './types.js';

const RAW_CONCURRENCY = 8;

async function runSearch(session: ImapSession, args: Parameters<typeof parseSearch>[0], byUid: boolean): Promise<void> {
  const sel = selectedOf(session);
  const { key, usesModseq } = parseSearch(args);
  if (usesModseq) session.enableCondstore();
  const needs = searchNeeds(key);
  const all = await session.store.listMessages(sel.folder.id);
  // Only messages the session knows (its view), with their sequence numbers.
  const entries = all.filter((e) => sel.view.seqOf(e.uid) > 0);
  const metas: Map<number, MessageMeta> | null = needs.meta ? await session.store.getMeta(entries.map((e) => e.messageId)) : null;
  const maxSeq = sel.view.length;
  const maxUid = sel.view.maxUid;
  const hits: Array<{ seq: number; uid: number; modseq: number }> = [];

  if (needs.raw === 'none') {
    for (const e of entries) {
      const seq = sel.view.seqOf(e.uid);
      if (matches(key, { entry: e, seq, meta: metas?.get(e.messageId) ?? null, raw: null, recent: sel.recent.has(e.uid) }, maxSeq, maxUid)) hits.push({ seq, uid: e.uid, modseq: e.modseq });
    }
  } else {
    // Cheap keys first would be nicer; bytes are read with bounded concurrency.
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
        results[i] = matches(key, { entry: e, seq: sel.view.seqOf(e.uid), meta, raw, recent: sel.recent.has(e.uid) }, maxSeq, maxUid, cache);
      }
    };
    await Promise.all(Array.from({ length: RAW_CONCURRENCY }, worker));
    entries.forEach((e, i) => {
      if (results[i]) hits.push({ seq: sel.view.seqOf(e.uid), uid: e.uid, modseq: e.modseq });
    });
  }
  const ids = hits.map((h) => (byUid ? h.uid : h.seq)).sort((a, b) => a - b);
  let line = `* SEARCH${ids.length ? ' ' + ids.join(' ') : ''}`;
  if (usesModseq && hits.length) line += ` (MODSEQ ${hits.reduce((m, h) => Math.max(m, h.modseq), 0)})`;
  session.write(line + '\r\n');
}

export const search: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runSearch(session, cmd.args, false);
    return undefined;
  },
};

export const uidSearch: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runSearch(session, cmd.args, true);
    return undefined;
  },
};
