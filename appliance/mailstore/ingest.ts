/**
 * The one ingest path for SMTP delivery, IMAP APPEND and imports.
 *
 * Two halves: `prepareMessage` (write the bytes durably, parse them once per header prefix) runs
 * in whichever process holds the bytes — the Haraka child for SMTP, the appliance for APPEND —
 * so message bytes never cross process boundaries; `Ingest.commit` (index rows, UIDs, quota,
 * notifications) runs in the appliance through the group-commit write queue. A message is
 * acknowledged only after both: blob fsync'd and the index transaction committed. In-process
 * callers (APPEND, imports) with a file blob store overlap the two (issue 18): the rows are
 * committed while the blob's fsyncs run, its id listed in `unsynced_blobs` in the same
 * transaction; the answer waits for both, and recovery at boot removes rows whose blob did not
 * reach the disk (store.ts `recoverUnsyncedBlobs`). Its search
 * text is not on that path: it is extracted and indexed after the commit, in the background
 * (fulltext-backfill.ts `SearchTextIndexer`); SEARCH scans a message until its row exists.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import { AppError } from '../core/kernel/errors.js';
import type { DB } from '../db/schema.js';
import { preparedQuery } from '../db/repos/prepared.js';
import { type MetricsPort, NO_METRICS } from '../core/kernel/metrics-port.js';
import type { BlobStore } from './blobstore.js';
import type { ChangeBus } from './changes.js';
import { normalizeFlags, serializeFlags } from './flags.js';
import { parseMessage } from './mime/index.js';
import type { MessageMeta } from './mime/types.js';
import { computeSortKeys } from './sort-keys.js';
import type { SearchTextIndexer, StoredMessage } from './fulltext-backfill.js';
import type { JobContext, WriteQueue } from './write-queue.js';

export interface PreparedVariant {
  /** Header lines served before the blob (e.g. "Delivered-To: a@b\r\n"), may be empty. */
  prefix: string;
  size: number;
  meta: MessageMeta;
}

export interface PreparedMessage {
  blobId: string;
  blobSize: number;
  variants: PreparedVariant[];
  /** The blob's bytes, when this process holds them (APPEND): the search indexer reads them, not the blob (issue 18). */
  bytes?: Buffer;
}

/**
 * Line endings as IMAP serves them (RFC 5322: CRLF). SMTP input already is; APPEND and imports
 * may carry bare LF or CR. Returns the same buffer when nothing needs changing.
 */
export function normalizeLineEndings(raw: Buffer): Buffer {
  let bare = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if ((c === 0x0a && (i === 0 || raw[i - 1] !== 0x0d)) || (c === 0x0d && raw[i + 1] !== 0x0a)) {
      bare = true;
      break;
    }
  }
  if (!bare) return raw;
  const out = Buffer.allocUnsafe(raw.length * 2);
  let o = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x0d) {
      out[o++] = 0x0d;
      out[o++] = 0x0a;
      if (raw[i + 1] === 0x0a) i++;
    } else if (c === 0x0a) {
      out[o++] = 0x0d;
      out[o++] = 0x0a;
    } else {
      out[o++] = c;
    }
  }
  return out.subarray(0, o);
}

/**
 * Stores the bytes durably and parses them once for each header prefix. The search index's text
 * is not extracted here: the appliance indexes the message after its commit (issue 18).
 */
export async function prepareMessage(blobs: BlobStore, input: Buffer, prefixes: string[] = ['']): Promise<PreparedMessage> {
  const raw = normalizeLineEndings(input);
  // Parsed while the blob's fsyncs run on the thread pool (issue 18): the parse costs no wait.
  const stored = blobs.put(raw);
  let variants: PreparedVariant[];
  try {
    variants = parseVariants(raw, prefixes);
  } catch (err) {
    await stored.then((id) => blobs.delete(id)).catch(() => undefined);
    throw err;
  }
  return { blobId: await stored, blobSize: raw.length, variants };
}

function parseVariants(raw: Buffer, prefixes: string[]): PreparedVariant[] {
  return prefixes.map((prefix): PreparedVariant => {
    const full = prefix ? Buffer.concat([Buffer.from(prefix, 'utf8'), raw]) : raw;
    return { prefix, size: full.length, meta: parseMessage(full) };
  });
}

/** Written but maybe not yet on disk: the rows list the blob in `unsynced_blobs`, events wait for `durable`. */
interface PendingBlob {
  durable: Promise<void>;
}

/** Synced blobs unlisted by one statement at most (each count up to it is one compiled shape). */
const UNLIST_CHUNK = 64;

/** How long synced blobs wait for an ingest transaction to unlist them before one of their own. */
const UNLIST_DELAY_MS = 1000;

export interface DeliveryTarget {
  mailboxId: string;
  /** Index into PreparedMessage.variants. */
  variant: number;
  /** Folder name, or a special-use flag such as "\\Junk" (falls back to INBOX when missing). */
  folder: string;
  flags?: string[];
  internalDate?: number;
}

export interface DeliveryResult {
  mailboxId: string;
  folderId: number;
  uidValidity: number;
  uid: number;
}

export interface CommitOptions {
  /** Refuse (QuotaExceeded) instead of letting a delivery go over quota. SMTP checks quota at RCPT and passes false. */
  enforceQuota: boolean;
}

export class Ingest {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly queue: WriteQueue,
    private readonly blobs: BlobStore,
    private readonly bus: ChangeBus,
    private readonly metrics: MetricsPort = NO_METRICS,
    /** Indexes each committed message's search text in the background (absent: the backfill does, later). */
    private readonly searchIndexer?: SearchTextIndexer,
    /** Removes the rows of a committed message whose blob could not be synced (store.ts). */
    private readonly discardUnsynced?: (blobId: string) => Promise<void>,
    /** StoreDeps.unlistDelayMs. */
    private readonly unlistDelayMs = UNLIST_DELAY_MS,
    /** Told of each committed message of a folder, with what the ingest holds of it (store.ts: the folder's envelope copy). */
    private readonly stored?: (folderId: number, uid: number, message: StoredMessage) => void,
  ) {}

  /** Blobs synced since their rows were committed, to unlist from `unsynced_blobs` with the next ingest transaction. */
  private synced: string[] = [];
  private unlistTimer: NodeJS.Timeout | null = null;

  /** Prepare and commit in one call (in-process callers: IMAP APPEND, imports). */
  async ingest(raw: Buffer, targets: Array<Omit<DeliveryTarget, 'variant'> & { prefix?: string }>, opts: CommitOptions): Promise<DeliveryResult[]> {
    const prefixes = [...new Set(targets.map((t) => t.prefix ?? ''))];
    const withVariants = targets.map((t) => ({ ...t, variant: prefixes.indexOf(t.prefix ?? '') }));
    if (this.blobs.write && this.discardUnsynced) return this.ingestOverlapped(raw, prefixes, withVariants, opts);
    const prepared = await prepareMessage(this.blobs, raw, prefixes);
    try {
      return await this.commit(prepared, withVariants, opts);
    } catch (err) {
      await this.blobs.delete(prepared.blobId).catch(() => undefined);
      throw err;
    }
  }

  /**
   * The blob's fsyncs and the index commit (with its WAL sync) run at the same time (issue 18:
   * APPEND waited for one, then the other). The answer comes only after both; the blob is
   * listed in `unsynced_blobs` with the rows, so a crash in between is repaired at boot.
   */
  private async ingestOverlapped(input: Buffer, prefixes: string[], targets: DeliveryTarget[], opts: CommitOptions): Promise<DeliveryResult[]> {
    const raw = normalizeLineEndings(input);
    const written = this.blobs.write!(raw);
    let variants: PreparedVariant[];
    try {
      variants = parseVariants(raw, prefixes); // while the bytes are written
    } catch (err) {
      await written.then((b) => b.durable.finally(() => this.blobs.delete(b.id))).catch(() => undefined);
      throw err;
    }
    const blob = await written;
    let results: DeliveryResult[];
    try {
      results = await this.commit({ blobId: blob.id, blobSize: raw.length, variants, bytes: raw }, targets, opts, { durable: blob.durable });
    } catch (err) {
      await blob.durable.catch(() => undefined);
      await this.blobs.delete(blob.id).catch(() => undefined);
      throw err;
    }
    try {
      await blob.durable;
    } catch (err) {
      // Committed, but the bytes are not known to be on disk: nothing is acknowledged and the rows go.
      await this.discardUnsynced!(blob.id).catch(() => undefined);
      throw err;
    }
    this.unlist(blob.id);
    return results;
  }

  /** The blob is durable: its `unsynced_blobs` row goes with the next ingest transaction (or on its own after a second). */
  private unlist(blobId: string): void {
    this.synced.push(blobId);
    this.unlistTimer ??= setTimeout(() => {
      this.unlistTimer = null;
      if (!this.synced.length) return;
      void this.queue.run((ctx) => this.unlistSynced(ctx), { durable: false }).catch(() => undefined);
    }, this.unlistDelayMs);
    this.unlistTimer.unref();
  }

  /** Deletes the listed rows of synced blobs in `ctx`'s transaction; they are listed again if it rolls back. */
  private async unlistSynced(ctx: JobContext): Promise<void> {
    if (!this.synced.length) return;
    const ids = this.synced;
    this.synced = [];
    try {
      const w = new IngestStatements(this.db, ctx.trx);
      // one shape per count: a few (most transactions unlist the one blob before theirs)
      for (let i = 0; i < ids.length; i += UNLIST_CHUNK) await w.unlist(ids.slice(i, i + UNLIST_CHUNK));
    } catch (err) {
      this.synced.push(...ids);
      throw err;
    }
  }

  /** Writes the index rows for a prepared message in one group-committed transaction. */
  commit(prepared: PreparedMessage, targets: DeliveryTarget[], opts: CommitOptions, pending?: PendingBlob): Promise<DeliveryResult[]> {
    if (!targets.length) return Promise.resolve([]);
    for (const t of targets) {
      if (!prepared.variants[t.variant]) throw new AppError('Invalid', `no prepared variant ${t.variant}`);
    }
    const timed = this.metrics.ingestTimer();
    const run = this.queue.run((ctx) => this.writeRows(ctx, prepared, targets, opts, pending));
    run.then(
      (r) => timed(r.length),
      () => timed(0),
    );
    return run;
  }

  /**
   * Several messages into folders in one transaction: all are stored or none (IMAP
   * MULTIAPPEND, RFC 3502 3). Blobs are written first and removed again when the commit fails.
   */
  async ingestMany(items: Array<{ raw: Buffer; targets: Array<Omit<DeliveryTarget, 'variant'>> }>, opts: CommitOptions): Promise<DeliveryResult[][]> {
    const prepared: PreparedMessage[] = [];
    try {
      for (const item of items) prepared.push(await prepareMessage(this.blobs, item.raw));
      return await this.queue.run(async (ctx) => {
        const out: DeliveryResult[][] = [];
        for (let i = 0; i < items.length; i++) {
          out.push(
            await this.writeRows(
              ctx,
              prepared[i]!,
              items[i]!.targets.map((t) => ({ ...t, variant: 0 })),
              opts,
            ),
          );
        }
        return out;
      });
    } catch (err) {
      await Promise.all(prepared.map((p) => this.blobs.delete(p.blobId).catch(() => undefined)));
      throw err;
    }
  }

  private async writeRows(jobCtx: JobContext, prepared: PreparedMessage, targets: DeliveryTarget[], opts: CommitOptions, pending?: PendingBlob): Promise<DeliveryResult[]> {
    const { trx } = jobCtx;
    const w = new IngestStatements(this.db, trx);
    const now = Date.now();
    let ctx = jobCtx;
    if (pending) {
      // Listed with the rows (same savepoint); nobody is told of the message before its bytes are on disk.
      await w.listUnsynced(prepared.blobId, now);
      ctx = { ...jobCtx, after: (fn) => jobCtx.after(() => void pending.durable.then(fn, () => undefined)) };
    }
    const messageIds = new Map<number, number>();
    const refs = new Map<number, number>();
    for (const t of targets) refs.set(t.variant, (refs.get(t.variant) ?? 0) + 1);
    const sortKeys = new Map<number, string>();
    const stored: StoredMessage[] = [];
    for (const [variant, count] of refs) {
      const v = prepared.variants[variant]!;
      const keys = JSON.stringify(computeSortKeys(v.meta));
      sortKeys.set(variant, keys);
      const id = await w.insertMessage(prepared.blobId, v.prefix, v.size, JSON.stringify(v.meta), keys, count, now);
      messageIds.set(variant, id);
      stored.push({ id, blobId: prepared.blobId, prefix: v.prefix, meta: v.meta, bytes: prepared.bytes });
    }
    const indexer = this.searchIndexer;
    if (indexer) ctx.after(() => indexer.enqueue(stored));

    const results: DeliveryResult[] = [];
    for (const t of targets) {
      const size = prepared.variants[t.variant]!.size;
      // Quota first, as one locking update: concurrent writers (other nodes on PostgreSQL) add up
      // on the locked row, and the check sees every committed delivery. Mailbox row before folder
      // row, the order every store write takes them in. A refusal undoes the update with the job.
      const mailbox = await w.chargeMailbox(t.mailboxId, size);
      if (!mailbox) throw new AppError('NotFound', `mailbox ${t.mailboxId} not found`);
      if (opts.enforceQuota && Number(mailbox.used_bytes) > Number(mailbox.quota_bytes)) {
        throw new AppError('QuotaExceeded', 'mailbox is over quota', { mailboxId: t.mailboxId });
      }
      const bumped = await w.bumpTargetFolder(t.mailboxId, t.folder);
      if (!bumped) throw new AppError('NotFound', `folder ${t.folder} not found`);
      const folderId = Number(bumped.id);
      const uid = Number(bumped.uid_next) - 1;
      const modseq = Number(bumped.highest_modseq);
      const flags = serializeFlags(normalizeFlags(t.flags ?? []));
      await w.insertEntry(folderId, uid, messageIds.get(t.variant)!, flags, modseq, t.internalDate ?? now, size, now, sortKeys.get(t.variant)!);
      this.bus.atCommit(ctx, { kind: 'exists', folderId, uids: [uid], modseq }, t.mailboxId);
      const told = this.stored;
      if (told) {
        const message = stored.find((m) => m.id === messageIds.get(t.variant))!;
        ctx.after(() => told(folderId, uid, message));
      }
      results.push({ mailboxId: t.mailboxId, folderId, uidValidity: Number(bumped.uid_validity), uid });
    }
    // Blobs synced since: unlisted here, after every refusal above (a refusal would roll it back).
    if (this.synced.length) await this.unlistSynced(jobCtx);
    return results;
  }
}

/**
 * The ingest's statements, each built and compiled once per database handle and run again with
 * new values (issue 18: kysely built and compiled all of an APPEND's statements every time, a
 * large part of the write transaction's time on the event loop). Every value is a parameter.
 */
class IngestStatements {
  constructor(
    private readonly owner: Kysely<DB>,
    private readonly trx: Kysely<DB>,
  ) {}

  async listUnsynced(blobId: string, now: number): Promise<void> {
    await preparedQuery(this.owner, this.trx, 'ingest.listUnsynced', [blobId, now] as const, (blob_id, created_at) => this.trx.insertInto('unsynced_blobs').values({ blob_id, created_at }));
  }

  async unlist(ids: string[]): Promise<void> {
    await preparedQuery(this.owner, this.trx, `ingest.unlist.${ids.length}`, ids, (...blobIds) => this.trx.deleteFrom('unsynced_blobs').where('blob_id', 'in', blobIds));
  }

  async insertMessage(blobId: string, prefix: string, size: number, meta: string, sortKeys: string, refs: number, now: number): Promise<number> {
    const r = await preparedQuery(
      this.owner,
      this.trx,
      'ingest.insertMessage',
      [blobId, prefix, size, meta, sortKeys, refs, now] as const,
      (blob_id, header_prefix, size, meta, sort_keys, refs, created_at) => this.trx.insertInto('messages').values({ blob_id, header_prefix, size, meta, sort_keys, refs, created_at }).returning('id'),
    );
    if (!r.rows[0]) throw new Error('message row not inserted');
    return Number(r.rows[0].id);
  }

  async chargeMailbox(mailboxId: string, size: number) {
    const r = await preparedQuery(this.owner, this.trx, 'ingest.chargeMailbox', [mailboxId, size] as const, (id, size) =>
      this.trx
        .updateTable('mailboxes')
        .set((eb) => ({ used_bytes: eb('used_bytes', '+', size), message_count: eb('message_count', '+', 1) }))
        .where('id', '=', id)
        .where('status', '!=', 'deleted')
        .returning(['quota_bytes', 'used_bytes']),
    );
    return r.rows[0];
  }

  /**
   * Takes the target folder's next UID and modseq, one more message in it: a folder by name is
   * found by the update itself (issue 18: a select, then the update by id, were two statements per
   * APPEND); a special use ("\\Junk") is looked up first, INBOX when the mailbox has none.
   */
  async bumpTargetFolder(mailboxId: string, folder: string) {
    if (folder.startsWith('\\')) {
      const found = await findTargetFolder(this.trx, mailboxId, folder);
      return found ? this.bumpFolder(Number(found.id)) : undefined;
    }
    const name = folder.toUpperCase() === 'INBOX' ? 'INBOX' : folder;
    const r = await preparedQuery(this.owner, this.trx, 'ingest.bumpFolderByName', [mailboxId, name] as const, (mailbox_id, name) =>
      this.trx.updateTable('folders').set(BUMP).where('mailbox_id', '=', mailbox_id).where('name', '=', name).returning(['id', 'uid_next', 'highest_modseq', 'uid_validity']),
    );
    return r.rows[0];
  }

  /** Takes a folder's next UID and modseq, one more message in it. */
  async bumpFolder(folderId: number) {
    const r = await preparedQuery(this.owner, this.trx, 'ingest.bumpFolder', [folderId] as const, (id) =>
      this.trx.updateTable('folders').set(BUMP).where('id', '=', id).returning(['id', 'uid_next', 'highest_modseq', 'uid_validity']),
    );
    return r.rows[0];
  }

  async insertEntry(folderId: number, uid: number, messageId: number, flags: string, modseq: number, internalDate: number, size: number, now: number, sortKeys: string): Promise<void> {
    await preparedQuery(
      this.owner,
      this.trx,
      'ingest.insertEntry',
      [folderId, uid, messageId, flags, modseq, internalDate, size, now, sortKeys] as const,
      (folder_id, uid, message_id, flags, modseq, internal_date, size, saved_at, sort_keys) =>
        this.trx.insertInto('folder_messages').values({ folder_id, uid, message_id, flags, modseq, internal_date, size, saved_at, sort_keys }),
    );
  }
}

/** The next UID and modseq of a folder, and one more message in it. */
const BUMP = (eb: ExpressionBuilder<DB, 'folders'>) => ({
  uid_next: eb('uid_next', '+', 1),
  highest_modseq: eb('highest_modseq', '+', 1),
  message_count: eb('message_count', '+', 1),
});

/** A folder by name, or by special use ("\\Junk"); INBOX when a special-use folder is missing. */
export async function findTargetFolder(db: Kysely<DB>, mailboxId: string, folder: string): Promise<{ id: number } | undefined> {
  if (folder.startsWith('\\')) {
    const special = await db.selectFrom('folders').select('id').where('mailbox_id', '=', mailboxId).where('special_use', '=', folder).executeTakeFirst();
    if (special) return special;
    folder = 'INBOX';
  }
  const name = folder.toUpperCase() === 'INBOX' ? 'INBOX' : folder;
  return db.selectFrom('folders').select('id').where('mailbox_id', '=', mailboxId).where('name', '=', name).executeTakeFirst();
}
