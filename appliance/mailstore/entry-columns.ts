/**
 * A folder's entries as columns of numbers (issue 18): UIDs, message ids, MODSEQs, dates,
 * sizes in typed arrays, and each entry's flags as the index of a list kept once per distinct
 * flag list. A 100,000-entry folder is seven arrays instead of 100,000 objects: loading its
 * persisted copy is a buffer copy, and SELECT, FETCH FLAGS and flag searches walk arrays.
 * MessageEntry objects are made only for the entries a caller asks for.
 */
import type { FlagColumns, FolderChanges, MessageEntry, UidFlagColumns } from './store.types.js';

/** The parts of columns taken as they are by EntryColumns.of; `modseq` may be decoded on first use. */
export type ColumnArrays = Pick<EntryColumns, 'uid' | 'messageId' | 'internalDate' | 'savedAt' | 'size' | 'list'> & { modseq: Float64Array | (() => Float64Array) };

export class EntryColumns {
  length = 0;
  uid: Uint32Array;
  messageId: Float64Array;
  /** The MODSEQ column (`modseq`), or null while `modseqLater` has not decoded it yet. */
  private modseqArr: Float64Array | null = null;
  /**
   * Decodes the MODSEQ column on first use (issue 18: a fresh process's SELECT of a large folder
   * needs UIDs and flags only; the narrow copy's MODSEQs wait for a command that reads them).
   * Memoized: columns handed out before share the one decoding.
   */
  private modseqLater: (() => Float64Array) | null = null;
  internalDate: Float64Array;
  /** NaN: null. */
  savedAt: Float64Array;
  size: Float64Array;
  list: Uint32Array;
  /** Distinct flag lists, frozen and shared by their entries; only appended to (readers may keep it). */
  readonly lists: Array<readonly string[]>;
  private readonly listIds = new Map<string, number>();
  /** The columns were handed out (flagColumns): copied before the next change. */
  private shared = false;

  constructor(capacity: number, lists: Array<readonly string[]> = []) {
    const cap = Math.max(16, capacity);
    this.uid = new Uint32Array(cap);
    this.messageId = new Float64Array(cap);
    this.modseq = new Float64Array(cap);
    this.internalDate = new Float64Array(cap);
    this.savedAt = new Float64Array(cap);
    this.size = new Float64Array(cap);
    this.list = new Uint32Array(cap);
    this.lists = lists;
    lists.forEach((l, i) => {
      if (!this.listIds.has(l.join(' '))) this.listIds.set(l.join(' '), i);
    });
  }

  get modseq(): Float64Array {
    if (this.modseqLater) {
      this.modseqArr = this.modseqLater();
      this.modseqLater = null;
    }
    return this.modseqArr!;
  }

  set modseq(a: Float64Array) {
    this.modseqArr = a;
    this.modseqLater = null;
  }

  /** Columns taken as they are (the persisted copy's arrays: no copy, no per-entry work); a function as `modseq` is called on first use. */
  static of(cols: ColumnArrays, n: number, lists: Array<readonly string[]>): EntryColumns {
    const c = new EntryColumns(0, lists);
    const { modseq, ...rest } = cols;
    Object.assign(c, rest);
    if (typeof modseq === 'function') {
      let a: Float64Array | null = null;
      c.modseqLater = () => (a ??= modseq());
    } else c.modseq = modseq;
    c.length = n;
    return c;
  }

  static fromEntries(entries: readonly MessageEntry[]): EntryColumns {
    const c = new EntryColumns(entries.length);
    for (const e of entries) c.put(c.length++, e);
    return c;
  }

  /** The index of a flag list (interned: one frozen list per distinct list). */
  intern(flags: readonly string[]): number {
    const key = flags.join(' ');
    let id = this.listIds.get(key);
    if (id === undefined) {
      id = this.lists.length;
      this.lists.push(Object.isFrozen(flags) ? flags : Object.freeze([...flags]));
      this.listIds.set(key, id);
    }
    return id;
  }

  private put(i: number, e: MessageEntry): void {
    this.uid[i] = e.uid;
    this.messageId[i] = e.messageId;
    this.modseq[i] = e.modseq;
    this.internalDate[i] = e.internalDate;
    this.savedAt[i] = e.savedAt ?? NaN;
    this.size[i] = e.size;
    this.list[i] = this.intern(e.flags);
  }

  entry(i: number): MessageEntry {
    const savedAt = this.savedAt[i]!;
    return {
      uid: this.uid[i]!,
      messageId: this.messageId[i]!,
      flags: this.lists[this.list[i]!] as string[],
      modseq: this.modseq[i]!,
      internalDate: this.internalDate[i]!,
      size: this.size[i]!,
      savedAt: Number.isNaN(savedAt) ? null : savedAt,
    };
  }

  /** Every entry as an object (ascending UID; a fresh array of fresh objects). */
  entries(): MessageEntry[] {
    const out = new Array<MessageEntry>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.entry(i);
    return out;
  }

  /**
   * The columns as views, without a copy: they stay as they are for the caller, because the
   * next change copies the columns first (copy on write) instead of changing them in place.
   */
  flagColumns(): FlagColumns {
    const n = this.length;
    this.shared = true;
    return {
      length: n,
      uids: this.uid.subarray(0, n),
      messageIds: this.messageId.subarray(0, n),
      modseqs: this.modseq.subarray(0, n),
      internalDates: this.internalDate.subarray(0, n),
      savedAts: this.savedAt.subarray(0, n),
      sizes: this.size.subarray(0, n),
      list: this.list.subarray(0, n),
      lists: this.lists,
    };
  }

  /**
   * UIDs, MODSEQs and flag lists as views, like flagColumns(), with the MODSEQs taken from their
   * column only when a reader asks (`modseqs`), as they are now: SELECT reads UIDs and flags alone.
   */
  uidFlagColumns(): UidFlagColumns {
    const n = this.length;
    this.shared = true;
    // The column as it is now: its array, or the (memoized) decoding this object uses as well.
    const arr = this.modseqArr;
    const later = this.modseqLater;
    let modseqs: Float64Array | null = null;
    return {
      length: n,
      uids: this.uid.subarray(0, n),
      list: this.list.subarray(0, n),
      lists: this.lists,
      get modseqs() {
        return (modseqs ??= (later ? later() : arr!).subarray(0, n));
      },
    };
  }

  /** Before a change: columns handed out by flagColumns() are left to their readers. */
  private unshare(): void {
    if (!this.shared) return;
    this.shared = false;
    this.uid = this.uid.slice();
    this.messageId = this.messageId.slice();
    this.modseq = this.modseq.slice();
    this.internalDate = this.internalDate.slice();
    this.savedAt = this.savedAt.slice();
    this.size = this.size.slice();
    this.list = this.list.slice();
  }

  /** Index of the entry with `uid`, or -(insertion point) - 1. */
  find(uid: number): number {
    let lo = 0;
    let hi = this.length - 1;
    const u = this.uid;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = u[mid]!;
      if (v === uid) return mid;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  private grow(): void {
    const cap = Math.max(16, Math.ceil(this.uid.length * 1.5));
    const more = <T extends Uint32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a.subarray(0, this.length));
      return b;
    };
    this.uid = more(this.uid);
    this.messageId = more(this.messageId);
    this.modseq = more(this.modseq);
    this.internalDate = more(this.internalDate);
    this.savedAt = more(this.savedAt);
    this.size = more(this.size);
    this.list = more(this.list);
  }

  private insertAt(i: number, e: MessageEntry): void {
    if (this.length === this.uid.length) this.grow();
    if (i < this.length) for (const a of this.columns()) a.copyWithin(i + 1, i, this.length);
    this.put(i, e);
    this.length++;
  }

  private columns(): Array<Uint32Array | Float64Array> {
    return [this.uid, this.messageId, this.modseq, this.internalDate, this.savedAt, this.size, this.list];
  }

  /** Applies journal changes in place (idempotent); true when entries were added or removed. */
  apply(ch: Pick<FolderChanges, 'changed' | 'expunged'>): boolean {
    let membershipChanged = false;
    if (ch.changed.length || ch.expunged.length) this.unshare();
    for (const e of ch.changed) {
      const last = this.length ? this.uid[this.length - 1]! : 0;
      const i = e.uid > last ? -this.length - 1 : this.find(e.uid);
      if (i >= 0) this.put(i, e);
      else {
        this.insertAt(-i - 1, e);
        membershipChanged = true;
      }
    }
    if (ch.expunged.length) {
      const gone = new Set(ch.expunged);
      const cols = this.columns();
      let k = 0;
      for (let i = 0; i < this.length; i++) {
        if (gone.has(this.uid[i]!)) continue;
        if (k !== i) for (const a of cols) a[k] = a[i]!;
        k++;
      }
      if (k !== this.length) membershipChanged = true;
      this.length = k;
    }
    return membershipChanged;
  }
}
