/**
 * In-process change notifications, fired after a commit. Every store write runs in the
 * appliance process (Haraka deliveries arrive over RPC), so watchers see all changes.
 */
import type { FolderEvent } from './store.types.js';

export class ChangeBus {
  private readonly listeners = new Map<number, Set<(event: FolderEvent) => void>>();
  /** Listeners of every folder's changes (the spam learner); they must return at once. */
  private readonly global = new Set<(event: FolderEvent) => void>();

  watchAll(listener: (event: FolderEvent) => void): () => void {
    this.global.add(listener);
    return () => this.global.delete(listener);
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

  emit(event: FolderEvent): void {
    for (const listener of this.global) {
      try {
        listener(event);
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

  watcherCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}
