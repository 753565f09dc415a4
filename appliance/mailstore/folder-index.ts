/**
 * The entries of recently used folders kept in memory and brought up to date from the change
 * journal (MODSEQ, RFC 7162): a command reads the folder's HIGHESTMODSEQ (one row) and, when it
 * moved, only the entries changed or expunged since then — never the whole folder again. SELECT,
 * FETCH, SEARCH, SORT and THREAD of a 100,000-message folder thus cost work that depends on the
 * command, not on the folder size. Catching up from the journal also covers writes made by
 * another process on the same database.
 */
import type { FlagColumns, FolderChanges, MessageEntry, UidFlagColumns } from './store.types.js';
import { type FolderSnapshot, decodeColumns, decodeHead, encodeColumns, encodeHead, warmUpHeads } from './folder-snapshot.js';
import { EntryColumns } from './entry-columns.js';

/** A folder's HIGHESTMODSEQ and entry count, as one row says them (one transaction changes both). */
export interface FolderState {
  modseq: number;
  count: number;
  /** The folder's UIDNEXT (same row); absent: changesSince is not answered from memory. */
  uidNext?: number;
}

/** A journal read: the MODSEQ of each expunged UID too (same order), so expunges can be answered from memory. */
export interface JournalChanges extends FolderChanges {
  expungedModseqs?: number[];
}

/** Expunges remembered per folder (changesSince from memory); older ones are forgotten. */
const EXPUNGE_LOG_MAX = 4096;

export interface FolderIndexSource {
  /** The folder's HIGHESTMODSEQ and entry count now (throws NotFound for a folder that is gone). */
  state(folderId: number): Promise<FolderState>;
  /** Every entry by ascending UID. */
  loadEntries(folderId: number): Promise<MessageEntry[]>;
  /**
   * The journal after `modseq`; with `upTo` (a state just read) only up to its MODSEQ, and the
   * folder's row is not read again (a later change is read at the next catch-up, never twice).
   */
  changesSince(folderId: number, modseq: number, upTo?: FolderState): Promise<JournalChanges>;
  /** A persisted compact copy of the entries (folder-snapshot.ts); absent: always read the rows. */
  loadSnapshot?(folderId: number): Promise<FolderSnapshot | null>;
  /** The narrow copy (UIDs, MODSEQs and flag lists, of the same MODSEQ as the full one: folder-snapshot.ts encodeHead). */
  loadHead?(folderId: number): Promise<FolderSnapshot | null>;
  saveSnapshot?(folderId: number, snap: FolderSnapshot & { head?: Buffer }): Promise<void>;
  /**
   * Told after a copy was handed to saveSnapshot, with the entries' message ids (ascending UID,
   * the caller's own array), on a later turn of the event loop: the store brings copies that
   * follow the entries up to date at the same pace (the sort-key copy, issue 18).
   */
  snapshotSaved?(folderId: number, messageIds: Float64Array): void;
}

interface Indexed {
  modseq: number;
  /** The entries as columns (entry-columns.ts); objects are made only for what a caller asks. */
  cols: EntryColumns;
  /** Bumped when entries are added or removed (not on flag changes): sort rows depend on it. */
  membership: number;
  /** Journal changes applied since the persisted copy was written (or found). */
  unsaved: number;
  /**
   * Only the UIDs, MODSEQs and flag lists are real (started from the narrow copy for SELECT):
   * the other columns are zeros until the full copy replaces it, so only uidFlagColumns()
   * answers from it.
   */
  narrow?: boolean;
  /** UIDNEXT as of the last catch-up (null: unknown). */
  uidNext: number | null;
  /**
   * UIDs expunged since `journalFrom` with their MODSEQs (ascending batches), from the journal
   * reads applied: with the entries' MODSEQs they answer changesSince(m ≥ journalFrom) without
   * a read (issue 18: every IMAP session of a folder used to read the journal after each change).
   */
  expunged: { uids: number[]; modseqs: number[] };
  journalFrom: number;
}

/** Remembers the expunges of a journal read applied to `ix` (or, without their MODSEQs, that none can be answered). */
function logExpunges(ix: Indexed, ch: JournalChanges): void {
  if (!ch.expunged.length) return;
  const ms = ch.expungedModseqs;
  if (!ms || ms.length !== ch.expunged.length) {
    ix.journalFrom = Infinity;
    return;
  }
  const log = ix.expunged;
  for (let i = 0; i < ms.length; i++) {
    log.uids.push(ch.expunged[i]!);
    log.modseqs.push(ms[i]!);
  }
  if (log.uids.length <= EXPUNGE_LOG_MAX) return;
  const cut = log.uids.length - EXPUNGE_LOG_MAX / 2;
  for (let i = 0; i < cut; i++) ix.journalFrom = Math.max(ix.journalFrom, log.modseqs[i]!);
  log.uids.splice(0, cut);
  log.modseqs.splice(0, cut);
}

/** Folders smaller than this are read from their rows (a few milliseconds); larger ones get a persisted copy. */
export const SNAPSHOT_MIN_ENTRIES = 1000;

export class FolderIndex {
  private readonly folders = new Map<number, Indexed>();
  /** One catch-up at a time per folder, so journal changes are applied in order. */
  private readonly pending = new Map<number, Promise<Indexed>>();
  /** The catch-up of a folder waiting for the running one (not started: callers may join it). */
  private readonly queued = new Map<number, { narrowOk: boolean; done: Promise<Indexed> }>();
  private held = 0;
  /**
   * Membership numbers come from one counter over all folders: a folder dropped (least recently
   * used) and read again gets a number it never had, so rows kept for its old entries never match.
   */
  private epoch = 0;

  constructor(
    private readonly source: FolderIndexSource,
    /** Entries kept over all folders; least recently used folders are dropped beyond it. */
    private readonly maxEntries = 400_000,
  ) {}

  /** The folder's entries by ascending UID, current as of this call (fresh objects in a fresh array each time). */
  async entries(folderId: number): Promise<MessageEntry[]> {
    return (await this.current(folderId)).cols.entries();
  }

  /** UIDs, MODSEQs and flags as columns, current as of this call (copies: no entry object is made). */
  async flagColumns(folderId: number): Promise<FlagColumns> {
    return (await this.current(folderId)).cols.flagColumns();
  }

  /**
   * UIDs, MODSEQs and flag lists, current as of this call (issue 18: what SELECT, FETCH FLAGS
   * and flag searches need). A fresh process answers from the folder's narrow copy (under a
   * third of the full one); the full one is read when a command needs more (not in the
   * background: its decoding would hold up this SELECT's answer).
   */
  async uidFlagColumns(folderId: number): Promise<UidFlagColumns> {
    const ix = await this.current(folderId, true);
    // Views of the columns; the MODSEQs are taken (from a narrow copy: decoded) only when read.
    const cols: UidFlagColumns = ix.cols.uidFlagColumns();
    // The catch-up read the folder's state after this call began: a caller that watched the
    // folder before it knows every later change from its events (SELECT, issue 18).
    cols.asOf = { modseq: ix.modseq, uidNext: ix.uidNext };
    return cols;
  }

  /**
   * The entries of `uids` (ascending), current as of this call: a binary search per UID when
   * they are few, one merge pass when they are many; only the entries asked for become objects.
   */
  async pick(folderId: number, wanted: number[]): Promise<MessageEntry[]> {
    const { cols } = await this.current(folderId);
    let uids = wanted;
    for (let i = 1; i < uids.length; i++) {
      if (uids[i]! <= uids[i - 1]!) {
        uids = [...new Set(wanted)].sort((a, b) => a - b);
        break;
      }
    }
    const out: MessageEntry[] = [];
    if (uids.length * 16 < cols.length) {
      for (const uid of uids) {
        const i = cols.find(uid);
        if (i >= 0) out.push(cols.entry(i));
      }
      return out;
    }
    let j = 0;
    const all = cols.uid;
    for (let i = 0; i < cols.length; i++) {
      const u = all[i]!;
      while (j < uids.length && uids[j]! < u) j++;
      if (j === uids.length) break;
      if (uids[j] === u) out.push(cols.entry(i));
    }
    return out;
  }

  /** The entries (made on demand: `entries()`) and a number that changes whenever entries were added or removed. */
  async snapshot(folderId: number): Promise<{ entries: () => MessageEntry[]; columns: () => FlagColumns; membership: number }> {
    const ix = await this.current(folderId);
    // Sort rows need UID, message id, size and date: none changes without a membership change.
    return { entries: () => ix.cols.entries(), columns: () => ix.cols.flagColumns(), membership: ix.membership };
  }

  /** Forgets a folder (deleted). */
  drop(folderId: number): void {
    const ix = this.folders.get(folderId);
    if (ix) this.held -= ix.cols.length;
    this.folders.delete(folderId);
  }

  /**
   * The entries from the persisted copy caught up from the journal, or null when there is none
   * or it does not match the folder (then the rows are read). `now` is the folder's state read
   * before: the copy is trusted when, caught up to the folder's MODSEQ, it holds as many entries
   * as the folder counts at that MODSEQ (a copy that went astray, e.g. entries removed without a
   * journal row, shows there).
   */
  private async fromSnapshot(folderId: number, now: FolderState, narrow: boolean): Promise<Indexed | null> {
    const load = narrow ? this.source.loadHead : this.source.loadSnapshot;
    if (!load) return null;
    const snap = await load.call(this.source, folderId).catch(() => null);
    if (!snap || snap.modseq > now.modseq) return null;
    const cols = narrow ? narrowColumns(snap.data) : decodeColumns(snap.data);
    if (!cols || cols.length !== snap.entries) return null;
    let at = snap.modseq;
    let unsaved = 0;
    // Writes during the catch-up move the folder on: its state is read again (a few times at most).
    for (let state = now, round = 0; ; round++) {
      if (state.modseq === at) {
        if (state.count !== cols.length) return null;
        break;
      }
      if (state.modseq < at || round === 3) return null;
      const ch = await this.source.changesSince(folderId, at);
      cols.apply(ch);
      at = Math.max(at, ch.highestModseq);
      unsaved += ch.changed.length + ch.expunged.length;
      state = await this.source.state(folderId);
    }
    return { modseq: at, cols, membership: ++this.epoch, unsaved, narrow, uidNext: null, expunged: { uids: [], modseqs: [] }, journalFrom: at };
  }

  /** Writes a new copy of a large folder when none matches it or many changes were applied since (in the background). */
  private persist(folderId: number, ix: Indexed): void {
    const save = this.source.saveSnapshot;
    if (!save || ix.narrow || ix.cols.length < SNAPSHOT_MIN_ENTRIES) return;
    if (ix.unsaved <= Math.max(500, ix.cols.length / 20)) return;
    ix.unsaved = 0;
    const snap = { modseq: ix.modseq, entries: ix.cols.length, data: encodeColumns(ix.cols), head: encodeHead(ix.cols) };
    void save.call(this.source, folderId, snap).catch(() => undefined);
    const saved = this.source.snapshotSaved;
    if (saved) {
      // After this command's answer (the caller's turn), with the ids as they are now.
      const ids = ix.cols.messageId.slice(0, ix.cols.length);
      setImmediate(() => saved.call(this.source, folderId, ids));
    }
  }

  /**
   * The folder caught up; `narrowOk`: a narrow index will do (uidFlagColumns), else a full one.
   * A caller joins a catch-up that is queued but not started yet (its state read comes after the
   * call, so it sees every commit before it): sessions of one busy folder share one read.
   */
  private current(folderId: number, narrowOk = false): Promise<Indexed> {
    const queued = this.queued.get(folderId);
    if (queued && (narrowOk || !queued.narrowOk)) return queued.done;
    const running = this.pending.get(folderId);
    const entry = { narrowOk, done: null as unknown as Promise<Indexed> };
    const next = (running ? running.catch(() => undefined) : Promise.resolve()).then(() => {
      if (this.queued.get(folderId) === entry) this.queued.delete(folderId);
      return this.catchUp(folderId, narrowOk);
    });
    const tracked = next.finally(() => {
      if (this.pending.get(folderId) === tracked) this.pending.delete(folderId);
    });
    entry.done = tracked;
    this.queued.set(folderId, entry);
    this.pending.set(folderId, tracked);
    return tracked;
  }

  /**
   * What changed in a folder since `modseq`, answered from memory after the catch-up (one state
   * read; the journal only when the folder moved, once for every caller): null when the folder
   * is not indexed (it is not loaded for this), or the answer needs what memory lacks (entries
   * of a narrow index, expunges older than those remembered). `seen`: the caller only needs the
   * folder as of that MODSEQ (a change event it heard of); when it is that far, no state read.
   */
  async changesSince(folderId: number, modseq: number, seen?: number): Promise<FolderChanges | null> {
    const held = this.folders.get(folderId);
    if (!held) return null;
    const ix = seen !== undefined && seen > 0 && held.modseq >= seen && held.uidNext !== null ? held : await this.current(folderId, true);
    if (ix.uidNext === null) return null;
    if (modseq >= ix.modseq) return { highestModseq: ix.modseq, uidNext: ix.uidNext, changed: [], expunged: [] };
    if (ix.narrow || modseq < ix.journalFrom) return null;
    const { cols } = ix;
    const changed: MessageEntry[] = [];
    for (let i = 0; i < cols.length; i++) if (cols.modseq[i]! > modseq) changed.push(cols.entry(i));
    const expunged: number[] = [];
    const log = ix.expunged;
    for (let i = 0; i < log.uids.length; i++) if (log.modseqs[i]! > modseq) expunged.push(log.uids[i]!);
    expunged.sort((a, b) => a - b);
    return { highestModseq: ix.modseq, uidNext: ix.uidNext, changed, expunged };
  }

  private async catchUp(folderId: number, narrowOk: boolean): Promise<Indexed> {
    const now = await this.source.state(folderId);
    const modseq = now.modseq;
    let ix = this.folders.get(folderId);
    // MODSEQ never goes back for one folder; if it did (a restored database), read it all again.
    // A narrow index is replaced by a full one when a command needs more than UIDs and flags.
    if (ix && (modseq < ix.modseq || (ix.narrow && !narrowOk))) {
      this.drop(folderId);
      ix = undefined;
    }
    if (ix && modseq !== ix.modseq) {
      const ch = await this.source.changesSince(folderId, ix.modseq, now);
      const before = ix.cols.length;
      if (ix.cols.apply(ch)) ix.membership = ++this.epoch;
      logExpunges(ix, ch);
      ix.modseq = Math.max(ix.modseq, ch.highestModseq);
      ix.unsaved += ch.changed.length + ch.expunged.length;
      this.held += ix.cols.length - before;
      this.persist(folderId, ix);
    } else if (!ix) {
      // HIGHESTMODSEQ is read before the entries: a change made in between is applied again
      // at the next catch-up, which is harmless (applying a change is idempotent).
      const narrow = narrowOk ? await this.fromSnapshot(folderId, now, true) : null;
      const full = narrow ? null : await this.fromSnapshot(folderId, now, false);
      // A full copy without a narrow one that will do (older than migration 0051, or astray): both are written again.
      if (full && narrowOk) full.unsaved = Infinity;
      const loaded = narrow ??
        full ?? {
          modseq,
          cols: EntryColumns.fromEntries(await this.source.loadEntries(folderId)),
          membership: ++this.epoch,
          unsaved: Infinity,
          uidNext: null,
          expunged: { uids: [], modseqs: [] },
          journalFrom: modseq,
        };
      ix = this.folders.get(folderId) ?? loaded;
      if (!this.folders.has(folderId)) this.held += ix.cols.length;
      this.persist(folderId, ix);
    }
    // UIDNEXT as the state row said it: only when the entries are of that MODSEQ (a later one came in between: unknown).
    ix.uidNext = now.uidNext !== undefined && ix.modseq === modseq ? now.uidNext : null;
    // Most recently used last; drop the oldest folders beyond the bound (never this one).
    this.folders.delete(folderId);
    this.folders.set(folderId, ix);
    for (const [id, other] of this.folders) {
      if (this.held <= this.maxEntries || id === folderId) break;
      this.folders.delete(id);
      this.held -= other.cols.length;
    }
    return ix;
  }
}

/**
 * Columns from a narrow copy: UIDs and flag lists (views of the copy), MODSEQs decoded on first
 * use; the others one empty array (never read: Indexed.narrow; writes to it are dropped, and an
 * entry added grows it like the others), not 8 bytes an entry each to allocate and zero.
 */
function narrowColumns(data: Buffer): EntryColumns | null {
  const head = decodeHead(data);
  if (!head) return null;
  const n = head.length;
  const zeros = new Float64Array(0);
  return EntryColumns.of({ uid: head.uid, list: head.list, modseq: head.modseqs, messageId: zeros, internalDate: zeros, savedAt: zeros, size: zeros }, n, head.lists);
}

/**
 * Warm-up at server start (issue 18): a fresh process's first SELECT of a large folder, as far
 * as the folder index goes (the catch-up, the narrow copy decoded and brought up to date from the
 * journal), run on a made-up two-entry folder with a source of its own in memory: no stored data
 * is read, and the index made here is dropped. V8 compiles a function's bytecode at its first
 * call; without this, that compilation was part of the first SELECT's answer. Resolves to
 * whether the made-up folder came out as made (a test checks it; the server ignores it).
 */
export async function warmUpFolderIndex(): Promise<boolean> {
  const made = (uid: number, flags: string[], modseq = uid): MessageEntry => ({ uid, messageId: uid, flags, modseq, internalDate: 0, size: 1, savedAt: null });
  const head = encodeHead(EntryColumns.fromEntries([made(1, ['\\Seen']), made(2, [])]));
  const now: FolderState = { modseq: 3, count: 2, uidNext: 3 };
  const index = new FolderIndex({
    state: async () => now,
    loadEntries: async () => [made(1, ['\\Seen']), made(2, ['\\Seen'], 3)],
    loadHead: async () => ({ modseq: 2, entries: 2, data: head }),
    changesSince: async () => ({ highestModseq: 3, uidNext: 3, changed: [made(2, ['\\Seen'], 3)], expunged: [] }),
  });
  const cols = await index.uidFlagColumns(1);
  return warmUpHeads() && cols.length === 2 && cols.uids[1] === 2 && cols.modseqs[1] === 3 && cols.lists[cols.list[1]!]![0] === '\\Seen' && cols.asOf?.uidNext === 3;
}
