/**
 * The mailbox store: index in the database (folders, messages stored once, folder entries with
 * UID/flags/MODSEQ, expunge log), bytes in a BlobStore. Writes go through the group-commit
 * queue and notify watchers after commit.
 */
import { type Kysely, sql } from 'kysely';
import { AppError } from '../core/kernel/errors.js';
import { dialectOf, readsOffThread } from '../db/dialect.js';
import { precompile, preparedRows } from '../db/repos/prepared.js';
import { prestartReaders } from '../db/sqlite-readers.js';
import type { DB } from '../db/schema.js';
import type { FolderMessageRow, FolderRow } from '../db/tables/mailstore.table.js';
import { BlobNotFoundError, type BlobStore } from './blobstore.js';
import { ChangeBus } from './changes.js';
import { mailboxMessage, RemoteChanges } from './cluster-changes.js';
import type { ClusterNotifier } from '../cluster/notifier.js';
import { applyFlags, hasFlag, parseFlags, sameFlags, serializeFlags } from './flags.js';
import { newUidValidity } from './folders.js';
import { Ingest } from './ingest.js';
import { FolderIndex, type FolderState, type JournalChanges, warmUpFolderIndex } from './folder-index.js';
import { SearchTextBackfill, SearchTextIndexer } from './fulltext-backfill.js';
import { precompileHeadRead, snapshotTable } from './folder-snapshot.js';
import { type AddressField, type BlobRef, EnvelopeCopies, envelopeText } from './envelope-copy.js';
import { addressFieldText } from '../imap/search.js';
import { SORT_COPY_MIN_ENTRIES, type SortColumnCopy, type SortStringField, sortKeyColumn, sortKeyCopyTable, threadKeyColumns } from './sort-key-copy.js';
import { searchStoredText, type TextSearchAnswer, type TextSearchQuery } from './fulltext.js';
import { provisionMailbox, type StandaloneMailbox } from './provision.js';
import type { MessageMeta } from './mime/types.js';
import { type SortKeys, computeSortKeys } from './sort-keys.js';
import type {
  CopyResult,
  FlagColumns,
  FolderChanges,
  FolderEvent,
  MailboxEvent,
  FolderInfo,
  FolderStatus,
  MailStore,
  MessageEntry,
  QuotaInfo,
  SortKeyColumn,
  SortRow,
  SpecialUse,
  StoreFlagsResult,
  ThreadKeyColumn,
} from './store.types.js';
import { type JobContext, WriteQueue } from './write-queue.js';
import type { MetricsPort } from '../core/kernel/metrics-port.js';

const SPECIAL_USES = new Set(['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive']);
const META_CACHE_MAX = 20_000;
const SORT_CACHE_MAX = 250_000;
const SORT_ROWS_FOLDERS = 16;
/** Folders whose sort-key copy is kept as columns (store.sortColumn). */
const SORT_COLUMN_FOLDERS = 4;
const NOT_DURABLE = { durable: false };
/** Folders whose \\Recent claim is kept in memory (the least recently claimed, long written, are dropped). */
const RECENT_CLAIMS_MAX = 20_000;
/** readMessages reads up to this many blobs on the calling thread (FileBlobStore.readNow). */
const READ_NOW_MAX = 2;

/** A stored message's bytes: its header prefix (delivery headers), then the blob. */
function withPrefix(prefix: string | null, blob: Buffer): Buffer {
  return prefix ? Buffer.concat([Buffer.from(prefix, 'utf8'), blob]) : blob;
}

export function validateFolderName(name: string): string {
  if (typeof name !== 'string' || !name.length) throw new AppError('Invalid', 'folder name is empty');
  if (Buffer.byteLength(name) > 512) throw new AppError('Invalid', 'folder name is too long');
  // eslint-disable-next-line no-control-regex -- control characters are what this check refuses
  if (/[\x00-\x1f\x7f*%]/.test(name)) throw new AppError('Invalid', 'folder name contains a forbidden character');
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) throw new AppError('Invalid', 'folder name has an empty hierarchy level');
  if (name.split('/').length > 32) throw new AppError('Invalid', 'folder hierarchy is too deep');
  return name.toUpperCase() === 'INBOX' ? 'INBOX' : name;
}

function toFolderInfo(row: FolderRow): FolderInfo {
  return {
    id: Number(row.id),
    mailboxId: row.mailbox_id,
    name: row.name,
    specialUse: (row.special_use as SpecialUse | null) ?? null,
    uidValidity: Number(row.uid_validity),
    uidNext: Number(row.uid_next),
    highestModseq: Number(row.highest_modseq),
    recentUid: Number(row.recent_uid),
  };
}

function toEntry(row: Pick<FolderMessageRow, 'uid' | 'message_id' | 'flags' | 'modseq' | 'internal_date' | 'size' | 'saved_at'>): MessageEntry {
  return {
    uid: Number(row.uid),
    messageId: Number(row.message_id),
    flags: parseFlags(row.flags),
    modseq: Number(row.modseq),
    internalDate: Number(row.internal_date),
    size: Number(row.size),
    savedAt: row.saved_at === null || row.saved_at === undefined ? null : Number(row.saved_at),
  };
}

const ENTRY_COLUMNS = ['uid', 'message_id', 'flags', 'modseq', 'internal_date', 'size', 'saved_at'] as const;

export interface StoreDeps {
  db: Kysely<DB>;
  blobs: BlobStore;
  maxMessageBytes: number;
  /** Where the store counts (commit timings); nothing when absent. */
  metrics?: MetricsPort;
  /** The cluster's notifier: changes are announced to the other nodes and theirs received here. */
  cluster?: ClusterNotifier;
  /**
   * How long a synced blob's `unsynced_blobs` row waits for the next ingest transaction to carry
   * its delete before it gets a transaction of its own (1 s). The round-trip bench sets it long,
   * so that the statements it counts per message do not depend on how fast the box is.
   */
  unlistDelayMs?: number;
  /** How long the search index waits for a quiet moment before writing new messages' rows (fulltext-backfill.ts GATHER_MS). */
  searchGatherMs?: number;
  /** How long a new message waits at most for that while others keep arriving (fulltext-backfill.ts INDEX_MAX_LAG_MS). */
  searchMaxLagMs?: number;
  /**
   * Whether the search index's segments are merged after its batches (fulltext-backfill.ts; on
   * SQLite's FTS5 index only, the default there). The round-trip bench turns it off: it compares
   * the per-message statements of both backends, and PostgreSQL has no such step.
   */
  searchMerges?: boolean;
}

export class SqlMailStore implements MailStore {
  readonly bus = new ChangeBus();
  readonly queue: WriteQueue;
  readonly ingest: Ingest;
  /** The search index's background backfill (messages stored before it existed). */
  readonly searchBackfill: SearchTextBackfill;
  /** The search index's writer for new messages (after their commit, in the background). */
  readonly searchIndexer: SearchTextIndexer;
  private readonly db: Kysely<DB>;
  /** `db` for the row lookups of FETCH of many bodies: on SQLite a reader thread (lendMessages). */
  private readonly bodyReads: Kysely<DB>;
  private readonly blobs: BlobStore;
  private readonly metaCache = new Map<number, MessageMeta>();
  /** Where the bytes of the messages in metaCache are (read with their meta): FETCH of many bodies after an ENVELOPE list looks up no rows. */
  private readonly blobRefs = new Map<number, BlobRef>();
  /** Large folders' envelope copies (envelope-copy.ts, issue 18): held in memory, rows read and new messages written. */
  readonly envelopes: EnvelopeCopies;
  /** \Recent claims of this node by folder (single node only: see claimRecentHere). */
  private readonly recentClaims = new Map<number, number>();
  /** Entries of recently used folders, caught up from the change journal (folder-index.ts). */
  private readonly index: FolderIndex;
  /** Sort rows of recently sorted folders, valid while no entry was added or removed there. */
  private readonly sortRowsCache = new Map<number, { rows: SortRow[]; membership: number }>();
  /** Compact copies of large folders' sort keys (sort-key-copy.ts, issue 18). */
  private readonly sortKeyCopies: ReturnType<typeof sortKeyCopyTable>;
  /** Large folders' sort-key copies read as columns, by folder (sortColumn; a few folders, most recently used last). */
  private readonly sortColumnCopies = new Map<number, SortColumnCopy>();
  /** Large folders' THREAD key columns (threadColumns) by folder, with the membership they are of (a few folders, most recently made last). */
  private readonly threadColumnsKept = new Map<number, ThreadKeyColumn>();
  /** Large folders' sort-key columns (sortColumn) by folder and field, with the membership they are of (a few folders, most recently made last). */
  private readonly sortColumnsKept = new Map<number, { membership: number; fields: Map<string, SortKeyColumn> }>();
  /** Parsed sort keys by message id (small objects; SORT/THREAD on large folders reuse them). */
  private readonly sortCache = new Map<number, SortKeys>();
  /** Watchers of whole mailboxes (IMAP NOTIFY) and the owners of folders they have seen. */
  private readonly mailboxWatchers = new Map<string, Set<(event: MailboxEvent) => void>>();
  private readonly folderOwners = new Map<number, string>();
  private unwatchAll: (() => void) | null = null;
  /** Other nodes' changes (cluster only). */
  private remote: RemoteChanges | null = null;

  constructor(private readonly deps: StoreDeps) {
    this.db = deps.db;
    this.bodyReads = readsOffThread(deps.db);
    this.blobs = deps.blobs;
    this.queue = new WriteQueue(deps.db, undefined, deps.cluster);
    this.searchIndexer = new SearchTextIndexer(deps.blobs, this.queue, deps.searchGatherMs, deps.searchMaxLagMs, (deps.searchMerges ?? true) && dialectOf(deps.db) === 'sqlite');
    this.ingest = new Ingest(
      deps.db,
      this.queue,
      deps.blobs,
      this.bus,
      deps.metrics,
      this.searchIndexer,
      (blobId) => this.settleUnsyncedBlob(blobId, false).then(() => undefined),
      deps.unlistDelayMs,
      (folderId, uid, stored) => this.envelopes.stored(folderId, uid, stored),
    );
    this.searchBackfill = new SearchTextBackfill(deps.db, deps.blobs, this.queue);
    this.sortKeyCopies = sortKeyCopyTable(this.db, (fn) => this.queue.run(({ trx }) => fn(trx), NOT_DURABLE));
    this.envelopes = new EnvelopeCopies({
      db: this.db,
      write: (fn) => this.queue.run(({ trx }) => fn(trx), NOT_DURABLE),
      metaCache: this.metaCache,
      blobRefs: this.blobRefs,
      getMeta: (ids) => this.getMeta(ids),
    });
    this.index = new FolderIndex({
      state: async (folderId) => {
        // Compiled once (issue 18: kysely's builder and compiler were about 2 ms of a fresh process's first SELECT).
        const [row] = await preparedRows(this.db, 'store.folderState', null, [folderId] as const, (id) => this.folderStateQuery(id));
        if (!row) throw new AppError('NotFound', 'folder not found');
        return { modseq: Number(row.highest_modseq), count: Number(row.message_count), uidNext: Number(row.uid_next) };
      },
      loadEntries: async (folderId) => {
        const rows = await this.db.selectFrom('folder_messages').select(ENTRY_COLUMNS).where('folder_id', '=', folderId).orderBy('uid').execute();
        return rows.map(toEntry);
      },
      changesSince: (folderId, modseq, upTo) => this.journalSince(folderId, modseq, upTo),
      // large folders start from a persisted copy of their entries (folder-snapshot.ts, issue 18)
      ...snapshotTable(this.db, (fn) => this.queue.run(({ trx }) => fn(trx), NOT_DURABLE)),
      // the sort-key copy follows the index copy, off any answer path (sort-key-copy.ts refresh, issue 18)
      snapshotSaved: (folderId, messageIds) => void this.sortKeyCopies.refresh(folderId, messageIds, (id) => this.sortCache.get(id)),
    });
    if (deps.cluster) {
      this.bus.cluster = deps.cluster;
      this.remote = new RemoteChanges(deps.cluster, {
        bus: this.bus,
        emitMailbox: (event) => this.emitMailbox(event),
        forgetFolder: (folderId) => {
          this.index.drop(folderId);
          this.sortRowsCache.delete(folderId);
        },
        watchedMailboxes: () => [...this.mailboxWatchers.keys()],
        folderModseqs: async (folderIds, mailboxIds) => {
          const rows = await this.db
            .selectFrom('folders')
            .select(['id', 'mailbox_id', 'highest_modseq'])
            .where((eb) => eb.or([...(folderIds.length ? [eb('id', 'in', folderIds)] : []), ...(mailboxIds.length ? [eb('mailbox_id', 'in', mailboxIds)] : [])]))
            .execute();
          return rows.map((r) => ({ id: Number(r.id), mailboxId: r.mailbox_id, highestModseq: Number(r.highest_modseq) }));
        },
      });
    }
  }

  /** After the commit of `ctx`'s job: this node's mailbox watchers, and (clustered) the other nodes. */
  private mailboxAtCommit(ctx: Pick<JobContext, 'after' | 'announce'>, event: Exclude<MailboxEvent, { kind: 'folder' }>): void {
    ctx.after(() => this.emitMailbox(event));
    this.bus.announce(ctx, () => mailboxMessage(event));
  }

  // ---- folders -------------------------------------------------------------------------

  async listFolders(mailboxId: string): Promise<FolderInfo[]> {
    const rows = await this.db.selectFrom('folders').selectAll().where('mailbox_id', '=', mailboxId).orderBy('name').execute();
    return rows.map((r) => this.withClaims(toFolderInfo(r)));
  }

  /** A folder as stored, with this node's \Recent claim that may not be written yet. */
  private withClaims(info: FolderInfo): FolderInfo {
    const claimed = this.recentClaims.get(info.id);
    return claimed !== undefined && claimed > info.recentUid ? { ...info, recentUid: claimed } : info;
  }

  private folderByNameQuery(mailboxId: string, name: string) {
    return this.db.selectFrom('folders').selectAll().where('mailbox_id', '=', mailboxId).where('name', '=', name);
  }

  private folderStateQuery(folderId: number) {
    return this.db.selectFrom('folders').select(['highest_modseq', 'message_count', 'uid_next']).where('id', '=', folderId);
  }

  /**
   * Warm-up at server start (issue 18), on made-up values only: the statements of a first
   * SELECT are built and compiled to SQL (not run: no row is read, nothing is kept) and the
   * folder index opens a made-up folder from memory (folder-index.ts warmUpFolderIndex). V8 compiles each
   * function at its first call: about 40% of a fresh process's first SELECT of a large folder
   * was that compilation (7.2 against 12.5 ms of CPU with every function compiled up front).
   */
  async warmUp(): Promise<void> {
    precompile(this.db, 'store.folderByName', null, ['', ''] as const, (m, f) => this.folderByNameQuery(m, f));
    precompile(this.db, 'store.folderState', null, [0] as const, (id) => this.folderStateQuery(id));
    precompileHeadRead(this.db);
    await warmUpFolderIndex();
  }

  async getFolder(mailboxId: string, name: string): Promise<FolderInfo | null> {
    const n = name.toUpperCase() === 'INBOX' ? 'INBOX' : name;
    // Compiled once: every SELECT, STATUS, APPEND and COPY looks its folder up by name (issue 18).
    const [row] = await preparedRows(this.db, 'store.folderByName', null, [mailboxId, n] as const, (m, f) => this.folderByNameQuery(m, f));
    return row ? this.withClaims(toFolderInfo(row)) : null;
  }

  private async folderById(db: Kysely<DB>, folderId: number): Promise<FolderRow> {
    const row = await db.selectFrom('folders').selectAll().where('id', '=', folderId).executeTakeFirst();
    if (!row) throw new AppError('NotFound', 'folder not found');
    return row;
  }

  async createFolder(mailboxId: string, name: string, specialUse: SpecialUse | null = null): Promise<FolderInfo> {
    const n = validateFolderName(name);
    if (specialUse && !SPECIAL_USES.has(specialUse)) throw new AppError('Invalid', `unknown special use ${specialUse}`);
    return this.queue.run(async (ctx) => {
      const { trx } = ctx;
      const exists = await trx.selectFrom('folders').select('id').where('mailbox_id', '=', mailboxId).where('name', '=', n).executeTakeFirst();
      if (exists) throw new AppError('AlreadyExists', `folder ${n} already exists`);
      this.mailboxAtCommit(ctx, { kind: 'created', mailboxId, name: n });
      const row = await trx
        .insertInto('folders')
        .values({ mailbox_id: mailboxId, name: n, special_use: specialUse, uid_validity: newUidValidity(), created_at: Date.now() })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toFolderInfo(row);
    });
  }

  async deleteFolder(mailboxId: string, name: string): Promise<void> {
    const n = validateFolderName(name);
    if (n === 'INBOX') throw new AppError('Invalid', 'INBOX cannot be deleted');
    await this.queue.run(async (ctx) => {
      const folder = await ctx.trx.selectFrom('folders').selectAll().where('mailbox_id', '=', mailboxId).where('name', '=', n).executeTakeFirst();
      if (!folder) throw new AppError('NotFound', `folder ${n} does not exist`);
      const entries = await ctx.trx.selectFrom('folder_messages').select(['uid', 'message_id', 'size']).where('folder_id', '=', folder.id).execute();
      await this.removeEntries(ctx, mailboxId, Number(folder.id), entries, { logExpunge: false });
      await ctx.trx.deleteFrom('folder_expunges').where('folder_id', '=', folder.id).execute();
      await ctx.trx.deleteFrom('folders').where('id', '=', folder.id).execute();
      const folderId = Number(folder.id);
      ctx.after(() => {
        this.index.drop(folderId);
        this.sortRowsCache.delete(folderId);
        this.bus.emit({ kind: 'deleted', folderId });
        this.emitMailbox({ kind: 'deleted', mailboxId, name: n, folderId });
      });
      this.bus.announce(ctx, () => mailboxMessage({ kind: 'deleted', mailboxId, name: n, folderId }));
    });
  }

  async renameFolder(mailboxId: string, from: string, to: string): Promise<void> {
    const src = validateFolderName(from);
    const dst = validateFolderName(to);
    if (dst === 'INBOX') throw new AppError('AlreadyExists', 'INBOX already exists');
    await this.queue.run(async (ctx) => {
      const { trx } = ctx;
      const taken = await trx.selectFrom('folders').select('id').where('mailbox_id', '=', mailboxId).where('name', '=', dst).executeTakeFirst();
      if (taken) throw new AppError('AlreadyExists', `folder ${dst} already exists`);
      const folder = await trx.selectFrom('folders').selectAll().where('mailbox_id', '=', mailboxId).where('name', '=', src).executeTakeFirst();
      if (!folder) throw new AppError('NotFound', `folder ${src} does not exist`);
      if (dst.startsWith(`${src}/`)) throw new AppError('Invalid', 'cannot rename a folder into itself');
      const now = Date.now();
      if (src === 'INBOX') {
        // RFC 3501: renaming INBOX moves its messages to a new folder; INBOX stays, empty.
        const created = await trx
          .insertInto('folders')
          .values({ mailbox_id: mailboxId, name: dst, special_use: null, uid_validity: newUidValidity(now), uid_next: folder.uid_next, created_at: now, message_count: folder.message_count })
          .returning('id')
          .executeTakeFirstOrThrow();
        this.mailboxAtCommit(ctx, { kind: 'created', mailboxId, name: dst });
        const entries = await trx.selectFrom('folder_messages').select(['uid']).where('folder_id', '=', folder.id).execute();
        await trx.updateTable('folder_messages').set({ folder_id: created.id }).where('folder_id', '=', folder.id).execute();
        if (entries.length) {
          const bumped = await trx
            .updateTable('folders')
            .set((eb) => ({ highest_modseq: eb('highest_modseq', '+', 1), message_count: 0 }))
            .where('id', '=', folder.id)
            .returning('highest_modseq')
            .executeTakeFirstOrThrow();
          const modseq = Number(bumped.highest_modseq);
          const uids = entries.map((e) => Number(e.uid));
          await trx
            .insertInto('folder_expunges')
            .values(uids.map((uid) => ({ folder_id: folder.id, uid, modseq })))
            .execute();
          const folderId = Number(folder.id);
          this.bus.atCommit(ctx, { kind: 'expunge', folderId, uids, modseq }, mailboxId);
        }
        return;
      }
      const children = await trx
        .selectFrom('folders')
        .select(['id', 'name'])
        .where('mailbox_id', '=', mailboxId)
        .where((eb) => eb.or([eb('name', '=', src), sql<boolean>`name like ${`${src.replace(/[\\%_]/g, '\\$&')}/%`} escape '\\'`]))
        .execute();
      for (const child of children) {
        if (child.name !== src && !child.name.startsWith(`${src}/`)) continue;
        const newName = dst + child.name.slice(src.length);
        await trx.updateTable('folders').set({ name: newName }).where('id', '=', child.id).execute();
        const oldName = child.name;
        this.mailboxAtCommit(ctx, { kind: 'renamed', mailboxId, from: oldName, to: newName });
        // The new name may be subscribed already (subscriptions outlive mailboxes): keep that one.
        const subscribed = await trx.selectFrom('subscriptions').select('name').where('mailbox_id', '=', mailboxId).where('name', '=', newName).executeTakeFirst();
        if (subscribed) await trx.deleteFrom('subscriptions').where('mailbox_id', '=', mailboxId).where('name', '=', child.name).execute();
        else await trx.updateTable('subscriptions').set({ name: newName }).where('mailbox_id', '=', mailboxId).where('name', '=', child.name).execute();
      }
    });
  }

  async listSubscriptions(mailboxId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('subscriptions').select('name').where('mailbox_id', '=', mailboxId).orderBy('name').execute();
    return rows.map((r) => r.name);
  }

  async setSubscribed(mailboxId: string, name: string, subscribed: boolean): Promise<void> {
    const n = validateFolderName(name);
    await this.queue.run(async (ctx) => {
      const { trx } = ctx;
      await trx.deleteFrom('subscriptions').where('mailbox_id', '=', mailboxId).where('name', '=', n).execute();
      if (subscribed) await trx.insertInto('subscriptions').values({ mailbox_id: mailboxId, name: n }).execute();
      this.mailboxAtCommit(ctx, { kind: 'subscription', mailboxId, name: n, subscribed });
    });
  }

  // ---- reading -------------------------------------------------------------------------

  async folderStatus(folderId: number): Promise<FolderStatus> {
    const folder = await this.folderById(this.db, folderId);
    // Aggregated in SQL: STATUS and LIST-STATUS are polled for every folder by mail clients.
    // LIKE … ESCAPE '!' keeps the backslash of a system flag literal on SQLite and PostgreSQL alike.
    const row = await this.db
      .selectFrom('folder_messages')
      .select([
        sql<number>`count(*)`.as('messages'),
        sql<number>`coalesce(sum(size), 0)`.as('size'),
        sql<number>`coalesce(sum(case when flags like ${'%\\Seen%'} escape '!' then 0 else 1 end), 0)`.as('unseen'),
        sql<number>`coalesce(sum(case when flags like ${'%\\Deleted%'} escape '!' then 1 else 0 end), 0)`.as('deleted'),
        sql<number>`coalesce(sum(case when uid >= ${Math.max(Number(folder.recent_uid), this.recentClaims.get(folderId) ?? 0)} then 1 else 0 end), 0)`.as('recent'),
      ])
      .where('folder_id', '=', folderId)
      .executeTakeFirstOrThrow();
    return {
      messages: Number(row.messages),
      unseen: Number(row.unseen),
      deleted: Number(row.deleted),
      recent: Number(row.recent),
      size: Number(row.size),
      uidNext: Number(folder.uid_next),
      uidValidity: Number(folder.uid_validity),
      highestModseq: Number(folder.highest_modseq),
    };
  }

  async listMessages(folderId: number): Promise<MessageEntry[]> {
    return this.index.entries(folderId);
  }

  async entriesOf(folderId: number, uids: number[]): Promise<MessageEntry[]> {
    return this.index.pick(folderId, uids);
  }

  /** The folder's entries as columns (issue 18: SELECT, FETCH FLAGS and flag searches make no object per message). */
  flagColumns(folderId: number) {
    return this.index.flagColumns(folderId);
  }

  /** UIDs, MODSEQs and flag lists alone (SELECT, FETCH FLAGS, flag searches): from the narrow copy in a fresh process (folder-index.ts). */
  uidFlagColumns(folderId: number) {
    return this.index.uidFlagColumns(folderId);
  }

  async getEntry(folderId: number, uid: number): Promise<MessageEntry | null> {
    const row = await this.db.selectFrom('folder_messages').select(ENTRY_COLUMNS).where('folder_id', '=', folderId).where('uid', '=', uid).executeTakeFirst();
    return row ? toEntry(row) : null;
  }

  /**
   * Issue 18: a folder kept in memory answers from its entries' MODSEQs and the expunges it
   * applied, after its catch-up (one state read; the journal once for every session of the folder
   * when it moved; none when it is already at `seen`, the change event the caller heard of); other folders, and MODSEQs older than what it remembers, read the journal.
   */
  async changesSince(folderId: number, modseq: number, seen?: number): Promise<FolderChanges> {
    const known = await this.index.changesSince(folderId, modseq, seen);
    if (known) return known;
    const { expungedModseqs: _, ...ch } = await this.journalSince(folderId, modseq);
    return ch;
  }

  /** The change journal after `modseq` (up to `upTo`'s MODSEQ when given), with each expunge's MODSEQ for the folder index. */
  private async journalSince(folderId: number, modseq: number, upTo?: FolderState): Promise<JournalChanges> {
    const folder = upTo ? null : await this.folderById(this.db, folderId);
    const top = upTo ? upTo.modseq : Infinity;
    const changed = await this.db
      .selectFrom('folder_messages')
      .select(ENTRY_COLUMNS)
      .where('folder_id', '=', folderId)
      .where('modseq', '>', modseq)
      .$if(upTo !== undefined, (q) => q.where('modseq', '<=', top))
      .orderBy('uid')
      .execute();
    const expunged = await this.db
      .selectFrom('folder_expunges')
      .select(['uid', 'modseq'])
      .where('folder_id', '=', folderId)
      .where('modseq', '>', modseq)
      .$if(upTo !== undefined, (q) => q.where('modseq', '<=', top))
      .orderBy('uid')
      .execute();
    return {
      highestModseq: folder ? Number(folder.highest_modseq) : top,
      uidNext: folder ? Number(folder.uid_next) : (upTo?.uidNext ?? 0),
      changed: changed.map(toEntry),
      expunged: expunged.map((r) => Number(r.uid)),
      expungedModseqs: expunged.map((r) => Number(r.modseq)),
    };
  }

  async sortRows(folderId: number): Promise<SortRow[]> {
    // Webmails SORT/THREAD on every page view: a folder's rows are kept while no message is
    // added or removed there (flag changes do not touch sort keys); after such a change only
    // the keys of new messages are read, the others come from the key cache.
    const { columns, membership } = await this.index.snapshot(folderId);
    const cached = this.sortRowsCache.get(folderId);
    if (cached && cached.membership === membership) {
      this.sortRowsCache.delete(folderId);
      this.sortRowsCache.set(folderId, cached);
      return cached.rows;
    }
    const rows = await this.loadSortRows(folderId, columns());
    this.sortRowsCache.delete(folderId);
    this.sortRowsCache.set(folderId, { rows, membership });
    while (this.sortRowsCache.size > SORT_ROWS_FOLDERS) this.sortRowsCache.delete(this.sortRowsCache.keys().next().value!);
    return rows;
  }

  /**
   * One sort key of every entry of a large folder as a column (sort-key-copy.ts sortKeyColumn),
   * read from the folder's sort-key copy without sort rows (issue 18: the first SORT of a fresh
   * process). Null when the folder's sort rows are at hand, it is small, it has no copy, or the
   * copy lacks many of its messages (then sortRows, which writes a new one); the few it lacks
   * are read from their rows.
   */
  async sortColumn(folderId: number, field: 'd' | SortStringField): Promise<SortKeyColumn | null> {
    const { columns, membership } = await this.index.snapshot(folderId);
    return this.columnOf(folderId, field, columns(), membership);
  }

  /** sortColumn of the folder's entries `cols` as of `membership` (one snapshot for several columns). */
  private async columnOf(folderId: number, field: 'd' | SortStringField, cols: FlagColumns, membership: number): Promise<SortKeyColumn | null> {
    if (this.sortRowsCache.get(folderId)?.membership === membership) return null;
    if (cols.length < SORT_COPY_MIN_ENTRIES) return null;
    // Kept while the membership stands: a message's keys never change (issue 18, fifteenth round:
    // the column was made again from the copy on every SORT, a fifth of a warm one).
    const kept = this.sortColumnsKept.get(folderId);
    // (with the copy it was made from still at hand: threadColumns reads that copy next)
    const hit = kept?.membership === membership && this.sortColumnCopies.has(folderId) ? kept.fields.get(field) : undefined;
    if (hit) return hit;
    const made = await this.makeColumn(folderId, field, cols, membership);
    if (!made) return null;
    const now = this.sortColumnsKept.get(folderId);
    this.sortColumnsKept.delete(folderId);
    const fields = now?.membership === membership ? now.fields : new Map<string, SortKeyColumn>();
    fields.set(field, made);
    this.sortColumnsKept.set(folderId, { membership, fields });
    while (this.sortColumnsKept.size > SORT_COLUMN_FOLDERS) this.sortColumnsKept.delete(this.sortColumnsKept.keys().next().value!);
    return made;
  }

  /** columnOf's column made from the folder's sort-key copy (and the few keys it lacks). */
  private async makeColumn(folderId: number, field: 'd' | SortStringField, cols: FlagColumns, membership: number): Promise<SortKeyColumn | null> {
    const copy = this.sortColumnCopies.get(folderId) ?? (await this.sortKeyCopies.loadColumns(folderId).catch(() => null));
    if (!copy) return null;
    this.sortColumnCopies.delete(folderId);
    this.sortColumnCopies.set(folderId, copy);
    while (this.sortColumnCopies.size > SORT_COLUMN_FOLDERS) this.sortColumnCopies.delete(this.sortColumnCopies.keys().next().value!);
    const known = (id: number) => this.sortCache.get(id);
    let column = sortKeyColumn(copy, field, cols.messageIds, cols.internalDates, known);
    if (!column || column.missing.length >= SORT_COPY_MIN_ENTRIES) {
      this.sortColumnCopies.delete(folderId); // sortRows writes a new copy: read that one next time
      return null;
    }
    if (column.missing.length) {
      const stored = await this.storedSortKeys(column.missing.map((k) => cols.messageIds[k]!));
      for (const [id, text] of stored) if (text) this.rememberSortKeys(id, JSON.parse(text) as SortKeys);
      // Still missing (gone, or stored before the key column): sortRows computes them.
      column = sortKeyColumn(copy, field, cols.messageIds, cols.internalDates, known);
      if (!column || column.missing.length) return null;
    }
    return { membership, uids: cols.uids, keys: column.keys };
  }

  /**
   * The THREAD keys of every entry of a large folder as columns (sort-key-copy.ts
   * threadKeyColumns), from its sort-key copy as sortColumn reads it (which also reads the few
   * keys the copy lacks); null whenever sortColumn is.
   */
  async threadColumns(folderId: number): Promise<ThreadKeyColumn | null> {
    // Kept while the membership stands (a webmail's next page view threads the same columns).
    const { columns, membership } = await this.index.snapshot(folderId);
    const kept = this.threadColumnsKept.get(folderId);
    if (kept && kept.membership === membership && this.sortRowsCache.get(folderId)?.membership !== membership) return kept;
    this.threadColumnsKept.delete(folderId);
    // both columns of the same entries (one snapshot: one state read, not one per column)
    const cols = columns();
    const dates = await this.columnOf(folderId, 'd', cols, membership);
    const subjects = dates && (await this.columnOf(folderId, 's', cols, membership));
    const copy = this.sortColumnCopies.get(folderId);
    if (!dates || !subjects || !copy) return null;
    const rest = threadKeyColumns(copy, cols.messageIds, subjects.keys, (id) => this.sortCache.get(id));
    if (!rest) return null;
    const column = { membership, uids: dates.uids, dates: dates.keys, subjects: subjects.keys, ...rest };
    this.threadColumnsKept.set(folderId, column);
    while (this.threadColumnsKept.size > SORT_COLUMN_FOLDERS) this.threadColumnsKept.delete(this.threadColumnsKept.keys().next().value!);
    return column;
  }

  /** Sort rows of the given entries (columns: no entry object is made): keys from the cache, the others read (a narrow query per batch, or one for the folder). */
  private async loadSortRows(folderId: number, entries: Pick<FlagColumns, 'length' | 'uids' | 'messageIds' | 'sizes' | 'internalDates'>): Promise<SortRow[]> {
    const { length, uids, messageIds, sizes, internalDates } = entries;
    let unknown = 0;
    for (let i = 0; i < length; i++) if (!this.sortCache.has(messageIds[i]!)) unknown++;
    // A large folder's keys from its compact copy first (sort-key-copy.ts); what it lacks is read below, then a new copy is written.
    const fromRows = unknown >= SORT_COPY_MIN_ENTRIES ? await this.keysFromCopy(folderId, messageIds) : unknown;
    if (fromRows > 0) {
      let stored: Map<number, string | null>;
      if (fromRows > 2000 || fromRows * 2 > length) {
        // The keys kept on the folder's own entries (migration 0022): one narrow read in UID order
        // (issue 18: also when most keys are unknown, as in a fresh process's first SORT of a
        // folder without a copy; statements of 500 ids each cost more to build than the read).
        const rows = await this.db.selectFrom('folder_messages').select(['message_id', 'sort_keys']).where('folder_id', '=', folderId).execute();
        stored = new Map(rows.map((r) => [Number(r.message_id), r.sort_keys]));
      } else {
        stored = await this.storedSortKeys(Array.from(messageIds).filter((id) => !this.sortCache.has(id)));
      }
      for (const [id, text] of stored) if (text && !this.sortCache.has(id)) this.rememberSortKeys(id, JSON.parse(text) as SortKeys);
    }
    const out: SortRow[] = new Array(length);
    const missing: number[] = [];
    for (let i = 0; i < length; i++) {
      const keys = this.sortCache.get(messageIds[i]!);
      if (!keys) missing.push(i);
      out[i] = { uid: uids[i]!, messageId: messageIds[i]!, size: sizes[i]!, internalDate: internalDates[i]!, keys: keys! };
    }
    if (missing.length) {
      // Rows stored before the key column: computed from the metadata once, then written back.
      const metas = await this.getMeta(missing.map((i) => out[i]!.messageId));
      const fill: Array<[number, SortKeys]> = [];
      for (const i of missing) {
        const meta = metas.get(out[i]!.messageId);
        const keys = meta ? computeSortKeys(meta) : { d: null, s: '', f: '', t: '', c: '', df: '', dt: '', id: null, r: [] };
        out[i]!.keys = keys;
        this.rememberSortKeys(out[i]!.messageId, keys);
        if (meta) fill.push([out[i]!.messageId, keys]);
      }
      if (fill.length) {
        void this.queue
          .run(async ({ trx }) => {
            for (const [id, keys] of fill)
              await trx
                .updateTable('messages')
                .set({ sort_keys: JSON.stringify(keys) })
                .where('id', '=', id)
                .execute();
          })
          .catch(() => undefined);
      }
    }
    if (fromRows >= SORT_COPY_MIN_ENTRIES) {
      this.sortColumnCopies.delete(folderId); // the copy being replaced
      void this.sortKeyCopies.save(folderId, out).catch(() => undefined);
    }
    return out;
  }

  /** The stored sort keys (JSON text) of the given messages, a statement per 500 ids. */
  private async storedSortKeys(ids: readonly number[]): Promise<Map<number, string | null>> {
    const stored = new Map<number, string | null>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db
        .selectFrom('messages')
        .select(['id', 'sort_keys'])
        .where('id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const r of rows) stored.set(Number(r.id), r.sort_keys);
    }
    return stored;
  }

  /** Puts the keys of `entries` found in the folder's copy into the key cache; how many are still unknown. */
  private async keysFromCopy(folderId: number, messageIds: Float64Array): Promise<number> {
    // The copy's bytes kept by a SORT from its columns (sortColumn), else read.
    const kept = this.sortColumnCopies.get(folderId);
    const copy = kept ? kept.keys() : await this.sortKeyCopies.load(folderId).catch(() => null);
    // The copy is of this folder: its few ids no longer there (expunged since) are cached as well, harmlessly.
    if (copy) for (let i = 0; i < copy.ids.length; i++) if (!this.sortCache.has(copy.ids[i]!)) this.rememberSortKeys(copy.ids[i]!, copy.keys[i]!);
    let unknown = 0;
    for (let i = 0; i < messageIds.length; i++) if (!this.sortCache.has(messageIds[i]!)) unknown++;
    return unknown;
  }

  private rememberSortKeys(id: number, keys: SortKeys): void {
    if (this.sortCache.size >= SORT_CACHE_MAX) this.sortCache.delete(this.sortCache.keys().next().value!);
    this.sortCache.set(id, keys);
  }

  async claimRecent(folderId: number, belowUid: number, floor?: number): Promise<number> {
    if (!this.deps.cluster?.clustered) return this.claimRecentHere(folderId, belowUid, floor);
    // Read first outside the queue: most calls find nothing new to claim and need no write.
    const cur = await this.db.selectFrom('folders').select('recent_uid').where('id', '=', folderId).executeTakeFirst();
    if (!cur) throw new AppError('NotFound', 'folder not found');
    if (Number(cur.recent_uid) >= belowUid) return belowUid;
    // \Recent is a session hint (RFC 3501 2.3.2): a claim lost in a crash costs nothing, so it waits for no fsync.
    return this.queue.run(async ({ trx }) => {
      const row = await trx.selectFrom('folders').select('recent_uid').where('id', '=', folderId).executeTakeFirst();
      if (!row) throw new AppError('NotFound', 'folder not found');
      const floor = Number(row.recent_uid);
      if (floor >= belowUid) return belowUid;
      await trx.updateTable('folders').set({ recent_uid: belowUid }).where('id', '=', folderId).execute();
      return floor;
    }, NOT_DURABLE);
  }

  /**
   * A single node is the only claimant of its folders' \Recent marks (issue 18): the claim is
   * decided in memory, at once, and written behind (non-durable, like the queued claim: a claim
   * lost in a crash costs nothing). Before, every session's claim after every command that showed
   * it new messages was a write-queue job, so a FETCH waited for other sessions' transactions.
   * `known`: the folder's mark as the caller read it in this command (FolderInfo.recentUid, with
   * this node's claims): with no claim of this node in memory it is the stored one (this node is
   * its only writer), so it is not read again (issue 18: a fresh process's first SELECT).
   */
  private async claimRecentHere(folderId: number, belowUid: number, known?: number): Promise<number> {
    let floor = this.recentClaims.get(folderId) ?? known;
    if (floor === undefined) {
      const cur = await this.db.selectFrom('folders').select('recent_uid').where('id', '=', folderId).executeTakeFirst();
      if (!cur) throw new AppError('NotFound', 'folder not found');
      floor = this.recentClaims.get(folderId) ?? Number(cur.recent_uid); // a claim made while this read ran wins
    }
    this.recentClaims.delete(folderId); // most recently claimed last
    this.recentClaims.set(folderId, Math.max(floor, belowUid));
    while (this.recentClaims.size > RECENT_CLAIMS_MAX) this.recentClaims.delete(this.recentClaims.keys().next().value!);
    if (floor >= belowUid) return belowUid;
    void this.queue
      .run(async ({ trx }) => {
        await trx.updateTable('folders').set({ recent_uid: belowUid }).where('id', '=', folderId).where('recent_uid', '<', belowUid).execute();
      }, NOT_DURABLE)
      .catch(() => undefined);
    return floor;
  }

  async getMeta(messageIds: number[]): Promise<Map<number, MessageMeta>> {
    const out = new Map<number, MessageMeta>();
    const missing: number[] = [];
    for (const id of messageIds) {
      const hit = this.metaCache.get(id);
      if (hit) out.set(id, hit);
      else missing.push(id);
    }
    for (let i = 0; i < missing.length; i += 500) {
      const chunk = missing.slice(i, i + 500);
      const rows = await this.db.selectFrom('messages').select(['id', 'meta', 'blob_id', 'header_prefix']).where('id', 'in', chunk).execute();
      for (const r of rows) {
        const meta = JSON.parse(r.meta) as MessageMeta;
        const id = Number(r.id);
        out.set(id, meta);
        if (this.metaCache.size >= META_CACHE_MAX) this.forgetMessage(this.metaCache.keys().next().value!);
        this.metaCache.set(id, meta);
        this.blobRefs.set(id, { id, blob_id: r.blob_id, header_prefix: r.header_prefix });
      }
    }
    return out;
  }

  /** Drops what is cached of a message (its meta and where its bytes are). */
  private forgetMessage(id: number): void {
    this.metaCache.delete(id);
    this.blobRefs.delete(id);
  }

  /**
   * The ENVELOPE texts (as FETCH writes them) of messages of a folder, by message id (issue 18):
   * from the folder's envelope copy held in memory, the cached meta, then (many unknown in a large
   * folder) from the copy's chunks, the rest from the messages' rows (getMeta). A fresh process's
   * FETCH 1:* (FLAGS ENVELOPE) of 1,200 messages read 5.6-8.6 MB of a cold database for the rows.
   */
  async envelopeTexts(folderId: number, messageIds: number[]): Promise<Map<number, string>> {
    const copy = await this.envelopes.copyFor(folderId, messageIds);
    const out = new Map<number, string>();
    const missing: number[] = [];
    for (const id of messageIds) {
      const meta = this.metaCache.get(id);
      const text = copy?.envelope(id) ?? (meta ? envelopeText(meta) : undefined);
      if (text !== undefined) out.set(id, text);
      else missing.push(id);
    }
    if (missing.length || this.envelopes.mergeDue(copy)) for (const [id, meta] of await this.envelopes.readMeta(folderId, messageIds, missing)) out.set(id, envelopeText(meta));
    return out;
  }

  /**
   * The header fields SEARCH of SUBJECT/FROM/TO/CC/BCC reads (decoded Subject; the address texts
   * of search.ts addressFieldText) of messages of a folder, from its envelope copy or their meta
   * as envelopeTexts finds them (issue 18: SEARCH SUBJECT after a FETCH ENVELOPE answered from the
   * copy read every message's row). A message gone has empty fields.
   */
  async headerFields(folderId: number, messageIds: number[]): Promise<{ subject(id: number): string; address(id: number, field: AddressField): string }> {
    const copy = await this.envelopes.copyFor(folderId, messageIds);
    const missing: number[] = [];
    for (const id of messageIds) if (!copy?.has(id) && !this.metaCache.has(id)) missing.push(id);
    const read = missing.length || this.envelopes.mergeDue(copy) ? await this.envelopes.readMeta(folderId, messageIds, missing) : null;
    const metaOf = (id: number): MessageMeta | null => this.metaCache.get(id) ?? read?.get(id) ?? null;
    return {
      subject: (id) => copy?.subject(id) ?? metaOf(id)?.subject ?? '',
      address: (id, field) => copy?.address(id, field) ?? addressFieldText(metaOf(id), field),
    };
  }

  async readMessage(messageId: number, range?: { start: number; end: number }): Promise<Buffer> {
    const row = await this.db.selectFrom('messages').select(['blob_id', 'header_prefix', 'size']).where('id', '=', messageId).executeTakeFirst();
    if (!row) throw new AppError('NotFound', 'message not found');
    const prefix = Buffer.from(row.header_prefix, 'utf8');
    const size = Number(row.size);
    const start = Math.max(0, Math.min(range?.start ?? 0, size));
    const end = Math.max(start, Math.min(range?.end ?? size, size));
    if (!prefix.length) return this.blobs.get(row.blob_id, range ? { start, end } : undefined);
    const parts: Buffer[] = [];
    if (start < prefix.length) parts.push(prefix.subarray(start, Math.min(end, prefix.length)));
    if (end > prefix.length) {
      parts.push(await this.blobs.get(row.blob_id, { start: Math.max(0, start - prefix.length), end: end - prefix.length }));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  searchText(folderId: number, messageIds: number[] | null, queries: TextSearchQuery[], entryIds?: ArrayLike<number>): Promise<TextSearchAnswer> {
    return searchStoredText(this.db, folderId, messageIds, queries, entryIds);
  }

  /** Many messages at once: one index query, blob reads in parallel (bounded). */
  async readMessages(messageIds: number[]): Promise<Map<number, Buffer>> {
    const ids = [...new Set(messageIds)];
    const known = ids.length <= READ_NOW_MAX ? this.readKnownNow(ids) : null;
    if (known) return known;
    const out = new Map<number, Buffer>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db
        .selectFrom('messages')
        .select(['id', 'blob_id', 'header_prefix'])
        .where('id', 'in', ids.slice(i, i + 500))
        .execute();
      if (rows.length <= READ_NOW_MAX && this.blobs.readNow) {
        // A FETCH of one or two messages (a client opening a message): read on the loop, a few
        // system calls on a cached file, instead of four trips each through libuv's pool, where
        // the wait is the pool's queue (issue 18, mixed load). Many messages are read in parallel below.
        for (const r of rows) {
          const bytes = this.blobs.readNow(r.blob_id);
          out.set(Number(r.id), r.header_prefix ? Buffer.concat([Buffer.from(r.header_prefix, 'utf8'), bytes]) : bytes);
        }
        continue;
      }
      if (this.blobs.readMany) {
        // Many messages: the blob files are read on threads of their own, into one buffer per
        // batch (blob-read-threads.ts): one message to the loop per batch, not four fs trips per file.
        const files = await this.blobs.readMany(rows.map((r) => r.blob_id));
        rows.forEach((r, k) => out.set(Number(r.id), withPrefix(r.header_prefix, files[k]!)));
        continue;
      }
      let next = 0;
      const worker = async () => {
        while (next < rows.length) {
          const r = rows[next++]!;
          const bytes = await this.blobs.get(r.blob_id);
          out.set(Number(r.id), r.header_prefix ? Buffer.concat([Buffer.from(r.header_prefix, 'utf8'), bytes]) : bytes);
        }
      };
      await Promise.all(Array.from({ length: Math.min(16, rows.length) }, worker));
    }
    return out;
  }

  /**
   * One or two messages whose meta was read (a client opening a message it listed): read on the
   * loop without looking their rows up; null when one is not known or its blob is gone (removed
   * by another process since), for the lookup to decide.
   */
  private readKnownNow(ids: number[]): Map<number, Buffer> | null {
    if (!this.blobs.readNow) return null;
    const out = new Map<number, Buffer>();
    for (const id of ids) {
      const ref = this.blobRefs.get(id);
      if (!ref) return null;
      try {
        out.set(id, withPrefix(ref.header_prefix, this.blobs.readNow(ref.blob_id)));
      } catch (err) {
        if (err instanceof BlobNotFoundError) return null;
        throw err;
      }
    }
    return out;
  }

  warmReads(): void {
    this.blobs.warm?.();
    // and the database's reader threads lendMessages looks rows up on: all of them (a FETCH of many
    // bodies keeps several row lookups in flight), and a first read for the statement's start-up
    prestartReaders(this.bodyReads);
    void this.bodyReads
      .selectFrom('messages')
      .select('id')
      .limit(1)
      .execute()
      .catch(() => undefined);
  }

  /**
   * readMessages for FETCH of many bodies (issue 18): the blobs are read on the read threads into
   * memory kept for reuse, valid until `release()`. Stores without batch reads lend what
   * readMessages returns. A batch of at most SLAB_BYTES goes in one reused buffer.
   */
  async lendMessages(messageIds: number[]): Promise<{ bytes: Map<number, Buffer>; release(): void }> {
    const ids = [...new Set(messageIds)];
    if (!this.blobs.lendMany || ids.length <= READ_NOW_MAX || ids.length > 500) return { bytes: await this.readMessages(ids), release: () => undefined };
    // Rows read with the messages' meta (a FETCH of ENVELOPEs before the bodies) are not looked up
    // again; a blob gone since (removed by another process) sends the batch the way below.
    const cached = ids.map((id) => this.blobRefs.get(id));
    if (cached.every((r) => r !== undefined)) {
      const lent = await this.lendRows(cached as BlobRef[]).catch((err: unknown) => (err instanceof BlobNotFoundError ? null : Promise.reject(err)));
      if (lent) return lent;
    }
    // On a reader thread (SQLite): the rows' pages, cold after a restart, are read there while
    // the loop writes the previous batch's responses, and no write transaction is waited for.
    return this.lendRows(await this.bodyReads.selectFrom('messages').select(['id', 'blob_id', 'header_prefix']).where('id', 'in', ids).execute());
  }

  private async lendRows(rows: BlobRef[]): Promise<{ bytes: Map<number, Buffer>; release(): void }> {
    const lent = await this.blobs.lendMany!(rows.map((r) => r.blob_id));
    const bytes = new Map<number, Buffer>();
    rows.forEach((r, k) => bytes.set(Number(r.id), withPrefix(r.header_prefix, lent.files[k]!)));
    return { bytes, release: lent.release };
  }

  async quota(mailboxId: string): Promise<QuotaInfo> {
    const row = await this.db.selectFrom('mailboxes').select(['used_bytes', 'quota_bytes', 'message_count']).where('id', '=', mailboxId).executeTakeFirst();
    if (!row) throw new AppError('NotFound', 'mailbox not found');
    return { usedBytes: Number(row.used_bytes), quotaBytes: Number(row.quota_bytes), messages: Number(row.message_count) };
  }

  watch(folderId: number, listener: (event: FolderEvent) => void): () => void {
    return this.bus.watch(folderId, listener);
  }

  watchMailbox(mailboxId: string, listener: (event: MailboxEvent) => void): () => void {
    let set = this.mailboxWatchers.get(mailboxId);
    if (!set) this.mailboxWatchers.set(mailboxId, (set = new Set()));
    set.add(listener);
    // Folder events carry only the folder: while anyone watches a mailbox, they are routed to
    // its owner (known from this map, else one indexed lookup).
    this.unwatchAll ??= this.bus.watchAll((event) => this.routeFolderEvent(event), { remote: true });
    return () => {
      set!.delete(listener);
      if (!set!.size) this.mailboxWatchers.delete(mailboxId);
      if (!this.mailboxWatchers.size && this.unwatchAll) {
        this.unwatchAll();
        this.unwatchAll = null;
        this.folderOwners.clear();
      }
    };
  }

  private routeFolderEvent(event: FolderEvent): void {
    if (event.kind === 'deleted') return; // reported by name with the mailbox event
    const owner = this.folderOwners.get(event.folderId);
    if (owner !== undefined) {
      this.emitMailbox({ kind: 'folder', mailboxId: owner, event });
      return;
    }
    void this.db
      .selectFrom('folders')
      .select('mailbox_id')
      .where('id', '=', event.folderId)
      .executeTakeFirst()
      .then((row) => {
        if (!row) return;
        if (this.mailboxWatchers.size) this.folderOwners.set(event.folderId, row.mailbox_id);
        this.emitMailbox({ kind: 'folder', mailboxId: row.mailbox_id, event });
      })
      .catch(() => undefined);
  }

  private emitMailbox(event: MailboxEvent): void {
    if (event.kind === 'deleted') this.folderOwners.delete(event.folderId);
    const set = this.mailboxWatchers.get(event.mailboxId);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch {
        /* a failing watcher never affects the writer */
      }
    }
  }

  // ---- writing -------------------------------------------------------------------------

  async storeFlags(folderId: number, uids: number[], op: 'set' | 'add' | 'remove', flags: string[], unchangedSince?: number): Promise<StoreFlagsResult> {
    if (!uids.length) return { updated: [], conflicts: [] };
    return this.queue.run(async (ctx) => {
      const { trx } = ctx;
      const rows = await this.selectEntries(trx, folderId, uids);
      const conflicts: number[] = [];
      const changes: Array<{ uid: number; flags: string[]; row: (typeof rows)[number] }> = [];
      for (const row of rows) {
        if (unchangedSince !== undefined && Number(row.modseq) > unchangedSince) {
          conflicts.push(Number(row.uid));
          continue;
        }
        const current = parseFlags(row.flags);
        const next = applyFlags(current, op, flags);
        if (!sameFlags(current, next)) changes.push({ uid: Number(row.uid), flags: next, row });
      }
      if (!changes.length) return { updated: [], conflicts };
      const modseq = await this.bumpModseq(trx, folderId);
      for (const c of changes) {
        await trx
          .updateTable('folder_messages')
          .set({ flags: serializeFlags(c.flags), modseq })
          .where('folder_id', '=', folderId)
          .where('uid', '=', c.uid)
          .execute();
      }
      const updated = changes.map((c) => ({ ...toEntry(c.row), flags: c.flags, modseq }));
      const changedUids = updated.map((u) => u.uid);
      this.bus.atCommit(ctx, { kind: 'flags', folderId, uids: changedUids, modseq });
      return { updated, conflicts };
    });
  }

  copyMessages(folderId: number, uids: number[], destFolderId: number): Promise<CopyResult> {
    return this.queue.run((ctx) => this.copyIn(ctx, folderId, uids, destFolderId, false));
  }

  moveMessages(folderId: number, uids: number[], destFolderId: number): Promise<CopyResult> {
    return this.queue.run((ctx) => this.copyIn(ctx, folderId, uids, destFolderId, true));
  }

  private async copyIn(ctx: JobContext, folderId: number, uids: number[], destFolderId: number, move: boolean): Promise<CopyResult> {
    const { trx } = ctx;
    const src = await this.folderById(trx, folderId);
    const dst = await this.folderById(trx, destFolderId);
    if (src.mailbox_id !== dst.mailbox_id) throw new AppError('Forbidden', 'folders belong to different mailboxes');
    const rows = (await this.selectEntries(trx, folderId, uids)).sort((a, b) => Number(a.uid) - Number(b.uid));
    if (!rows.length) return { uidValidity: Number(dst.uid_validity), pairs: [] };
    const total = rows.reduce((s, r) => s + Number(r.size), 0);
    if (!move) {
      // One locking update (mailbox row before folder row, as every store write): concurrent
      // writers on other nodes add up, and a refusal undoes it with the job.
      const mailbox = await trx
        .updateTable('mailboxes')
        .set((eb) => ({ used_bytes: eb('used_bytes', '+', total), message_count: eb('message_count', '+', rows.length) }))
        .where('id', '=', src.mailbox_id)
        .returning(['used_bytes', 'quota_bytes'])
        .executeTakeFirstOrThrow();
      if (Number(mailbox.used_bytes) > Number(mailbox.quota_bytes)) throw new AppError('QuotaExceeded', 'mailbox is over quota');
    }
    const bumped = await trx
      .updateTable('folders')
      .set((eb) => ({ uid_next: eb('uid_next', '+', rows.length), highest_modseq: eb('highest_modseq', '+', 1), message_count: eb('message_count', '+', rows.length) }))
      .where('id', '=', destFolderId)
      .returning(['uid_next', 'highest_modseq'])
      .executeTakeFirstOrThrow();
    const firstUid = Number(bumped.uid_next) - rows.length;
    const modseq = Number(bumped.highest_modseq);
    const pairs: Array<[number, number]> = rows.map((r, i) => [Number(r.uid), firstUid + i]);
    const now = Date.now();
    await trx
      .insertInto('folder_messages')
      .values(
        rows.map((r, i) => ({
          folder_id: destFolderId,
          uid: firstUid + i,
          message_id: r.message_id,
          flags: r.flags,
          modseq,
          internal_date: r.internal_date,
          size: r.size,
          saved_at: now,
          sort_keys: r.sort_keys,
        })),
      )
      .execute();
    const destUids = pairs.map((p) => p[1]);
    this.bus.atCommit(ctx, { kind: 'exists', folderId: destFolderId, uids: destUids, modseq, sourceFolderId: folderId }, src.mailbox_id);
    if (move) {
      await this.removeEntries(ctx, src.mailbox_id, folderId, rows, { logExpunge: true, keepMessages: true });
    } else {
      for (const r of rows) {
        await trx
          .updateTable('messages')
          .set((eb) => ({ refs: eb('refs', '+', 1) }))
          .where('id', '=', r.message_id)
          .execute();
      }
    }
    return { uidValidity: Number(dst.uid_validity), pairs };
  }

  async expunge(folderId: number, uids?: number[]): Promise<number[]> {
    return this.queue.run(async (ctx) => {
      const folder = await this.folderById(ctx.trx, folderId);
      // Only rows that may be \Deleted come back (issue 18, mixed load: every row of the folder was
      // made an object in the write transaction to find the few); the flags are checked exactly below.
      let q = ctx.trx
        .selectFrom('folder_messages')
        .select(['uid', 'message_id', 'size', 'flags'])
        .where('folder_id', '=', folderId)
        .where(sql<string>`lower(flags)`, 'like', '%deleted%');
      if (uids) {
        if (!uids.length) return [];
        q = q.where('uid', 'in', uids);
      }
      const rows = (await q.orderBy('uid').execute()).filter((r) => hasFlag(parseFlags(r.flags), '\\Deleted'));
      if (!rows.length) return [];
      await this.removeEntries(ctx, folder.mailbox_id, folderId, rows, { logExpunge: true });
      return rows.map((r) => Number(r.uid));
    });
  }

  async append(mailboxId: string, folderName: string, raw: Buffer, opts: { flags?: string[]; internalDate?: number } = {}): Promise<{ uidValidity: number; uid: number }> {
    if (raw.length > this.deps.maxMessageBytes) throw new AppError('TooLarge', `message exceeds the limit of ${this.deps.maxMessageBytes} bytes`);
    // The folder is looked up once, in the ingest transaction (NotFound there, the blob removed):
    // a lookup here delayed the blob's write and syncs by a query (issue 18). A name that reads
    // as a special use ("\\Junk") is checked here, as the ingest would fall back to INBOX for it.
    let folder = folderName;
    if (folderName.startsWith('\\')) {
      const found = await this.getFolder(mailboxId, folderName);
      if (!found) throw new AppError('NotFound', `folder ${folderName} does not exist`);
      folder = found.name;
    }
    const [result] = await this.ingest.ingest(raw, [{ mailboxId, folder, flags: opts.flags, internalDate: opts.internalDate }], { enforceQuota: true });
    return { uidValidity: result!.uidValidity, uid: result!.uid };
  }

  async appendMany(mailboxId: string, folderName: string, items: Array<{ raw: Buffer; flags?: string[]; internalDate?: number }>): Promise<{ uidValidity: number; uids: number[] }> {
    for (const it of items) {
      if (it.raw.length > this.deps.maxMessageBytes) throw new AppError('TooLarge', `message exceeds the limit of ${this.deps.maxMessageBytes} bytes`);
    }
    const folder = await this.getFolder(mailboxId, folderName);
    if (!folder) throw new AppError('NotFound', `folder ${folderName} does not exist`);
    const results = await this.ingest.ingestMany(
      items.map((it) => ({ raw: it.raw, targets: [{ mailboxId, folder: folder.name, flags: it.flags, internalDate: it.internalDate }] })),
      { enforceQuota: true },
    );
    return { uidValidity: results[0]?.[0]?.uidValidity ?? folder.uidValidity, uids: results.map((r) => r[0]!.uid) };
  }

  /** A mailbox with its default folders for tools that run the store alone (benchmarks, fuzzers): see provision.ts. */
  async provisionStandaloneMailbox(m: StandaloneMailbox): Promise<void> {
    await this.queue.run(({ trx }) => provisionMailbox(trx, m));
  }

  // ---- internals -------------------------------------------------------------------------

  private async selectEntries(trx: Kysely<DB>, folderId: number, uids: number[]) {
    const out: Array<Pick<FolderMessageRow, (typeof ENTRY_COLUMNS)[number] | 'sort_keys'>> = [];
    for (let i = 0; i < uids.length; i += 500) {
      out.push(
        ...(await trx
          .selectFrom('folder_messages')
          .select([...ENTRY_COLUMNS, 'sort_keys'])
          .where('folder_id', '=', folderId)
          .where('uid', 'in', uids.slice(i, i + 500))
          .execute()),
      );
    }
    return out;
  }

  /** A new MODSEQ for a change of the folder's entries; `added` entries (negative: removed) change its count. */
  private async bumpModseq(trx: Kysely<DB>, folderId: number, added = 0): Promise<number> {
    const row = await trx
      .updateTable('folders')
      .set((eb) => ({ highest_modseq: eb('highest_modseq', '+', 1), ...(added ? { message_count: eb('message_count', '+', added) } : {}) }))
      .where('id', '=', folderId)
      .returning('highest_modseq')
      .executeTakeFirstOrThrow();
    return Number(row.highest_modseq);
  }

  /**
   * Deletes folder entries, logs the expunge (and counts them out of the folder's entry count),
   * releases quota and unreferenced messages/blobs. Without `logExpunge` (deleteFolder) the folder
   * row itself goes in the same transaction, so neither its journal nor its count is written.
   */
  private async removeEntries(
    ctx: JobContext,
    mailboxId: string,
    folderId: number,
    rows: Array<{ uid: number; message_id: number; size: number }>,
    opts: { logExpunge: boolean; keepMessages?: boolean },
  ): Promise<void> {
    if (!rows.length) return;
    const { trx, after } = ctx;
    const uids = rows.map((r) => Number(r.uid));
    for (let i = 0; i < uids.length; i += 500) {
      await trx
        .deleteFrom('folder_messages')
        .where('folder_id', '=', folderId)
        .where('uid', 'in', uids.slice(i, i + 500))
        .execute();
    }
    const total = rows.reduce((s, r) => s + Number(r.size), 0);
    if (!opts.keepMessages) {
      await trx
        .updateTable('mailboxes')
        .set((eb) => ({ used_bytes: eb('used_bytes', '-', total), message_count: eb('message_count', '-', rows.length) }))
        .where('id', '=', mailboxId)
        .execute();
    }
    if (opts.logExpunge) {
      const modseq = await this.bumpModseq(trx, folderId, -rows.length);
      await trx
        .insertInto('folder_expunges')
        .values(uids.map((uid) => ({ folder_id: folderId, uid, modseq })))
        .execute();
      this.bus.atCommit(ctx, { kind: 'expunge', folderId, uids, modseq }, mailboxId);
    }
    if (opts.keepMessages) return;
    const perMessage = new Map<number, number>();
    for (const r of rows) perMessage.set(Number(r.message_id), (perMessage.get(Number(r.message_id)) ?? 0) + 1);
    const blobsToCheck = new Set<string>();
    for (const [id, n] of perMessage) {
      const updated = await trx
        .updateTable('messages')
        .set((eb) => ({ refs: eb('refs', '-', n) }))
        .where('id', '=', id)
        .returning(['refs', 'blob_id'])
        .executeTakeFirst();
      if (updated && Number(updated.refs) <= 0) {
        await trx.deleteFrom('messages').where('id', '=', id).execute();
        this.forgetMessage(id);
        this.sortCache.delete(id);
        blobsToCheck.add(updated.blob_id);
      }
    }
    const orphaned: string[] = [];
    for (const blobId of blobsToCheck) {
      const still = await trx.selectFrom('messages').select('id').where('blob_id', '=', blobId).executeTakeFirst();
      if (!still) orphaned.push(blobId);
    }
    if (orphaned.length) after(() => void Promise.all(orphaned.map((b) => this.blobs.delete(b).catch(() => undefined))));
  }

  /**
   * At boot, before anything writes (issue 18, migration 0054): every blob still listed in
   * `unsynced_blobs` had its rows committed while its fsync ran, and the process stopped before
   * it was unlisted. A blob present with the size its rows expect is synced now and kept; one
   * missing or short never reached the disk, and its messages are removed like an expunge
   * (journaled, quota released), so no row is served without its bytes. Such a message was
   * never acknowledged: the answer waits for the blob's sync.
   */
  async recoverUnsyncedBlobs(): Promise<{ checked: number; removed: number }> {
    const rows = await this.db.selectFrom('unsynced_blobs').select('blob_id').execute();
    let removed = 0;
    for (const r of rows) removed += await this.settleUnsyncedBlob(r.blob_id, true);
    return { checked: rows.length, removed };
  }

  /** Keeps a listed blob that is whole (synced now, when `trySync`) or removes its messages; unlists it. Returns the entries removed. */
  private async settleUnsyncedBlob(blobId: string, trySync: boolean): Promise<number> {
    const messages = await this.db.selectFrom('messages').select(['id', 'size', 'header_prefix']).where('blob_id', '=', blobId).execute();
    let whole = false;
    if (messages.length && trySync) {
      try {
        const size = await this.blobs.size(blobId);
        whole = messages.every((m) => Number(m.size) - Buffer.byteLength(m.header_prefix, 'utf8') === size);
        if (whole) await this.blobs.sync?.(blobId);
      } catch {
        whole = false;
      }
    }
    return this.queue.run(async (ctx) => {
      let removed = 0;
      if (!whole && messages.length) {
        const entries = await ctx.trx
          .selectFrom('folder_messages')
          .innerJoin('folders', 'folders.id', 'folder_messages.folder_id')
          .select(['folder_messages.folder_id', 'folder_messages.uid', 'folder_messages.message_id', 'folder_messages.size', 'folders.mailbox_id'])
          .where(
            'folder_messages.message_id',
            'in',
            messages.map((m) => m.id),
          )
          .execute();
        const byFolder = new Map<number, typeof entries>();
        for (const e of entries) byFolder.set(Number(e.folder_id), [...(byFolder.get(Number(e.folder_id)) ?? []), e]);
        for (const [folderId, rows] of byFolder) await this.removeEntries(ctx, rows[0]!.mailbox_id, folderId, rows, { logExpunge: true });
        removed = entries.length;
      }
      await ctx.trx.deleteFrom('unsynced_blobs').where('blob_id', '=', blobId).execute();
      return removed;
    });
  }

  /**
   * Removes blobs no index row refers to (left by a crash between blob write and commit, or by a
   * purge). Runs at boot and hourly over every blob: the index is asked in batches, not per blob.
   */
  async sweepOrphanBlobs(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    if (this.blobs.listIds && this.blobs.mtimeOf) return this.sweepListedIds(cutoff);
    let removed = 0;
    let batch: string[] = [];
    const flush = async () => {
      for (const id of await this.unreferenced(batch)) {
        await this.blobs.delete(id);
        removed++;
      }
      batch = [];
    };
    for await (const { id, mtimeMs } of this.blobs.list()) {
      if (mtimeMs > cutoff) continue;
      batch.push(id);
      if (batch.length >= 500) await flush();
    }
    if (batch.length) await flush();
    return removed;
  }

  /** The ids of `batch` no message refers to. */
  private async unreferenced(batch: string[]): Promise<string[]> {
    const used = new Set((await this.db.selectFrom('messages').select('blob_id').where('blob_id', 'in', batch).execute()).map((r) => r.blob_id));
    return batch.filter((id) => !used.has(id));
  }

  /**
   * Local files: the index is asked about each shard's names first and only unreferenced files
   * are looked at (their age), instead of a stat per stored blob — housekeeping's sweep had
   * cost the serving loop one pool callback per message in the store on every pass (issue 18).
   */
  private async sweepListedIds(cutoff: number): Promise<number> {
    let removed = 0;
    for await (const ids of this.blobs.listIds!()) {
      for (let i = 0; i < ids.length; i += 500) {
        for (const id of await this.unreferenced(ids.slice(i, i + 500))) {
          const mtimeMs = await this.blobs.mtimeOf!(id);
          if (mtimeMs === null || mtimeMs > cutoff) continue;
          await this.blobs.delete(id);
          removed++;
        }
      }
    }
    return removed;
  }

  /**
   * Removes the compact copies (folder index snapshot, sort keys) of folders that no longer exist:
   * a deleted folder's or a purged mailbox's, and one a background write put back after the
   * folder went. Housekeeping runs it; the copies of a large folder weigh megabytes.
   */
  async pruneFolderCopies(): Promise<number> {
    let removed = 0;
    for (const table of ['folder_index_snapshots', 'folder_index_heads', 'folder_sort_keys', 'folder_envelope_chunks'] as const) {
      const r = await this.db
        .deleteFrom(table)
        .where('folder_id', 'not in', (eb) => eb.selectFrom('folders').select('id'))
        .executeTakeFirst();
      removed += Number(r.numDeletedRows);
    }
    return removed;
  }

  /** Health for /readyz: the index answers and the blob store is reachable. */
  async health(): Promise<{ ok: boolean; detail?: string }> {
    try {
      await this.db.selectFrom('folders').select('id').limit(1).execute();
      return { ok: true };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }
}
