/**
 * FETCH of UID, FLAGS and MODSEQ only (issue 18: FETCH 1:* (FLAGS) of a 100,000-message
 * folder, what a mail client asks to resynchronise): answered from the folder's flag columns
 * (flag-columns.ts) without an entry object per message; each distinct flag list is formatted
 * once and the responses leave in writes of about 64 KiB. Anything else goes the general way
 * (commands/fetch.ts).
 */
import type { FetchItem } from './fetch-items.js';
import { flagColumnsOf } from './flag-columns.js';
import { formatFlags } from './format.js';
import type { SelectedMailbox } from './selected.js';
import type { ImapSession } from './session.js';

const CHUNK = 65536;
/** Bytes of a response line at most: "* seq FETCH (" and ")\r\n", and per item "UID uid" or "MODSEQ (modseq)" with the longest numbers, or the flags. */
const LINE_BYTES = 24;
const ITEM_BYTES = 32;
const SPACE = 32;
const CLOSE = 41;

/** Response bytes built in a buffer of their own, handed to the socket a chunk at a time. */
class ResponseBytes {
  private buf = Buffer.allocUnsafe(CHUNK + 1024);
  length = 0;

  room(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + extra));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** A non-negative integer (sequence numbers, UIDs, MODSEQs); room() made space for it. */
  num(v: number): void {
    const b = this.buf;
    let digits = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
    let i = this.length + digits - 1;
    for (let x = v; i >= this.length; i--, x = Math.floor(x / 10)) b[i] = 48 + (x % 10);
    this.length += digits;
  }

  byte(c: number): void {
    this.buf[this.length++] = c;
  }

  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.buf[this.length++] = s.charCodeAt(i);
  }

  bytes(b: Buffer): void {
    b.copy(this.buf, this.length);
    this.length += b.length;
  }

  /** The bytes so far (the socket keeps them), and a fresh buffer for the next. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.length);
    this.buf = Buffer.allocUnsafe(CHUNK + 1024);
    this.length = 0;
    return out;
  }
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
  const cols = await flagColumnsOf(session.store, sel.folder.id);
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
  const flagItems = items.filter((i) => i.kind === 'FLAGS').length;
  const wantsFlags = flagItems > 0;
  const lineBytes = LINE_BYTES + items.length * ITEM_BYTES;
  if (wantsFlags) {
    const used = new Uint8Array(cols.lists.length);
    for (let k = 0; k < n; k++) used[cols.list[at[k]!]!] = 1;
    sel.announceKeywords(session, cols.lists.filter((_, l) => used[l]) as string[][]);
  }
  // Each distinct list formatted once (with \Recent added for the messages recent in this session),
  // as bytes: the responses are written into buffers of about 64 KiB (no string per message).
  const plain: Array<Buffer | undefined> = [];
  const recentText: Array<Buffer | undefined> = [];
  const recentHere = sel.recent.size > 0 && !session.rev2;
  const w = new ResponseBytes();
  for (let k = 0; k < n; k++) {
    const seq = seqs[k]!;
    if (!seq) continue;
    const j = at[k]!;
    const uid = cols.uids[j]!;
    let flags: Buffer | null = null;
    if (wantsFlags) {
      const l = cols.list[j]!;
      const list = cols.lists[l]! as string[];
      flags = recentHere && sel.recent.has(uid) ? (recentText[l] ??= Buffer.from(`FLAGS ${formatFlags([...list, '\\Recent'])}`)) : (plain[l] ??= Buffer.from(`FLAGS ${formatFlags(list)}`));
    }
    w.room(lineBytes + (flags ? flags.length * flagItems : 0));
    w.ascii('* ');
    w.num(seq);
    w.ascii(' FETCH (');
    for (let t = 0; t < items.length; t++) {
      if (t) w.byte(SPACE);
      const kind = items[t]!.kind;
      if (kind === 'UID') {
        w.ascii('UID ');
        w.num(uid);
      } else if (kind === 'MODSEQ') {
        w.ascii('MODSEQ (');
        w.num(cols.modseqs[j]!);
        w.byte(CLOSE);
      } else w.bytes(flags!);
    }
    w.ascii(')\r\n');
    if (w.length >= CHUNK) {
      await session.writeAndWait(w.take());
      if (session.isClosed) return true;
    }
  }
  if (w.length) await session.writeAndWait(w.take());
  return true;
}
