/**
 * The selected mailbox of one session: its own sequence-number view (UIDs by position), the
 * MODSEQ it has caught up to, and the unsolicited updates (EXISTS, EXPUNGE, FETCH) it owes the
 * client. Changes arrive as store watch events (after commit) and are read with changesSince;
 * nothing polls. Expunges wait while EXPUNGE responses are not allowed.
 */
import type { FolderEvent, FolderInfo, MailStore, MessageEntry, SortRow, UidFlagColumns } from '../mailstore/store.types.js';
import { UidMap, compactSet } from './sequence.js';
import { SYSTEM_FLAG_LIST, formatFlags } from './format.js';
import type { ImapSession } from './session.js';
import type { UpdateContext } from './search-context.js';
import { runFetch } from './commands/fetch.js';

/** Keywords every folder offers from the start (RFC 5788 registry: forwarding and junk marks). */
const DEFAULT_KEYWORDS = ['$Forwarded', '$Junk', '$NotJunk'];

/**
 * A watch of a folder started before its columns are read (SELECT, issue 18): a change
 * committed after it is heard, one before it is in the columns (their state is read later), so
 * the mailbox it is handed to needs no state read of its own when none was heard meanwhile.
 * Events heard before the hand-over are only counted (the mailbox then catches up as usual).
 */
export class EarlyWatch {
  heard = 0;
  deleted = false;
  private target: ((event: FolderEvent) => void) | null = null;
  private readonly unwatch: () => void;

  constructor(store: MailStore, folderId: number) {
    this.unwatch = store.watch(folderId, (event) => {
      if (this.target) return this.target(event);
      this.heard++;
      if (event.kind === 'deleted') this.deleted = true;
    });
  }

  /** From now on events go to `listener`; returns the function that ends the watch. */
  handOver(listener: (event: FolderEvent) => void): () => void {
    this.target = listener;
    return this.unwatch;
  }

  /** Ends the watch when it was not handed over (a SELECT that failed). */
  close(): void {
    if (!this.target) this.unwatch();
  }
}

export class SelectedMailbox {
  readonly view: UidMap;
  knownModseq: number;
  /** A watch event arrived since the last sync. */
  dirty = true;
  /**
   * The MODSEQ of the latest change event heard (issue 18): the store need not read the folder's
   * state when it is that far already. 0: unknown (the first sync, events without one), read it.
   */
  private heardModseq = 0;
  deleted = false;
  private pendingExpunges = new Set<number>();
  /** (uid → modseq) of changes this session already reported itself (STORE, FETCH \Seen). */
  private selfReported = new Map<number, number>();
  private unwatch: () => void;
  private syncing: Promise<void> | null = null;
  /** Set while IDLE runs: updates are written at once. */
  private idleSession: ImapSession | null = null;
  /** UIDs that are \Recent in this session (RFC 3501 2.3.2): it was the first to learn of them. */
  readonly recent = new Set<number>();
  /** Keywords announced to the client in FLAGS (RFC 3501 7.2.6), by lower-case name. */
  private readonly keywords = new Map<string, string>();
  /** SEARCH/SORT results kept current (RETURN (UPDATE), RFC 5267 4), by tag. */
  readonly contexts = new Map<string, UpdateContext>();

  constructor(
    readonly session: ImapSession,
    readonly folder: FolderInfo,
    readonly readOnly: boolean,
    /** The folder's UIDs and flags (issue 18: columns, no object per message). */
    cols: UidFlagColumns,
    /** First UID of `cols` that is \Recent here (from claimRecent, or the folder's mark for EXAMINE). */
    recentFrom = Infinity,
    /** The folder's watch, started before `cols` was read (then `cols.asOf` is what the mailbox knows). */
    early?: EarlyWatch,
  ) {
    this.view = new UidMap(cols.uids.subarray(0, cols.length));
    this.knownModseq = folder.highestModseq;
    for (const kw of DEFAULT_KEYWORDS) this.keywords.set(kw.toLowerCase(), kw);
    // UIDs ascend: the recent ones are the tail.
    let from = cols.length;
    while (from > 0 && cols.uids[from - 1]! >= recentFrom) from--;
    for (let i = from; i < cols.length; i++) this.recent.add(cols.uids[i]!);
    this.keywordsInUse(cols);
    const listener = (event: FolderEvent) => {
      if (event.kind === 'deleted') this.deleted = true;
      // Changes missed before this watch began are found by the first sync's state read.
      const heard = event.kind !== 'deleted' && event.modseq > 0 && (!this.dirty || this.heardModseq > 0);
      this.heardModseq = heard ? Math.max(this.heardModseq, event.modseq) : 0;
      this.dirty = true;
      if (this.idleSession) void this.sync(this.idleSession, true).catch(() => undefined);
      else if (event.kind !== 'deleted' && session.notifier?.wantsSelected(event.kind)) {
        // NOTIFY SELECTED (RFC 5465 5.1): written at once, between commands too.
        const atOnce = session.notifier.expungeAtOnce;
        session.background(() => (session.selected === this ? this.sync(session, atOnce) : Promise.resolve()));
      }
    };
    if (early && cols.asOf) {
      // Nothing heard since the watch began: the columns' state is the folder's (no first sync read).
      this.knownModseq = cols.asOf.modseq;
      this.dirty = early.heard > 0;
      this.deleted = early.deleted;
      this.unwatch = early.handOver(listener);
    } else {
      early?.close();
      this.unwatch = session.store.watch(folder.id, listener);
    }
  }

  /**
   * Keywords of the flag lists in use, each distinct list looked at once. The entries are walked
   * (which lists are in use) only when a list holds a keyword not known yet (issue 18: most
   * folders have system flags alone, and a 100,000-message folder's walk was most of a warm SELECT).
   */
  private keywordsInUse(cols: UidFlagColumns): void {
    const fresh: number[] = [];
    cols.lists.forEach((flags, l) => {
      if (flags.some((f) => f.charCodeAt(0) !== 92 /* \ */ && !this.keywords.has(f.toLowerCase()))) fresh.push(l);
    });
    if (!fresh.length) return;
    const used = new Uint8Array(cols.lists.length);
    for (let i = 0; i < cols.length; i++) used[cols.list[i]!] = 1;
    for (const l of fresh) {
      if (!used[l]) continue;
      for (const f of cols.lists[l]!) if (f.charCodeAt(0) !== 92 && !this.keywords.has(f.toLowerCase())) this.keywords.set(f.toLowerCase(), f);
    }
  }

  /** The FLAGS list: system flags and every keyword used in the folder (RFC 3501 7.2.6). */
  flagsList(): string {
    return `(${[...SYSTEM_FLAG_LIST, ...this.keywords.values()].join(' ')})`;
  }

  /** PERMANENTFLAGS: the same plus \* (new keywords may be created). */
  permanentFlagsList(): string {
    return this.readOnly ? '()' : `(${[...SYSTEM_FLAG_LIST, ...this.keywords.values(), '\\*'].join(' ')})`;
  }

  /**
   * Before flags are shown to the client: when they hold a keyword it has not been told of, the
   * client gets an untagged FLAGS (and PERMANENTFLAGS) update first, so no keyword is used
   * without being in FLAGS.
   */
  announceKeywords(session: ImapSession, flagLists: Iterable<string[]>): void {
    let added = false;
    for (const flags of flagLists) {
      for (const f of flags) {
        if (f.startsWith('\\')) continue;
        const k = f.toLowerCase();
        if (this.keywords.has(k)) continue;
        this.keywords.set(k, f);
        added = true;
      }
    }
    if (added) session.write(`* FLAGS ${this.flagsList()}\r\n* OK [PERMANENTFLAGS ${this.permanentFlagsList()}] Flags permitted\r\n`);
  }

  /** A message's flags as the client sees them: stored flags plus \Recent when it is recent here. */
  formatFlags(uid: number, flags: string[]): string {
    // IMAP4rev2 has no \Recent (RFC 9051 Appendix E); a session that enabled it later stops showing it.
    return this.recent.has(uid) && !this.session.rev2 ? formatFlags([...flags, '\\Recent']) : formatFlags(flags);
  }

  close(): void {
    this.contexts.clear();
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
      const heard = this.heardModseq;
      this.heardModseq = 0;
      const ch = await session.store.changesSince(this.folder.id, this.knownModseq, heard || undefined);
      if (session.isClosed) return;
      this.knownModseq = Math.max(this.knownModseq, ch.highestModseq);
      for (const uid of ch.expunged) if (this.view.seqOf(uid)) this.pendingExpunges.add(uid);
      const maxUid = this.view.maxUid;
      const added: number[] = [];
      const out: string[] = [];
      this.announceKeywords(
        session,
        ch.changed.map((e) => e.flags),
      );
      for (const e of ch.changed) {
        if (e.uid > maxUid) {
          added.push(e.uid);
          continue;
        }
        if (this.pendingExpunges.has(e.uid)) continue;
        if (this.selfReported.get(e.uid) === e.modseq) continue;
        const seq = this.view.seqOf(e.uid);
        if (!seq) continue;
        out.push(`* ${seq} FETCH (UID ${e.uid} FLAGS ${this.formatFlags(e.uid, e.flags)}${session.condstore ? ` MODSEQ (${e.modseq})` : ''})\r\n`);
      }
      this.selfReported.clear();
      if (out.length) session.write(out.join(''));
      if (added.length) {
        for (const uid of added) this.view.push(uid);
        // The first session told of a new message gets it as \Recent (RFC 3501 2.3.2); EXAMINE
        // claims nothing and shows as recent what nobody claimed when it opened the folder.
        // An IMAP4rev2 session claims nothing and gets no RECENT response (RFC 9051 7.4.1).
        if (session.rev2) session.write(`* ${this.view.length} EXISTS\r\n`);
        else {
          const top = added[added.length - 1]!;
          const from = this.readOnly ? this.folder.recentUid : await session.store.claimRecent(this.folder.id, top + 1);
          for (const uid of added) if (uid >= from) this.recent.add(uid);
          session.write(`* ${this.view.length} EXISTS\r\n* ${this.recent.size} RECENT\r\n`);
        }
        // NOTIFY MessageNew with fetch attributes (RFC 5465 5.2): the new messages' data at once.
        const atts = session.notifier?.selectedFilter?.fetchAtts;
        if (atts) await runFetch(session, [{ t: 'atom', v: compactSet(added) }, atts], true);
      }
      if (this.contexts.size)
        await this.updateContexts(
          session,
          ch.changed.filter((e) => !this.pendingExpunges.has(e.uid) && this.view.seqOf(e.uid) > 0),
        );
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
      this.recent.delete(uid);
      gone.push(uid);
      out.push(`* ${seq} EXPUNGE\r\n`);
    }
    if (!gone.length) return;
    if (session.qresync) session.write(`* VANISHED ${compactSet(gone.reverse())}\r\n`);
    else session.write(out.join(''));
    for (const ctx of this.contexts.values()) session.write(ctx.removed(gone));
  }

  /** Re-evaluates the changed entries for every update context and writes ADDTO/REMOVETO (RFC 5267 4.3). */
  private async updateContexts(session: ImapSession, entries: MessageEntry[]): Promise<void> {
    if (!entries.length) return;
    let rows: Map<number, SortRow> | null = null;
    const rowsOf = async () => {
      if (!rows) {
        const wanted = new Set(entries.map((e) => e.uid));
        rows = new Map((await session.store.sortRows(this.folder.id)).filter((r) => wanted.has(r.uid)).map((r) => [r.uid, r]));
      }
      return rows;
    };
    for (const ctx of [...this.contexts.values()]) {
      const text = await ctx.changed(session, this, entries, rowsOf);
      if (session.isClosed) return;
      if (text && this.contexts.get(ctx.tag) === ctx) session.write(text);
    }
  }

  /** Removes UIDs this session expunged itself and writes their EXPUNGE responses. */
  expungedBySelf(session: ImapSession, uids: number[]): void {
    for (const uid of uids) this.pendingExpunges.delete(uid);
    this.removeAndReport(session, uids);
  }
}
