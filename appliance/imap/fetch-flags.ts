/**
 * FETCH of UID, FLAGS and MODSEQ only (issue 18: FETCH 1:* (FLAGS) of a 100,000-message
 * folder, what a mail client asks to resynchronise): answered from the folder's flag columns
 * (flag-columns.ts) without an entry object per message; each distinct flag list is formatted
 * once and the responses leave in writes of about 64 KiB (FLAGS alone: written as bytes into two
 * reused buffers, flagLines). Anything else goes the general way
 * (commands/fetch.ts).
 */
import type { FetchItem } from './fetch-items.js';
import { uidFlagColumnsOf } from './flag-columns.js';
import { formatFlags } from './format.js';
import type { SelectedMailbox } from './selected.js';
import type { UidFlagColumns } from '../mailstore/store.types.js';
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

/** How often FETCH (FLAGS) wrote straight from the columns with no per-message array (a test reads it). */
export const flagLinePaths = { fromColumns: 0 };

const SLAB = 64 * 1024;
/** Room a line needs beyond its list's text: "* ", ten digits. */
const HEAD_ROOM = 12;

/**
 * Lines `* <seqs[k]><rests[code[k]]>` for k = from, from + 1... (`seqs` null: the sequence number
 * is k + 1; a number 0 is no line) written into `buf` from byte 0 while they fit; returns the k it stopped at and
 * leaves the bytes used in `flagLines.used`. Numbers are written digit by digit, the rest copied
 * byte by byte (issue 18, FETCH 1:* (FLAGS) of 100,000 messages: no string per line, no rope
 * to flatten and encode before the TLS write).
 */
export function flagLines(buf: Uint8Array, seqs: ArrayLike<number> | null, code: ArrayLike<number>, rests: ArrayLike<Uint8Array | undefined>, from: number): number {
  let pos = 0;
  let k = from;
  const end = buf.length - HEAD_ROOM;
  for (; k < code.length; k++) {
    let v = seqs ? seqs[k]! : k + 1;
    if (!v) continue;
    const rest = rests[code[k]!]!;
    if (pos + rest.length > end) break;
    buf[pos] = 42; // *
    buf[pos + 1] = 32;
    let d = pos + 2;
    for (let x = v; x >= 10; x = (x / 10) >>> 0) d++;
    pos = d + 1;
    do {
      buf[d--] = 48 + (v % 10);
      v = (v / 10) >>> 0;
    } while (v);
    for (let b = 0; b < rest.length; b++) buf[pos + b] = rest[b]!;
    pos += rest.length;
  }
  flagLines.used = pos;
  return k;
}
flagLines.used = 0;

/**
 * Writes flagLines' output through two reused buffers: one fills while the socket holds the
 * other (written with session.writeOwned), and the next fill waits for the client when the
 * socket's buffer is full (back-pressure).
 */
async function writeFlagLines(session: ImapSession, seqs: ArrayLike<number> | null, code: ArrayLike<number>, rests: ArrayLike<Uint8Array | undefined>): Promise<void> {
  let spare: { buf: Buffer; done: Promise<void> } | null = null;
  let buf: Buffer = Buffer.allocUnsafeSlow(SLAB);
  for (let k = 0; k < code.length;) {
    const stop = flagLines(buf, seqs, code, rests, k);
    const used = flagLines.used;
    if (!used) {
      if (stop === code.length) break;
      // A line longer than a buffer (a flag list of that many keywords) goes on its own.
      await session.writeAndWait(Buffer.concat([Buffer.from(`* ${seqs ? seqs[stop]! : stop + 1}`), rests[code[stop]!]!]));
      k = stop + 1;
      if (session.isClosed) return;
      continue;
    }
    k = stop;
    const done = session.writeOwned(buf.subarray(0, used));
    const other = spare;
    spare = { buf, done };
    if (other) {
      if (!session.isClosed) await other.done;
      buf = other.buf;
    } else buf = Buffer.allocUnsafeSlow(SLAB);
    if (session.isClosed) return;
    await session.drain();
    if (session.isClosed) return;
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

/**
 * The keywords of the flag lists of the lines to write that the client was not told of yet (RFC
 * 3501 7.2.6, an untagged FLAGS first); the lines' list numbers are walked only when some list
 * holds a keyword at all. `at`: the lines' column positions (null: the first `n`).
 */
function announceListKeywords(session: ImapSession, sel: SelectedMailbox, cols: UidFlagColumns, at: Uint32Array | null, n: number): void {
  if (!cols.lists.some((flags) => flags.some((f) => f.charCodeAt(0) !== 92 /* \ */))) return;
  const used = new Uint8Array(cols.lists.length);
  for (let k = 0; k < n; k++) used[cols.list[at ? at[k]! : k]!] = 1;
  sel.announceKeywords(session, cols.lists.filter((_, l) => used[l]) as string[][]);
}

export function flagsOnly(items: FetchItem[]): boolean {
  return items.every((i) => i.kind === 'UID' || i.kind === 'FLAGS' || i.kind === 'MODSEQ');
}

/**
 * Writes the responses for `uids` (ascending, from the session's view; null: every message of the
 * view, FETCH 1:*); false when the general path must answer.
 */
export async function fetchFlags(session: ImapSession, sel: SelectedMailbox, items: FetchItem[], asked: number[] | null, changedSince: number | null): Promise<boolean> {
  if (!flagsOnly(items)) return false;
  // UIDs, MODSEQs and flags are all it reads: a fresh process's narrow index will do (issue 18).
  const cols = await uidFlagColumnsOf(session.store, sel.folder.id);
  if (session.isClosed) return true;
  const recentHere = sel.recent.size > 0 && !session.rev2;
  const onlyFlags = items.length === 1 && items[0]!.kind === 'FLAGS';
  // FETCH 1:* (FLAGS) of a session that saw no change since SELECT, what clients ask: its view
  // borrows the column itself, so the UIDs asked for are the column and position j is sequence
  // number j + 1. Lines go from the columns straight to bytes (flagLines), with no per-message
  // array made before; with no \Recent here, a line's list number is its text's number.
  if (onlyFlags && !recentHere && changedSince === null && (asked ? asked.length : sel.view.length) === cols.length && cols.length > 0 && sel.view.borrows(cols.uids.subarray(0, cols.length))) {
    flagLinePaths.fromColumns++;
    announceListKeywords(session, sel, cols, null, cols.length);
    const rests = cols.lists.map((flags) => Buffer.from(` FETCH (FLAGS ${formatFlags(flags as string[])})\r\n`));
    await writeFlagLines(session, null, cols.list.subarray(0, cols.length), rests);
    return true;
  }
  const uids = asked ?? sel.view.resolveSeq([[1, Infinity]]);
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
  if (items.some((i) => i.kind === 'FLAGS')) announceListKeywords(session, sel, cols, at, n);
  if (onlyFlags) {
    // Written as bytes too; `code` numbers each line's text: its list, and \Recent or not.
    const rests: Uint8Array[] = [];
    const code = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const j = at[k]!;
      const l = cols.list[j]!;
      const c = recentHere && sel.recent.has(cols.uids[j]!) ? l * 2 + 1 : l * 2;
      if (!rests[c]) {
        const flags = cols.lists[l]! as string[];
        rests[c] = Buffer.from(` FETCH (FLAGS ${formatFlags(c & 1 ? [...flags, '\\Recent'] : flags)})\r\n`);
      }
      code[k] = c;
    }
    await writeFlagLines(session, seqs, code, rests);
    return true;
  }
  // Each distinct list formatted once (with \Recent added for the messages recent in this session).
  const plain: Array<string | undefined> = [];
  const recentText: Array<string | undefined> = [];
  let out = '';
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
