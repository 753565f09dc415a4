/**
 * The mailbox store as the protocols see it. IMAP, the ingest path and the control plane use
 * only this interface; the implementation (store.ts) keeps the index in the database and the
 * bytes in a BlobStore. Every write bumps the folder's MODSEQ and notifies watchers.
 */
import type { MessageMeta } from './mime/types.js';
import type { SortKeys } from './sort-keys.js';
import type { TextSearchAnswer, TextSearchQuery } from './fulltext.js';

export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive';

export interface FolderInfo {
  id: number;
  mailboxId: string;
  /** Full name with '/' as hierarchy delimiter; the inbox is always "INBOX". */
  name: string;
  specialUse: SpecialUse | null;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  /** First UID not yet reported as \Recent to any session (see claimRecent). */
  recentUid: number;
}

export interface FolderStatus {
  messages: number;
  unseen: number;
  deleted: number;
  /** Entries no session has been told about yet (IMAP \Recent, RFC 3501 2.3.2). */
  recent: number;
  /** Sum of message sizes in bytes. */
  size: number;
  uidNext: number;
  uidValidity: number;
  highestModseq: number;
}

export interface MessageEntry {
  uid: number;
  /** Id of the stored message (shared by all folder entries that refer to it). */
  messageId: number;
  flags: string[];
  modseq: number;
  /** Epoch milliseconds. */
  internalDate: number;
  size: number;
  /** When the entry was saved into this folder (epoch ms); null for entries older than the column. */
  savedAt: number | null;
}

/** The columns SELECT, FETCH FLAGS and flag searches need (FlagColumns without the others). */
export type UidFlagColumns = Pick<FlagColumns, 'length' | 'uids' | 'modseqs' | 'list' | 'lists'> & {
  /** The folder's state the columns are of (read after the call began; uidNext null: unknown); absent: unknown. */
  asOf?: { modseq: number; uidNext: number | null };
};

/** A folder's entries as columns (issue 18: SELECT, FETCH FLAGS, flag searches without an object per message). */
export interface FlagColumns {
  length: number;
  uids: Uint32Array;
  messageIds: Float64Array;
  modseqs: Float64Array;
  internalDates: Float64Array;
  /** NaN: null. */
  savedAts: Float64Array;
  sizes: Float64Array;
  /** Per entry: the index of its flags in `lists`. */
  list: Uint32Array;
  /** The distinct flag lists (frozen, never changed). */
  lists: ReadonlyArray<readonly string[]>;
}

/** One sort key of a folder's entries as numbers (MailStore.sortColumn); `membership` changes when entries are added or removed. */
export interface SortKeyColumn {
  membership: number;
  uids: Uint32Array;
  /** Per entry: its DATE key, or its string's rank (equal strings, equal ranks; code-unit order). */
  keys: Float64Array;
}

/**
 * The THREAD keys of a folder's entries as numbers (MailStore.threadColumns, imap/sort.ts
 * ThreadInput): sent dates, base subject ranks, reply marks, Message-ID and reference codes
 * (equal strings, equal codes; -1: no Message-ID), references per entry ending at `refEnd`.
 */
export interface ThreadKeyColumn {
  membership: number;
  uids: Uint32Array;
  dates: Float64Array;
  subjects: Float64Array;
  emptySubject: number;
  replies: Uint8Array;
  ids: Float64Array;
  refEnd: Uint32Array;
  refs: Float64Array;
}

/** An entry with its SORT/THREAD keys (see sort-keys.ts). */
export interface SortRow {
  uid: number;
  messageId: number;
  size: number;
  internalDate: number;
  keys: SortKeys;
}

export interface FolderChanges {
  highestModseq: number;
  uidNext: number;
  /** Entries added or whose flags changed with a MODSEQ above the one asked for, by UID. */
  changed: MessageEntry[];
  /** UIDs expunged with a MODSEQ above the one asked for, ascending. */
  expunged: number[];
}

/** Sent to watchers after a change has been committed. */
export type FolderEvent =
  /** sourceFolderId: set when the entries were copied or moved from another folder (the spam learner). */
  | { kind: 'exists'; folderId: number; uids: number[]; modseq: number; sourceFolderId?: number }
  | { kind: 'flags'; folderId: number; uids: number[]; modseq: number }
  | { kind: 'expunge'; folderId: number; uids: number[]; modseq: number }
  | { kind: 'deleted'; folderId: number };

/**
 * Sent to watchers of a whole mailbox (IMAP NOTIFY, RFC 5465) after a commit: every change of
 * its folders' messages, and changes of the folder list and subscriptions.
 */
export type MailboxEvent =
  | { kind: 'folder'; mailboxId: string; event: FolderEvent }
  | { kind: 'created'; mailboxId: string; name: string }
  | { kind: 'deleted'; mailboxId: string; name: string; folderId: number }
  | { kind: 'renamed'; mailboxId: string; from: string; to: string }
  | { kind: 'subscription'; mailboxId: string; name: string; subscribed: boolean };

export interface StoreFlagsResult {
  /** Entries whose flags changed (new flags and MODSEQ). */
  updated: MessageEntry[];
  /** UIDs not changed because their MODSEQ was above UNCHANGEDSINCE. */
  conflicts: number[];
}

export interface CopyResult {
  uidValidity: number;
  /** [source UID, destination UID] pairs, in source UID order. */
  pairs: Array<[number, number]>;
}

export interface QuotaInfo {
  usedBytes: number;
  quotaBytes: number;
  messages: number;
}

export interface MailStore {
  listFolders(mailboxId: string): Promise<FolderInfo[]>;
  /** Case-insensitive for INBOX, exact otherwise; null when missing. */
  getFolder(mailboxId: string, name: string): Promise<FolderInfo | null>;
  /** AppError AlreadyExists when the name is taken. Parents are not created implicitly. */
  createFolder(mailboxId: string, name: string, specialUse?: SpecialUse | null): Promise<FolderInfo>;
  /** Deletes the folder and its messages; INBOX cannot be deleted (AppError Invalid). */
  deleteFolder(mailboxId: string, name: string): Promise<void>;
  /** Renames the folder and its children; renaming INBOX moves its messages into a new folder (RFC 3501). */
  renameFolder(mailboxId: string, from: string, to: string): Promise<void>;
  listSubscriptions(mailboxId: string): Promise<string[]>;
  setSubscribed(mailboxId: string, name: string, subscribed: boolean): Promise<void>;

  folderStatus(folderId: number): Promise<FolderStatus>;
  /** All entries of a folder by ascending UID. */
  listMessages(folderId: number): Promise<MessageEntry[]>;
  /** The entries of the given UIDs (ascending), found without copying the folder's list (FETCH/STORE of a few messages). */
  entriesOf?(folderId: number, uids: number[]): Promise<MessageEntry[]>;
  /** The folder's entries as columns (ascending UID), current as of this call; they do not change afterwards (read only). */
  flagColumns?(folderId: number): Promise<FlagColumns>;
  /**
   * UIDs, MODSEQs and flag lists alone (SELECT, FETCH FLAGS, flag searches; issue 18): a fresh process reads a narrow copy of a large
   * folder. A view that changes flags per member (member-store.ts) must override it.
   */
  uidFlagColumns?(folderId: number): Promise<UidFlagColumns>;
  /** One entry by UID, null when absent. */
  getEntry(folderId: number, uid: number): Promise<MessageEntry | null>;
  /**
   * `seen`: the MODSEQ of the latest change event the caller heard of; a store that already has
   * the folder at least that far may answer without reading the database (issue 18).
   */
  changesSince(folderId: number, modseq: number, seen?: number): Promise<FolderChanges>;
  /**
   * IMAP \Recent (RFC 3501 2.3.2): claims every UID below `belowUid` that no session has been
   * told about yet, durably. Returns the first UID this caller claimed (UIDs from it up to
   * `belowUid` are recent for the caller alone); `belowUid` when there was nothing to claim.
   * `floor`: the folder's recentUid as the caller read it in this command (FolderInfo), which a
   * store may use instead of reading it again.
   */
  claimRecent(folderId: number, belowUid: number, floor?: number): Promise<number>;
  /** Optional: compiles the code of a first SELECT on made-up values at server start (no data read). */
  warmUp?(): Promise<void>;
  /** Every entry of a folder by ascending UID with its sort/thread keys (RFC 5256 SORT, THREAD). */
  sortRows(folderId: number): Promise<SortRow[]>;
  /**
   * Optional (issue 18): one sort key of every entry beside its UID, ascending UID, without sort
   * rows: 'd' the DATE key (the Date header, else the internal date), a string field (SortKeys)
   * as ranks; null when the keys are not at hand that way (then sortRows).
   */
  sortColumn?(folderId: number, field: 'd' | 's' | 'f' | 't' | 'c' | 'df' | 'dt'): Promise<SortKeyColumn | null>;
  /** Optional (issue 18): the THREAD keys of every entry as columns (like sortColumn), or null (then sortRows). */
  threadColumns?(folderId: number): Promise<ThreadKeyColumn | null>;
  getMeta(messageIds: number[]): Promise<Map<number, MessageMeta>>;
  /**
   * ENVELOPE texts (as FETCH writes them) of messages of a folder, by message id; a message gone
   * has none. Optional: without it FETCH formats them from getMeta.
   */
  envelopeTexts?(folderId: number, messageIds: number[]): Promise<Map<number, string>>;
  /**
   * The header fields SEARCH of SUBJECT/FROM/TO/CC/BCC reads of messages of a folder: the decoded
   * Subject and search.ts addressFieldText's texts. Optional: without it SEARCH reads getMeta.
   */
  headerFields?(folderId: number, messageIds: number[]): Promise<{ subject(id: number): string; address(id: number, field: 'from' | 'to' | 'cc' | 'bcc'): string }>;
  /** The raw bytes of a stored message, or a byte range [start, end) of them. */
  readMessage(messageId: number, range?: { start: number; end: number }): Promise<Buffer>;
  /**
   * Optional batch form of readMessage, for FETCH of many bodies (added for IMAP): the whole
   * stored bytes of each message by id, missing ids left out. Meant as one index query for all
   * ids plus synchronous reads of small blobs (a page-cache hit costs microseconds, an async
   * open/read/close round trip per file costs far more). IMAP asks for batches of at most a few
   * MB in total and falls back to readMessage when a store does not implement this.
   */
  readMessages?(messageIds: number[]): Promise<Map<number, Buffer>>;
  /** Optional: starts what batch reads need (the blob read threads) ahead of the first one. */
  warmReads?(): void;
  /** Optional readMessages into memory kept for reuse (issue 18): valid until `release()`, never read after it. */
  lendMessages?(messageIds: number[]): Promise<{ bytes: Map<number, Buffer>; release(): void }>;
  /**
   * Optional: SEARCH BODY/TEXT from the index built at ingest (fulltext.ts). For each query the
   * folder's messages (or only `messageIds`) whose text contains the needle, or null when the
   * index cannot answer the needle; `uncovered` lists messages the index has no whole text of
   * (of `entryIds`, the message ids of the entries the caller evaluates, when it gives them).
   */
  searchText?(folderId: number, messageIds: number[] | null, queries: TextSearchQuery[], entryIds?: ArrayLike<number>): Promise<TextSearchAnswer>;

  storeFlags(folderId: number, uids: number[], op: 'set' | 'add' | 'remove', flags: string[], unchangedSince?: number): Promise<StoreFlagsResult>;
  /** Copies entries (the stored message is shared, not duplicated). QuotaExceeded when over quota. */
  copyMessages(folderId: number, uids: number[], destFolderId: number): Promise<CopyResult>;
  moveMessages(folderId: number, uids: number[], destFolderId: number): Promise<CopyResult>;
  /** Removes entries flagged \Deleted (limited to `uids` when given); returns the expunged UIDs. */
  expunge(folderId: number, uids?: number[]): Promise<number[]>;
  /** Stores a message in one folder through the ingest path (IMAP APPEND). */
  append(mailboxId: string, folderName: string, raw: Buffer, opts?: { flags?: string[]; internalDate?: number }): Promise<{ uidValidity: number; uid: number }>;
  /** Several messages into one folder, all or none (IMAP MULTIAPPEND, RFC 3502). */
  appendMany(mailboxId: string, folderName: string, items: Array<{ raw: Buffer; flags?: string[]; internalDate?: number }>): Promise<{ uidValidity: number; uids: number[] }>;
  quota(mailboxId: string): Promise<QuotaInfo>;

  /**
   * Calls `listener` after each committed change in any folder of the mailbox, and after
   * folders are created, deleted or renamed and subscriptions change (IMAP NOTIFY).
   */
  watchMailbox(mailboxId: string, listener: (event: MailboxEvent) => void): () => void;
  /** Calls `listener` after each committed change of the folder; returns the unsubscribe function. */
  watch(folderId: number, listener: (event: FolderEvent) => void): () => void;
}
