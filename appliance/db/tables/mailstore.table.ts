/**
 * Mailbox store index: folders per mailbox, messages stored once (their bytes live in the blob
 * store, their parsed metadata here) and referenced by folder entries with UID, flags and
 * MODSEQ. Expunges are logged with their MODSEQ so sessions can catch up (CONDSTORE/QRESYNC).
 */
import type { ColumnType, Generated, Selectable } from 'kysely';

export interface FoldersTable {
  id: Generated<number>;
  mailbox_id: string;
  name: string; // full IMAP name with '/' as hierarchy delimiter; INBOX is "INBOX"
  special_use: string | null; // \Sent \Drafts \Trash \Junk \Archive
  uid_validity: number;
  uid_next: Generated<number>;
  highest_modseq: Generated<number>;
  created_at: number;
  /** First UID not yet reported as \Recent to any session (migration 0016). */
  recent_uid: Generated<number>;
  /** How many entries the folder has (migration 0050), changed with them in the same transaction. */
  message_count: Generated<number>;
}

export interface SubscriptionsTable {
  mailbox_id: string;
  name: string;
}

export interface MessagesTable {
  id: Generated<number>;
  blob_id: string;
  /**
   * Per-recipient header lines (e.g. Delivered-To) served before the blob's bytes; several
   * message rows share one blob. `size` and the offsets in `meta` include the prefix.
   */
  header_prefix: Generated<string>;
  size: number;
  /** JSON of MessageMeta (envelope, body structure, part offsets), computed once at ingest. */
  meta: string;
  /** Number of folder entries referring to this message; 0 means collectable. */
  refs: number;
  /** JSON of SortKeys (SORT/THREAD keys); null for rows older than migration 0017. */
  sort_keys: string | null;
  created_at: number;
}

export interface FolderMessagesTable {
  folder_id: number;
  uid: number;
  message_id: number;
  flags: string; // space-separated, e.g. "\\Seen \\Flagged $Label1"
  modseq: number;
  internal_date: number;
  size: number;
  /** When the entry was saved into the folder, epoch ms; null before migration 0017 (RFC 8514). */
  saved_at: number | null;
  /** The message's SORT/THREAD keys (JSON, see mailstore/sort-keys.ts), null before migration 0022 backfilled them. */
  sort_keys: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface FolderExpungesTable {
  folder_id: number;
  uid: number;
  modseq: number;
}

export type FolderRow = Selectable<FoldersTable>;
export type MessageRow = Selectable<MessagesTable>;
export type FolderMessageRow = Selectable<FolderMessagesTable>;

/** A compact copy of a large folder's entries as of `modseq` (migration 0053, mailstore/folder-index.ts). */
export interface FolderIndexSnapshotsTable {
  folder_id: number;
  modseq: number;
  entries: number;
  data: Buffer;
}

/** Blobs whose index rows were committed before the blob's fsync completed (migration 0054). */
export interface UnsyncedBlobsTable {
  blob_id: string;
  created_at: number;
}

/** A compact copy of a large folder's sort keys by message id (migration 0058, mailstore/sort-keys.ts). */
/** A chunk of a large folder's envelope copy (migration 0061, mailstore/envelope-copy.ts). */
export interface FolderEnvelopeChunksTable {
  folder_id: number;
  /** The smallest message id in the chunk. */
  chunk: number | string;
  entries: number;
  data: Buffer;
}

export interface FolderSortKeysTable {
  folder_id: number;
  entries: number;
  data: Buffer;
}
