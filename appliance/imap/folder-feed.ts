/**
 * A folder's recent changes, shared by the sessions of this process that have it selected
 * (issue 18, concurrent clients on one folder). Each session catches up after every command
 * (selected.ts): with ten sessions on a busy folder, every change was read from the database
 * ten times, each read waiting for the writer's transaction to let go of the connection. Here
 * the first session to catch up after a change reads what changed since the feed's last read
 * (store.changesSince, as before) and keeps it; the others are answered from memory.
 *
 * What a session gets is what changesSince would give it: every entry whose MODSEQ is above the
 * session's, as it is now (the feed keeps the latest state of each), and the UIDs expunged since
 * the feed started holding changes, which may include some the session already handled (a
 * session ignores UIDs not in its view, and expunging twice is harmless). The feed is marked
 * stale by the folder's change events (after each commit, other nodes' too), as the sessions
 * are; a session further behind than what the feed holds reads the database itself.
 */
import type { FolderChanges, MailStore, MessageEntry } from '../mailstore/store.types.js';

/** Changes held per folder at most; beyond it the feed starts again from its latest MODSEQ. */
export const FEED_MAX_HELD = 4096;

export class FolderFeed {
  /** Changes above this MODSEQ are held (-1: nothing held yet). */
  private base = -1;
  private highest = 0;
  private uidNext = 0;
  private readonly changed = new Map<number, MessageEntry>();
  private readonly expunged = new Set<number>();
  /** Change events so far, and how many of them the last completed read started after. */
  private events = 0;
  private readUpTo = -1;
  private reading: Promise<void> | null = null;
  private users = 0;
  private readonly unwatch: () => void;
  /** Reads of the database so far (observability, tests). */
  reads = 0;

  private constructor(
    private readonly store: MailStore,
    private readonly folderId: number,
    private readonly onIdle: () => void,
  ) {
    this.unwatch = store.watch(folderId, () => {
      this.events++;
    });
  }

  /** The feed of a folder of `store`, shared with other sessions; release() it when done. */
  static acquire(store: MailStore, folderId: number): FolderFeed {
    let feeds = FEEDS.get(store);
    if (!feeds) FEEDS.set(store, (feeds = new Map()));
    let feed = feeds.get(folderId);
    if (!feed) {
      const map = feeds;
      feed = new FolderFeed(store, folderId, () => map.delete(folderId));
      map.set(folderId, feed);
    }
    feed.users++;
    return feed;
  }

  release(): void {
    if (--this.users > 0) return;
    this.unwatch();
    this.onIdle();
  }

  /** The folder's changes above `modseq` (store.changesSince's answer, see the header). */
  async changesSince(modseq: number): Promise<FolderChanges> {
    const seen = this.events;
    if (this.base < 0) {
      // The first use: this session's changes are read, and held from its MODSEQ on.
      this.reads++;
      const ch = await this.store.changesSince(this.folderId, modseq);
      if (this.base < 0) {
        this.base = modseq;
        this.readUpTo = seen;
        this.merge(ch);
      }
      return ch;
    }
    // Every change committed before this call is read by a read started after its event.
    while (this.readUpTo < seen) {
      this.reading ??= this.readChanges().finally(() => {
        this.reading = null;
      });
      await this.reading;
    }
    if (modseq < this.base) {
      this.reads++;
      return this.store.changesSince(this.folderId, modseq);
    }
    const changed: MessageEntry[] = [];
    for (const e of this.changed.values()) if (e.modseq > modseq) changed.push(e);
    changed.sort((a, b) => a.uid - b.uid);
    const expunged = this.highest > modseq ? [...this.expunged].sort((a, b) => a - b) : [];
    return { highestModseq: this.highest, uidNext: this.uidNext, changed, expunged };
  }

  private async readChanges(): Promise<void> {
    const upTo = this.events;
    this.reads++;
    this.merge(await this.store.changesSince(this.folderId, this.highest));
    this.readUpTo = Math.max(this.readUpTo, upTo);
    if (this.changed.size + this.expunged.size > FEED_MAX_HELD) {
      // Sessions catch up after every command: few are ever behind the latest MODSEQ.
      this.base = this.highest;
      this.changed.clear();
      this.expunged.clear();
    }
  }

  private merge(ch: FolderChanges): void {
    for (const e of ch.changed) {
      const held = this.changed.get(e.uid);
      if (!held || held.modseq <= e.modseq) this.changed.set(e.uid, e);
    }
    for (const uid of ch.expunged) {
      this.changed.delete(uid);
      this.expunged.add(uid);
    }
    this.highest = Math.max(this.highest, ch.highestModseq);
    this.uidNext = Math.max(this.uidNext, ch.uidNext);
  }
}

const FEEDS = new WeakMap<MailStore, Map<number, FolderFeed>>();
