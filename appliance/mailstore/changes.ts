/**
 * Change notifications, fired after a commit. Every store write of this node runs in the
 * appliance process (Haraka deliveries arrive over RPC), so watchers see all of this node's
 * changes; in a cluster the other nodes' changes arrive as remote events (cluster-changes.ts:
 * folder and MODSEQ only, watchers read the changes from the journal).
 */
import { type ClusterNotifier, TOPICS, type TopicMessage } from '../cluster/notifier.js';
import { folderMessage } from './cluster-changes.js';
import type { FolderEvent } from './store.types.js';
import type { JobContext } from './write-queue.js';

type Global = { fn: (event: FolderEvent) => void; remote: boolean };

export class ChangeBus {
  private readonly listeners = new Map<number, Set<(event: FolderEvent) => void>>();
  /** Listeners of every folder's changes (the spam learner, IMAP NOTIFY); they must return at once. */
  private readonly global = new Set<Global>();

  /**
   * `remote`: also other nodes' changes (which carry no UIDs). Without it only this node's own
   * changes, as for the spam learner: the node that made a change acts on it.
   */
  watchAll(listener: (event: FolderEvent) => void, opts: { remote?: boolean } = {}): () => void {
    const entry = { fn: listener, remote: opts.remote === true };
    this.global.add(entry);
    return () => this.global.delete(entry);
  }

  watch(folderId: number, listener: (event: FolderEvent) => void): () => void {
    let set = this.listeners.get(folderId);
    if (!set) this.listeners.set(folderId, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (!set!.size) this.listeners.delete(folderId);
    };
  }

  /** Set by the store in a cluster: changes are announced to the other nodes too. */
  cluster: ClusterNotifier | null = null;

  /** After the commit of `ctx`'s job: this node's watchers, and (clustered) the other nodes. */
  atCommit(ctx: Pick<JobContext, 'after' | 'announce'>, event: FolderEvent, mailboxId?: string): void {
    ctx.after(() => this.emit(event));
    this.announce(ctx, () => folderMessage(event, mailboxId));
  }

  /** A change for the other nodes, sent with `ctx`'s commit; a single node builds nothing. */
  announce(ctx: Pick<JobContext, 'announce'>, payload: () => TopicMessage['payload']): void {
    if (this.cluster?.clustered) ctx.announce({ topic: TOPICS.changes, payload: payload() });
  }

  emit(event: FolderEvent, remote = false): void {
    for (const g of this.global) {
      if (remote && !g.remote) continue;
      try {
        g.fn(event);
      } catch {
        /* a failing watcher never affects the writer */
      }
    }
    const set = this.listeners.get(event.folderId);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch {
        /* a failing watcher never affects the writer */
      }
    }
  }

  isWatched(folderId: number): boolean {
    return this.listeners.has(folderId);
  }

  /** Folders someone on this node watches (catch-up after a cluster reconnect). */
  watchedFolders(): number[] {
    return [...this.listeners.keys()];
  }

  watcherCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}
