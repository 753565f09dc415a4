/**
 * The entries of recently used folders kept in memory and brought up to date from the change
 * journal (MODSEQ, RFC 7162): a command reads the folder's HIGHESTMODSEQ (one row) and, when it
 * moved, only the entries changed or expunged since then — never the whole folder again. SELECT,
 * FETCH, SEARCH, SORT and THREAD of a 100,000-message folder thus cost work that depends on the
 * command, not on the folder size. Catching up from the journal also covers writes made by
 * another process on the same database.
 */
import type { FolderChanges, MessageEntry } from './store.types.js';
import { type FolderSnapshot, decodeEntries, encodeEntries } from './folder-snapshot.js';

export interface FolderIndexSource {
  /** The folder's HIGHESTMODSEQ now (throws NotFound for a folder that is gone). */
  highestModseq(folderId: number): Promise<number>;
  /** Every entry by ascending UID. */
  loadEntries(folderId: number): Promise<MessageEntry[]>;
  changesSince(folderId: number, modseq: number): Promise<FolderChanges>;
  /** A persisted compact copy of the entries (folder-snapshot.ts); absent: always read the rows. */
  loadSnapshot?(folderId: number): Promise<FolderSnapshot | null>;
  saveSnapshot?(folderId: number, snap: FolderSnapshot): Promise<void>;
  /** How many entries the folder has (checks a copy after its catch-up). */
  countEntries?(folderId: number): Promise<number>;
}

interface Indexed {
  modseq: number;
  entries: MessageEntry[];
  /** Bumped when entries are added or removed (not on flag changes): sort rows depend on it. */
  membership: number;
  /** Journal changes applied since the persisted copy was written (or found). */
  unsaved: number;
}

/** Folders smaller than this are read from their rows (a few milliseconds); larger ones get a persisted copy. */
export const SNAPSHOT_MIN_ENTRIES = 1000;

/** Index of the entry with `uid`, or -(insertion point) - 1. */
function find(entries: MessageEntry[], uid: number): number {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const u = entries[mid]!.uid;
    if (u === uid) return mid;
    if (u < uid) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

/** Applies journal changes to an index in place; true when entries were added or removed. */
export function applyChanges(entries: MessageEntry[], ch: Pick<FolderChanges, 'changed' | 'expunged'>): { entries: MessageEntry[]; membershipChanged: boolean } {
  let membershipChanged = false;
  for (const e of ch.changed) {
    const last = entries.length ? entries[entries.length - 1]!.uid : 0;
    if (e.uid > last) {
      entries.push(e);
      membershipChanged = true;
      continue;
    }
    const i = find(entries, e.uid);
    if (i >= 0) entries[i] = e;
    else {
      entries.splice(-i - 1, 0, e);
      membershipChanged = true;
    }
  }
  if (ch.expunged.length) {
    const gone = new Set(ch.expunged);
    const kept = entries.filter((e) => !gone.has(e.uid));
    if (kept.length !== entries.length) return { entries: kept, membershipChanged: true };
  }
  return { entries, membershipChanged };
}

export class FolderIndex {
  private readonly folders = new Map<number, Indexed>();
  /** One catch-up at a time per folder, so journal changes are applied in order. */
  private readonly pending = new Map<number, Promise<Indexed>>();
  private held = 0;

  constructor(
    private readonly source: FolderIndexSource,
    /** Entries kept over all folders; least recently used folders are dropped beyond it. */
    private readonly maxEntries = 400_000,
  ) {}

  /** The folder's entries by ascending UID, current as of this call (a fresh array each time). */
  async entries(folderId: number): Promise<MessageEntry[]> {
    return (await this.current(folderId)).entries.slice();
  }

  /**
   * The entries of `uids` (ascending), current as of this call: a binary search per UID when
   * they are few, one merge pass when they are many; the folder's list is never copied.
   */
  async pick(folderId: number, wanted: number[]): Promise<MessageEntry[]> {
    const { entries } = await this.current(folderId);
    let uids = wanted;
    for (let i = 1; i < uids.length; i++) {
      if (uids[i]! <= uids[i - 1]!) {
        uids = [...new Set(wanted)].sort((a, b) => a - b);
        break;
      }
    }
    const out: MessageEntry[] = [];
    if (uids.length * 16 < entries.length) {
      for (const uid of uids) {
        const i = find(entries, uid);
        if (i >= 0) out.push(entries[i]!);
      }
      return out;
    }
    let j = 0;
    for (const e of entries) {
      while (j < uids.length && uids[j]! < e.uid) j++;
      if (j === uids.length) break;
      if (uids[j] === e.uid) out.push(e);
    }
    return out;
  }

  /** The entries and a number that changes whenever entries were added or removed. */
  async snapshot(folderId: number): Promise<{ entries: readonly MessageEntry[]; membership: number }> {
    const ix = await this.current(folderId);
    return { entries: ix.entries, membership: ix.membership };
  }

  /** Forgets a folder (deleted). */
  drop(folderId: number): void {
    const ix = this.folders.get(folderId);
    if (ix) this.held -= ix.entries.length;
    this.folders.delete(folderId);
  }

  /**
   * The entries from the persisted copy caught up from the journal, or null when there is none
   * or it does not match the folder (then the rows are read).
   */
  private async fromSnapshot(folderId: number, modseq: number): Promise<Indexed | null> {
    const { loadSnapshot, countEntries } = this.source;
    if (!loadSnapshot || !countEntries) return null;
    const snap = await loadSnapshot.call(this.source, folderId).catch(() => null);
    if (!snap || snap.modseq > modseq) return null;
    let entries = decodeEntries(snap.data);
    if (!entries || entries.length !== snap.entries) return null;
    let at = snap.modseq;
    let unsaved = 0;
    if (at < modseq) {
      const ch = await this.source.changesSince(folderId, at);
      entries = applyChanges(entries, ch).entries;
      at = Math.max(at, ch.highestModseq);
      unsaved = ch.changed.length + ch.expunged.length;
    }
    // A copy that went astray (entries removed without a journal row) shows in the count.
    if ((await countEntries.call(this.source, folderId)) !== entries.length) return null;
    return { modseq: at, entries, membership: 0, unsaved };
  }

  /** Writes a new copy of a large folder when none matches it or many changes were applied since (in the background). */
  private persist(folderId: number, ix: Indexed): void {
    const save = this.source.saveSnapshot;
    if (!save || ix.entries.length < SNAPSHOT_MIN_ENTRIES) return;
    if (ix.unsaved <= Math.max(500, ix.entries.length / 20)) return;
    ix.unsaved = 0;
    const snap = { modseq: ix.modseq, entries: ix.entries.length, data: encodeEntries(ix.entries) };
    void save.call(this.source, folderId, snap).catch(() => undefined);
  }

  private current(folderId: number): Promise<Indexed> {
    const running = this.pending.get(folderId);
    const next = (running ? running.catch(() => undefined) : Promise.resolve()).then(() => this.catchUp(folderId));
    const tracked = next.finally(() => {
      if (this.pending.get(folderId) === tracked) this.pending.delete(folderId);
    });
    this.pending.set(folderId, tracked);
    return tracked;
  }

  private async catchUp(folderId: number): Promise<Indexed> {
    const modseq = await this.source.highestModseq(folderId);
    let ix = this.folders.get(folderId);
    if (ix && modseq < ix.modseq) {
      // MODSEQ never goes back for one folder; if it did (a restored database), read it all again.
      this.drop(folderId);
      ix = undefined;
    }
    if (ix && modseq !== ix.modseq) {
      const ch = await this.source.changesSince(folderId, ix.modseq);
      const before = ix.entries.length;
      const r = applyChanges(ix.entries, ch);
      ix.entries = r.entries;
      if (r.membershipChanged) ix.membership++;
      ix.modseq = Math.max(ix.modseq, ch.highestModseq);
      ix.unsaved += ch.changed.length + ch.expunged.length;
      this.held += ix.entries.length - before;
      this.persist(folderId, ix);
    } else if (!ix) {
      // HIGHESTMODSEQ is read before the entries: a change made in between is applied again
      // at the next catch-up, which is harmless (applying a change is idempotent).
      const loaded = (await this.fromSnapshot(folderId, modseq)) ?? { modseq, entries: await this.source.loadEntries(folderId), membership: 0, unsaved: Infinity };
      ix = this.folders.get(folderId) ?? loaded;
      if (!this.folders.has(folderId)) this.held += ix.entries.length;
      this.persist(folderId, ix);
    }
    // Most recently used last; drop the oldest folders beyond the bound (never this one).
    this.folders.delete(folderId);
    this.folders.set(folderId, ix);
    for (const [id, other] of this.folders) {
      if (this.held <= this.maxEntries || id === folderId) break;
      this.folders.delete(id);
      this.held -= other.entries.length;
    }
    return ix;
  }
}
