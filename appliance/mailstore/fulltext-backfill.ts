/**
 * The search index's writers. New messages get their row from `SearchTextIndexer` right after
 * their commit (below). The backfill: messages stored before migration 0044 (or whose row the
 * indexer did not write: a crash, a full queue) get their row here, in the background. Bounded batches in id order,
 * each written in one short transaction of the write queue, a pause between batches so that
 * serving goes first; resumable (the next run starts over and skips what has a row). Until a
 * message has its row, SEARCH reads it as before (fulltext.ts `uncovered`).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { BlobStore } from './blobstore.js';
import { extractSearchText, type SearchText, writeSearchTexts } from './fulltext.js';
import type { MessageMeta } from './mime/types.js';
import type { WriteQueue } from './write-queue.js';

export interface BackfillProgress {
  done: number;
  /** Messages without a row when the run started. */
  total: number;
  finished: boolean;
}

export interface BackfillOptions {
  batch?: number;
  /** Pause between batches. */
  pauseMs?: number;
  /** Called after each batch (and once at the end). */
  onProgress?: (p: BackfillProgress) => void;
}

export class SearchTextBackfill {
  private stopped = false;
  private running: Promise<BackfillProgress> | null = null;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly blobs: BlobStore,
    private readonly queue: WriteQueue,
  ) {}

  /** Stops at the next batch boundary (shutdown). */
  stop(): Promise<unknown> {
    this.stopped = true;
    return this.running ?? Promise.resolve();
  }

  /** Indexes every message without a row; one run at a time (a second call joins the first). */
  run(opts: BackfillOptions = {}): Promise<BackfillProgress> {
    this.running ??= this.loop(opts).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private missing() {
    return this.db.selectFrom('messages as m').leftJoin('message_text as t', 't.message_id', 'm.id').where('t.message_id', 'is', null);
  }

  private async loop(opts: BackfillOptions): Promise<BackfillProgress> {
    const batch = opts.batch ?? 25;
    const pauseMs = opts.pauseMs ?? 10;
    const counted = await this.missing()
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const progress: BackfillProgress = { done: 0, total: Number(counted.n), finished: false };
    let after = 0;
    while (!this.stopped && progress.total > 0) {
      const rows = await this.missing().select(['m.id', 'm.blob_id', 'm.header_prefix', 'm.meta']).where('m.id', '>', after).orderBy('m.id').limit(batch).execute();
      if (!rows.length) break;
      after = Number(rows[rows.length - 1]!.id);
      const texts: Array<[number, SearchText]> = [];
      for (const r of rows) texts.push([Number(r.id), await this.textOf(r)]);
      await this.queue.run(({ trx }) => writeLive(trx, texts));
      progress.done += rows.length;
      opts.onProgress?.({ ...progress });
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    progress.finished = !this.stopped;
    opts.onProgress?.({ ...progress });
    return progress;
  }

  private textOf(r: { blob_id: string; header_prefix: string; meta: string }): Promise<SearchText> {
    let meta: MessageMeta;
    try {
      meta = JSON.parse(r.meta) as MessageMeta;
    } catch {
      return Promise.resolve({ body: '', head: '', complete: false });
    }
    return textOf(this.blobs, r.blob_id, r.header_prefix, meta);
  }
}

/** A message just committed, as the ingest path knows it. */
export interface StoredMessage {
  id: number;
  blobId: string;
  prefix: string;
  meta: MessageMeta;
  /**
   * The blob's bytes (without the prefix) when the ingest holds them (IMAP APPEND): indexed from
   * memory instead of read back from the blob store (issue 18). Never changed after the ingest.
   */
  bytes?: Buffer;
}

/** Messages waiting beyond this are left to the periodic backfill (SEARCH scans them meanwhile). */
const MAX_PENDING = 20_000;
/**
 * Bytes of waiting messages the indexer keeps in memory (StoredMessage.bytes); a message queued
 * beyond it drops them and is read back from the blob store when its batch is written.
 */
export const MAX_HELD_BYTES = 8 * 1024 * 1024;
export const INDEX_BATCH = 16;
/**
 * How long a new message waits for others to share its batch (issue 18, APPEND): written at once,
 * each message of a session's APPENDs in a row cost a transaction of its own (about 1 ms of the
 * event loop, and a dozen WAL pages that the next APPEND's sync then wrote) right when the next
 * APPEND arrived. A full batch starts at once; `idle()` starts a waiting one.
 */
export const GATHER_MS = 200;

/**
 * The search index's writer for new messages (issue 18): the ingest path acknowledges a message
 * once its blob and rows are durable, then hands it here (`enqueue`, at commit). Its text is
 * extracted and written shortly after, in batches of one transaction each (up to INDEX_BATCH
 * messages: a full batch at once, a smaller one GATHER_MS after its first message; nothing polls),
 * yielding to the event loop between batches. The rows are
 * written as non-durable bookkeeping: after a crash, whatever was not synced is missing and the
 * backfill at the next boot writes it. Until a message has its row, SEARCH scans it
 * (fulltext.ts `uncovered`), so no answer depends on the indexer having caught up.
 */
export class SearchTextIndexer {
  private pending: StoredMessage[] = [];
  private running: Promise<void> | null = null;
  /** The wait for more messages before a batch that is not full (GATHER_MS). */
  private gathering: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Batches written so far (observability, tests). */
  batches = 0;
  /** Messages given up because the queue was full (the backfill indexes them). */
  dropped = 0;
  /** Batches whose write failed (their messages are left to the backfill). */
  failedBatches = 0;
  /** Messages whose bytes were read back from the blob store (their bytes were not held). */
  readBack = 0;
  /** Messages whose text was extracted so far (observability, tests). */
  extracted = 0;
  /** Bytes of the waiting messages' `bytes` (at most MAX_HELD_BYTES). */
  private heldBytes = 0;
  /** Told of each failed batch (the composition root logs it and counts it in a metric). */
  onBatchError: ((err: unknown, messages: number) => void) | null = null;

  constructor(
    private readonly blobs: BlobStore,
    private readonly queue: WriteQueue,
    /** StoreDeps.searchGatherMs. */
    private readonly gatherMs = GATHER_MS,
  ) {}

  /** Queues committed messages; the loop starts once a batch is full or GATHER_MS after the first. */
  enqueue(messages: StoredMessage[]): void {
    if (this.stopped) return;
    for (const m of messages) {
      if (this.pending.length >= MAX_PENDING) {
        this.dropped++;
      } else if (m.bytes && this.heldBytes + m.bytes.length > MAX_HELD_BYTES) {
        this.pending.push({ ...m, bytes: undefined });
      } else {
        if (m.bytes) this.heldBytes += m.bytes.length;
        this.pending.push(m);
      }
    }
    if (this.running || !this.pending.length) return;
    if (this.pending.length >= INDEX_BATCH) {
      this.start();
      return;
    }
    if (!this.gathering) {
      this.gathering = setTimeout(() => this.start(true), this.gatherMs);
      this.gathering.unref();
    }
  }

  /** Starts the loop: with `partial`, its first batch may be less than full (the gather's end, idle). */
  private start(partial = false): void {
    if (this.gathering) clearTimeout(this.gathering);
    this.gathering = null;
    if (this.stopped || !this.pending.length) return;
    this.running ??= this.loop(partial).finally(() => {
      this.running = null;
      // Queued while the last batch was being written after the loop saw an empty queue.
      if (this.pending.length && !this.stopped) this.enqueue([]);
    });
  }

  /** Resolves when every message queued so far has its row (tests, shutdown); a batch still gathering starts now. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.gathering) this.start(true);
      if (!this.running) return;
      await this.running;
    }
  }

  /** Stops after the current batch; what is still queued is left to the backfill. */
  stop(): Promise<void> {
    this.stopped = true;
    this.pending = [];
    this.heldBytes = 0;
    if (this.gathering) clearTimeout(this.gathering);
    this.gathering = null;
    return this.idle();
  }

  /**
   * Writes the waiting messages' rows, a batch at a time. Nothing of it runs in the turn that
   * started it (issue 18: that turn is the commit answering the APPEND that filled the batch, and
   * the batch's text extraction delayed its answer): one message's text per turn of the event
   * loop, then the batch's transaction as a background job of the write queue, which runs it
   * while the next durable batch's WAL sync runs.
   */
  private async loop(partial: boolean): Promise<void> {
    // Only full batches after the first: messages that arrived meanwhile gather again (a loop
    // that took whatever had arrived wrote a batch, a transaction, for nearly every APPEND).
    let min = partial ? 1 : INDEX_BATCH;
    while (this.pending.length >= min && !this.stopped) {
      min = INDEX_BATCH;
      const batch = this.pending.splice(0, INDEX_BATCH);
      this.batches++;
      const texts: Array<[number, SearchText]> = [];
      for (const m of batch) {
        await nextTurn();
        if (m.bytes) {
          this.heldBytes -= m.bytes.length;
          texts.push([m.id, textOfBytes(m.bytes, m.prefix, m.meta)]);
        } else {
          this.readBack++;
          texts.push([m.id, await textOf(this.blobs, m.blobId, m.prefix, m.meta)]);
        }
        this.extracted++;
      }
      // A failed batch is left to the backfill (SEARCH scans its messages meanwhile), and reported.
      await this.queue
        .run((ctx) => writeLive(ctx.trx, texts), { durable: false, background: true })
        .catch((err: unknown) => {
          this.failedBatches++;
          this.onBatchError?.(err, texts.length);
        });
    }
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Writes the rows of the messages that still exist (one purged since is skipped: its row would have no message). */
async function writeLive(trx: Kysely<DB>, texts: Array<[number, SearchText]>): Promise<void> {
  if (!texts.length) return;
  const live = new Set(
    (
      await trx
        .selectFrom('messages')
        .select('id')
        .where(
          'id',
          'in',
          texts.map(([id]) => id),
        )
        .execute()
    ).map((r) => Number(r.id)),
  );
  await writeSearchTexts(
    trx,
    texts.filter(([id]) => live.has(id)),
  );
}

/** The text of one stored message; a message whose bytes cannot be read is left to the scan (an incomplete row). */
async function textOf(blobs: BlobStore, blobId: string, prefix: string, meta: MessageMeta): Promise<SearchText> {
  let bytes: Buffer;
  try {
    bytes = await blobs.get(blobId);
  } catch {
    return { body: '', head: '', complete: false };
  }
  return textOfBytes(bytes, prefix, meta);
}

/** The text of a message from its blob's bytes (the prefix, as stored, goes in front). */
function textOfBytes(bytes: Buffer, prefix: string, meta: MessageMeta): SearchText {
  try {
    return extractSearchText(prefix ? Buffer.concat([Buffer.from(prefix, 'utf8'), bytes]) : bytes, meta);
  } catch {
    return { body: '', head: '', complete: false };
  }
}
