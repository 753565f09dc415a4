/**
 * FETCH of UID, FLAGS and MODSEQ only (issue 18: FETCH 1:* (FLAGS) of a 100,000-message
 * folder, what a mail client asks to resynchronise): answered from the folder's flag columns
 * (flag-columns.ts) without an entry object per message; each distinct flag list is formatted
 * once and the responses leave in writes of about 64 KiB. Anything else goes the general way
 * (commands/fetch.ts).
 */
import type { FetchItem } from './fetch-items.js';
import { uidFlagColumnsOf } from './flag-columns.js';
import { formatFlags } from './format.js';
import type { SelectedMailbox } from './selected.js';
import type { ImapSession } from './session.js';

const CHUNK = 65536;
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/**
 * `prefix` and a number as text, for numbers that mostly ascend one by one (sequence numbers and
 * UIDs of a FETCH 1:*): the prefix and the tens are made into one string once per ten numbers and
 * the last digit is added per call, instead of a number made into a string per line (issue 18: a
 * quarter less CPU per line of FETCH 1:* (FLAGS), in a micro-benchmark of 100,000 lines).
 */
function tensWriter(prefix: string): (v: number) => string {
  let tens = -1;
  let head = '';
  return (v) => {
    const t = Math.floor(v / 10);
    if (t !== tens) {
      tens = t;
      head = t ? prefix + t : prefix;
    }
    return head + DIGITS[v - t * 10]!;
  };
}

/** The first position in [lo, hi) of `a` (ascending) holding `v` or more. */
function lowerBound(a: Uint32Array, v: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function flagsOnly(items: FetchItem[]): boolean {
  return items.every((i) => i.kind === 'UID' || i.kind === 'FLAGS' || i.kind === 'MODSEQ');
}

/** Writes the responses for `uids` (ascending, from the session's view); false when the general path must answer. */
export async function fetchFlags(session: ImapSession, sel: SelectedMailbox, items: FetchItem[], uids: number[], changedSince: number | null): Promise<boolean> {
  if (!flagsOnly(items)) return false;
  // UIDs, MODSEQs and flags are all it reads: a fresh process's narrow index will do (issue 18).
  const cols = await uidFlagColumnsOf(session.store, sel.folder.id);
  if (session.isClosed) return true;
  // The columns' positions of the UIDs asked for (both ascend), kept when CHANGEDSINCE lets them through:
  // a binary search each when they are few, one merge walk when they are many.
  const at = new Uint32Array(uids.length);
  let n = 0;
  const few = uids.length * 16 < cols.length;
  for (let i = 0, j = 0; i < uids.length && j < cols.length; i++) {
    const u = uids[i]!;
    if (few) j = lowerBound(cols.uids, u, j, cols.length);
    else while (j < cols.length && cols.uids[j]! < u) j++;
    if (j < cols.length && cols.uids[j] === u && (changedSince === null || cols.modseqs[j]! > changedSince)) at[n++] = j;
  }
  if (!n) return true;
  const picked = new Uint32Array(n);
  for (let k = 0; k < n; k++) picked[k] = cols.uids[at[k]!]!;
  const seqs = few ? picked.map((u) => sel.view.seqOf(u)) : sel.view.seqsOfAscending(picked);
  const wantsFlags = items.some((i) => i.kind === 'FLAGS');
  if (wantsFlags) {
    const used = new Uint8Array(cols.lists.length);
    for (let k = 0; k < n; k++) used[cols.list[at[k]!]!] = 1;
    sel.announceKeywords(session, cols.lists.filter((_, l) => used[l]) as string[][]);
  }
  // Each distinct list formatted once (with \Recent added for the messages recent in this session).
  const plain: Array<string | undefined> = [];
  const recentText: Array<string | undefined> = [];
  const recentHere = sel.recent.size > 0 && !session.rev2;
  let out = '';
  if (items.length === 1 && items[0]!.kind === 'FLAGS') {
    // FETCH 1:* (FLAGS), what clients ask: per distinct list its whole line after the number, so
    // a line is two strings joined (about 15% less CPU than the general loop below, in a micro-benchmark of 100,000 lines).
    const rest: Array<string | undefined> = [];
    const restRecent: Array<string | undefined> = [];
    const seqText = tensWriter('* ');
    for (let k = 0; k < n; k++) {
      const seq = seqs[k]!;
      if (!seq) continue;
      const l = cols.list[at[k]!]!;
      const flags = cols.lists[l]! as string[];
      out +=
        seqText(seq) +
        (recentHere && sel.recent.has(cols.uids[at[k]!]!) ? (restRecent[l] ??= ` FETCH (FLAGS ${formatFlags([...flags, '\\Recent'])})\r\n`) : (rest[l] ??= ` FETCH (FLAGS ${formatFlags(flags)})\r\n`));
      if (out.length >= CHUNK) {
        await session.writeAndWait(out);
        out = '';
        if (session.isClosed) return true;
      }
    }
    if (out) await session.writeAndWait(out);
    return true;
  }
  const seqText = tensWriter('* ');
  const uidText = tensWriter('UID ');
  for (let k = 0; k < n; k++) {
    const seq = seqs[k]!;
    if (!seq) continue;
    const j = at[k]!;
    const uid = cols.uids[j]!;
    let line = seqText(seq) + ' FETCH (';
    for (let t = 0; t < items.length; t++) {
      if (t) line += ' ';
      const kind = items[t]!.kind;
      if (kind === 'UID') line += uidText(uid);
      else if (kind === 'MODSEQ') line += `MODSEQ (${cols.modseqs[j]!})`;
      else {
        const l = cols.list[j]!;
        const flags = cols.lists[l]! as string[];
        const text = recentHere && sel.recent.has(uid) ? (recentText[l] ??= formatFlags([...flags, '\\Recent'])) : (plain[l] ??= formatFlags(flags));
        line += `FLAGS ${text}`;
      }
    }
    out += `${line})\r\n`;
    if (out.length >= CHUNK) {
      await session.writeAndWait(out);
      out = '';
      if (session.isClosed) return true;
    }
  }
  if (out) await session.writeAndWait(out);
  return true;
}
