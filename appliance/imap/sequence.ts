/**
 * Sequence sets (RFC 3501 `sequence-set`): "1:4,7,9:*". Resolved against the session's view
 * of the mailbox, either as message sequence numbers or as UIDs.
 */
import { ImapSyntaxError } from './parser.js';

/** Ranges with `*` as Infinity, not yet resolved. */
export type SeqRanges = Array<[number, number]>;

const SET_RE = /^(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*$/;

/** The SEARCHRES result variable "$" (RFC 5182): resolved against the view's saved result. */
export const SAVED_RESULT: SeqRanges = Object.freeze([]) as unknown as SeqRanges;

export function isSavedResult(ranges: SeqRanges): boolean {
  return ranges === SAVED_RESULT;
}

export function parseSequenceSet(text: string): SeqRanges {
  if (text === '$') return SAVED_RESULT;
  if (!SET_RE.test(text)) throw new ImapSyntaxError(`Invalid sequence set ${text.slice(0, 40)}`);
  const out: SeqRanges = [];
  for (const item of text.split(',')) {
    const [a, b] = item.split(':') as [string, string | undefined];
    const x = a === '*' ? Infinity : Number(a);
    const y = b === undefined ? x : b === '*' ? Infinity : Number(b);
    if (x === 0 || y === 0) throw new ImapSyntaxError('Sequence numbers start at 1');
    out.push(x <= y ? [x, y] : [y, x]);
  }
  return out;
}

export function isSequenceSet(text: string): boolean {
  return text === '$' || SET_RE.test(text);
}

/**
 * The session's view of a mailbox: UIDs by sequence number (seq = index + 1), ascending.
 * A compact typed array, so that a selected mailbox costs 4 bytes per message.
 */
export class UidMap {
  private arr: Uint32Array;
  private len = 0;
  /** `arr` is the caller's (a folder's column, which nobody changes): copied before the first change here. */
  private borrowed = false;

  /**
   * `uids` as a Uint32Array is borrowed, not copied (issue 18: copying 100,000 UIDs into fresh
   * memory was most of a warm SELECT): the caller must never change it.
   */
  constructor(uids: Iterable<number> = []) {
    if (uids instanceof Uint32Array) {
      this.arr = uids;
      this.len = uids.length;
      this.borrowed = true;
      return;
    }
    if (Array.isArray(uids)) {
      // a whole folder at SELECT: one allocation of the right size, no growth
      this.arr = new Uint32Array(Math.max(16, uids.length));
      this.arr.set(uids);
      this.len = uids.length;
      return;
    }
    this.arr = new Uint32Array(16);
    for (const u of uids) this.push(u);
  }

  get length(): number {
    return this.len;
  }

  uidAt(seq: number): number {
    return this.arr[seq - 1]!;
  }

  get maxUid(): number {
    return this.len ? this.arr[this.len - 1]! : 0;
  }

  push(uid: number): void {
    if (this.len === this.arr.length || this.borrowed) this.own(Math.max(16, this.arr.length * 2));
    this.arr[this.len++] = uid;
  }

  /** The UIDs in an array of this map's own, of `capacity`. */
  private own(capacity: number): void {
    const next = new Uint32Array(capacity);
    next.set(this.arr.subarray(0, this.len));
    this.arr = next;
    this.borrowed = false;
  }

  /**
   * Sequence numbers of many UIDs given in ascending order (0 for those not in the view): one
   * merge walk over both lists instead of a search per UID (whole-folder SEARCH and SORT).
   */
  seqsOfAscending(uids: ArrayLike<number>): Uint32Array {
    const out = new Uint32Array(uids.length);
    let j = 0;
    for (let i = 0; i < uids.length; i++) {
      const u = uids[i]!;
      while (j < this.len && this.arr[j]! < u) j++;
      if (j < this.len && this.arr[j] === u) out[i] = j + 1;
    }
    return out;
  }

  /**
   * Whether the view is exactly `uids` because it borrows that very column (same memory, same
   * length; a borrowed column never changes): then entry i of the column is sequence number i + 1,
   * with no merge walk (UID SEARCH FLAGGED of 100,000 messages, issue 18).
   */
  borrows(uids: Uint32Array): boolean {
    return this.borrowed && this.len === uids.length && this.arr.buffer === uids.buffer && this.arr.byteOffset === uids.byteOffset;
  }

  /**
   * Whether the view holds exactly `uids`, the same numbers in the same order: borrowed, or
   * compared as bytes in one native call (a session that saw every change, after its folder's
   * columns were replaced by the full index: SEARCH SUBJECT of a fresh process, issue 18).
   */
  holdsExactly(uids: Uint32Array): boolean {
    if (this.borrows(uids)) return true;
    if (this.len !== uids.length) return false;
    return Buffer.from(this.arr.buffer, this.arr.byteOffset, this.len * 4).equals(Buffer.from(uids.buffer, uids.byteOffset, uids.byteLength));
  }

  /** Sequence number of `uid`, or 0 when absent. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.len - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.arr[mid]!;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Removes the message at `seq`. */
  removeSeq(seq: number): void {
    if (this.borrowed) this.own(Math.max(16, this.arr.length));
    this.arr.copyWithin(seq - 1, seq, this.len);
    this.len--;
  }

  /**
   * The last SEARCH result saved with RETURN (SAVE) (RFC 5182), as UIDs: "$" refers to it.
   * Expunged UIDs drop out because "$" resolves only UIDs still in the view.
   */
  saved: number[] = [];

  private savedUids(): number[] {
    return this.saved.filter((u) => this.seqOf(u) > 0);
  }

  /**
   * Whether one range of a set of sequence numbers takes in every message of the view (`1:*`,
   * what FETCH 1:* (FLAGS) asks): then resolveSeq would give every UID of the view in order, and
   * FETCH of flags alone answers from the view without that array (issue 18: 100,000 numbers into
   * a JavaScript array cost 3-14 ms of CPU per FETCH and their garbage). Read as resolveSeq reads it.
   */
  takesAllSeqs(ranges: SeqRanges): boolean {
    if (isSavedResult(ranges) || !this.len) return false;
    for (const [a, b] of ranges) {
      const from = a === Infinity ? this.len : a;
      const to = Math.min(b === Infinity ? this.len : b, this.len);
      if (from <= 1 && to === this.len) return true;
    }
    return false;
  }

  /** The UIDs of a set given as sequence numbers (ascending, deduplicated, existing only). */
  resolveSeq(ranges: SeqRanges): number[] {
    if (isSavedResult(ranges)) return this.savedUids();
    if (!this.len) return [];
    // Ranges of positions clamped to the view, sorted and merged, then copied out in one pass
    // (no per-number set: FETCH 1:* of 100,000 messages is one slice).
    const spans: Array<[number, number]> = [];
    for (const [a, b] of ranges) {
      const from = a === Infinity ? this.len : a;
      const to = Math.min(b === Infinity ? this.len : b, this.len);
      if (Math.max(from, 1) <= to) spans.push([Math.max(from, 1), to]);
      if (from > this.len && b === Infinity) spans.push([this.len, this.len]);
    }
    spans.sort((x, y) => x[0] - y[0]);
    // Counted first, so the answer is allocated once at its size (no growth while copying).
    let count = 0;
    let done = 0;
    for (const [from, to] of spans) {
      count += Math.max(0, to - Math.max(from, done + 1) + 1);
      if (to > done) done = to;
    }
    const out: number[] = new Array<number>(count);
    let k = 0;
    done = 0;
    for (const [from, to] of spans) {
      for (let s = Math.max(from, done + 1); s <= to; s++) out[k++] = this.arr[s - 1]!;
      if (to > done) done = to;
    }
    return out;
  }

  /** The UIDs of a UID set that exist in the view (ascending). `*` is the largest UID. */
  resolveUid(ranges: SeqRanges): number[] {
    if (isSavedResult(ranges)) return this.savedUids();
    if (!this.len) return [];
    const max = this.maxUid;
    const out: number[] = [];
    const norm = ranges.map(([a, b]) => {
      const x = a === Infinity ? max : a;
      const y = b === Infinity ? max : b;
      return x <= y ? [x, y] : [y, x];
    }) as Array<[number, number]>;
    // Walk the view once per range with binary-searched bounds.
    const seen = new Set<number>();
    for (const [x, y] of norm) {
      let i = this.lowerBound(x);
      while (i < this.len && this.arr[i]! <= y) {
        const u = this.arr[i]!;
        if (!seen.has(u)) {
          seen.add(u);
          out.push(u);
        }
        i++;
      }
    }
    if (norm.length > 1) out.sort((p, q) => p - q);
    return out;
  }

  private lowerBound(uid: number): number {
    let lo = 0;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.arr[mid]! < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let i = 0; i < this.len; i++) yield this.arr[i]!;
  }
}

/** Compact "1:3,5" form of ascending numbers (for COPYUID and search responses). */
export function compactSet(nums: number[]): string {
  if (!nums.length) return '';
  const out: string[] = [];
  let start = nums[0]!;
  let prev = start;
  for (let i = 1; i <= nums.length; i++) {
    const n = nums[i];
    if (n === prev + 1) {
      prev = n;
      continue;
    }
    out.push(start === prev ? String(start) : `${start}:${prev}`);
    if (n !== undefined) start = prev = n;
  }
  return out.join(',');
}
