/**
 * The mail store's changes between the nodes of a cluster. A committed change is announced as a
 * small message (kind, folder id, mailbox id, MODSEQ; names for folder-list changes) with the
 * commit (see write-queue.ts); another node turns it into the same watcher events its own writes
 * fire, without UIDs: IMAP sessions then read what changed from the journal (changesSince their
 * MODSEQ), and the folder index catches up by MODSEQ on its next use. After the notifier
 * reconnects, every watched folder whose HIGHESTMODSEQ moved gets events again (catch-up).
 */
import type { ClusterNotifier, ClusterPayload } from '../cluster/notifier.js';
import { TOPICS } from '../cluster/notifier.js';
import type { ChangeBus } from './changes.js';
import type { FolderEvent, MailboxEvent } from './store.types.js';

/** A folder event as sent to the other nodes (`m`: the mailbox, when the writer knows it). */
export function folderMessage(event: FolderEvent, mailboxId?: string): ClusterPayload {
  const k = event.kind === 'exists' ? 'x' : event.kind === 'flags' ? 'f' : event.kind === 'expunge' ? 'e' : 'd';
  return { k, f: event.folderId, q: 'modseq' in event ? event.modseq : null, m: mailboxId ?? null };
}

/** A folder-list or subscription change as sent to the other nodes ('folder' events go by folderMessage). */
export function mailboxMessage(event: Exclude<MailboxEvent, { kind: 'folder' }>): ClusterPayload {
  switch (event.kind) {
    case 'created':
      return { k: 'c', m: event.mailboxId, n: event.name };
    case 'deleted':
      return { k: 'd', m: event.mailboxId, n: event.name, f: event.folderId };
    case 'renamed':
      return { k: 'r', m: event.mailboxId, n: event.from, t: event.to };
    case 'subscription':
      return { k: 's', m: event.mailboxId, n: event.name, s: event.subscribed };
  }
}

/** What a remote change touches on this node (the store implements it). */
export interface RemoteChangeTarget {
  bus: ChangeBus;
  emitMailbox(event: MailboxEvent): void;
  /** Forgets cached state of a folder deleted elsewhere (index entries, sort rows). */
  forgetFolder(folderId: number): void;
  /** Mailboxes with a watcher here (IMAP NOTIFY). */
  watchedMailboxes(): string[];
  /** HIGHESTMODSEQ of the given folders and of every folder of the given mailboxes. */
  folderModseqs(folderIds: number[], mailboxIds: string[]): Promise<Array<{ id: number; mailboxId: string; highestModseq: number }>>;
}

const KINDS = { x: 'exists', f: 'flags', e: 'expunge' } as const;

export class RemoteChanges {
  /** The HIGHESTMODSEQ this node last heard of, per folder with watchers (catch-up baseline). */
  private readonly heard = new Map<number, number>();
  private readonly stop: Array<() => void>;

  constructor(
    cluster: ClusterNotifier,
    private readonly target: RemoteChangeTarget,
  ) {
    this.stop = [cluster.subscribe(TOPICS.changes, (p) => this.receive(p)), cluster.onResync(() => this.resync())];
  }

  close(): void {
    for (const fn of this.stop) fn();
  }

  /** A change committed on another node. */
  receive(p: ClusterPayload): void {
    const folderId = typeof p.f === 'number' ? p.f : null;
    const mailboxId = typeof p.m === 'string' ? p.m : null;
    const name = typeof p.n === 'string' ? p.n : null;
    const kind = typeof p.k === 'string' ? p.k : '';
    if (folderId !== null && (kind === 'x' || kind === 'f' || kind === 'e')) {
      const modseq = typeof p.q === 'number' ? p.q : 0;
      this.note(folderId, modseq);
      this.target.bus.emit({ kind: KINDS[kind], folderId, uids: [], modseq }, true);
    } else if (kind === 'd' && folderId !== null) {
      this.folderGone(folderId, mailboxId, name);
    } else if (mailboxId !== null && name !== null) {
      if (kind === 'c') this.target.emitMailbox({ kind: 'created', mailboxId, name });
      else if (kind === 'r' && typeof p.t === 'string') this.target.emitMailbox({ kind: 'renamed', mailboxId, from: name, to: p.t });
      else if (kind === 's') this.target.emitMailbox({ kind: 'subscription', mailboxId, name, subscribed: p.s === true });
    }
  }

  private note(folderId: number, modseq: number): void {
    if (!this.target.bus.isWatched(folderId)) return;
    if ((this.heard.get(folderId) ?? 0) < modseq) this.heard.set(folderId, modseq);
  }

  private folderGone(folderId: number, mailboxId: string | null, name: string | null): void {
    this.heard.delete(folderId);
    this.target.forgetFolder(folderId);
    this.target.bus.emit({ kind: 'deleted', folderId }, true);
    if (mailboxId !== null && name !== null) this.target.emitMailbox({ kind: 'deleted', mailboxId, name, folderId });
  }

  /**
   * After a reconnect: every watched folder whose HIGHESTMODSEQ is past what this node heard of
   * gets change events (its sessions read the changes from the journal); a folder that is gone
   * gets 'deleted'. Without a baseline (nothing heard since it was watched) the events are sent
   * anyway: a session with nothing to catch up reads an empty change list.
   */
  async resync(): Promise<void> {
    const folderIds = this.target.bus.watchedFolders();
    const mailboxIds = this.target.watchedMailboxes();
    for (const id of this.heard.keys()) if (!folderIds.includes(id)) this.heard.delete(id);
    if (!folderIds.length && !mailboxIds.length) return;
    const rows = await this.target.folderModseqs(folderIds, mailboxIds);
    const present = new Set(rows.map((r) => r.id));
    for (const id of folderIds) if (!present.has(id)) this.folderGone(id, null, null);
    for (const r of rows) {
      const known = this.heard.get(r.id);
      if (known !== undefined && known >= r.highestModseq) continue;
      this.note(r.id, r.highestModseq);
      for (const kind of ['exists', 'flags', 'expunge'] as const) this.target.bus.emit({ kind, folderId: r.id, uids: [], modseq: r.highestModseq }, true);
    }
  }
}
