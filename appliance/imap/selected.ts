/**
 * The selected mailbox of one session: its own sequence-number view (UIDs by position), the
 * MODSEQ it has caught up to, and the unsolicited updates (EXISTS, EXPUNGE, FETCH) it owes the
 * client. Changes arrive as store watch events (after commit) and are read with changesSince;
 * nothing polls. Expunges wait while EXPUNGE responses are not allowed.
 */
import type { FolderInfo, MessageEntry } from '../mailstore/store.types.js';
import { UidMap, compactSet } from './sequence.js';
import { formatFlags } from './format.js';
import type { ImapSession } from './session.js';

export class SelectedMailbox {
  readonly view: UidMap;
  knownModseq: number;
  /** A watch event arrived since the last sync. */
  dirty = true;
  deleted = false;
  private pendingExpunges = new Set<number>();
  /** (uid → modseq) of changes this session already reported itself (STORE, FETCH \Seen). */
  private selfReported = new Map<number, number>();
  private unwatch: () => void;
  private syncing: Promise<void> | null = null;
  /** Set while IDLE runs: updates are written at once. */
  private idleSession: ImapSession | null = null;

  constructor(
    readonly session: ImapSession,
    readonly folder: FolderInfo,
    readonly readOnly: boolean,
    entries: MessageEntry[],
  ) {
    this.view = new UidMap(entries.map((e) => e.uid));
    this.knownModseq = folder.highestModseq;
    this.unwatch = session.store.watch(folder.id, (event) => {
      if (event.kind === 'deleted') this.deleted = true;
      this.dirty = true;
      if (this.idleSession) void this.sync(this.idleSession, true).catch(() => undefined);
    });
  }

  close(): void {
    this.unwatch();
    this.idleSession = null;
  }

  /** Remembers a change this session reported in its own response (no duplicate FETCH later). */
  reported(uid: number, modseq: number): void {
    this.selfReported.set(uid, modseq);
  }

  /** Writes updates as they happen until stopIdle(). */
  startIdle(session: ImapSession): Promise<void> {
    this.idleSession = session;
    return this.sync(session, true);
  }

  async stopIdle(): Promise<void> {
    this.idleSession = null;
    if (this.syncing) await this.syncing;
  }

  /** Catches up with the store and writes the untagged updates. */
  sync(session: ImapSession, allowExpunge: boolean): Promise<void> {
    if (this.syncing) {
      // One at a time; a change during a running sync is picked up by a follow-up run.
      return this.syncing.then(() => (this.dirty || (allowExpunge && this.pendingExpunges.size) ? this.sync(session, allowExpunge) : undefined));
    }
    if (!this.dirty && !(allowExpunge && this.pendingExpunges.size)) return Promise.resolve();
    this.syncing = this.run(session, allowExpunge).finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async run(session: ImapSession, allowExpunge: boolean): Promise<void> {
    if (this.deleted) {
      session.close('Selected mailbox was deleted');
      return;
    }
    if (this.dirty) {
      this.dirty = false;
      const ch = await session.store.changesSince(this.folder.id, this.knownModseq);
      if (session.isClosed) return;
      this.knownModseq = Math.max(this.knownModseq, ch.highestModseq);
      for (const uid of ch.expunged) if (this.view.seqOf(uid)) this.pendingExpunges.add(uid);
      const maxUid = this.view.maxUid;
      const added: number[] = [];
      const out: string[] = [];
      for (const e of ch.changed) {
        if (e.uid > maxUid) {
          added.push(e.uid);
          continue;
        }
        if (this.pendingExpunges.has(e.uid)) continue;
        if (this.selfReported.get(e.uid) === e.modseq) continue;
        const seq = this.view.seqOf(e.uid);
        if (!seq) continue;
        out.push(`* ${seq} FETCH (UID ${e.uid} FLAGS ${formatFlags(e.flags)}${session.condstore ? ` MODSEQ (${e.modseq})` : ''})\r\n`);
      }
      this.selfReported.clear();
      if (out.length) session.write(out.join(''));
      if (added.length) {
        for (const uid of added) this.view.push(uid);
        session.write(`* ${this.view.length} EXISTS\r\n`);
      }
    }
    if (allowExpunge && this.pendingExpunges.size) {
      const uids = [...this.pendingExpunges];
      this.pendingExpunges.clear();
      this.removeAndReport(session, uids);
    }
  }

  /** Drops UIDs from the view and writes EXPUNGE responses (VANISHED under QRESYNC). */
  private removeAndReport(session: ImapSession, uids: number[]): void {
    const out: string[] = [];
    const gone: number[] = [];
    for (const uid of [...uids].sort((a, b) => b - a)) {
      const seq = this.view.seqOf(uid);
      if (!seq) continue;
      this.view.removeSeq(seq);
      gone.push(uid);
      out.push(`* ${seq} EXPUNGE\r\n`);
    }
    if (!gone.length) return;
    if (session.qresync) session.write(`* VANISHED ${compactSet(gone.reverse())}\r\n`);
    else session.write(out.join(''));
  }

  /** Removes UIDs this session expunged itself and writes their EXPUNGE responses. */
  expungedBySelf(session: ImapSession, uids: number[]): void {
    for (const uid of uids) this.pendingExpunges.delete(uid);
    this.removeAndReport(session, uids);
  }
}
