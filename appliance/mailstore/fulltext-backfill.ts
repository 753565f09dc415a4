/**
 * The search index's writers. New messages get their row from `SearchTextIndexer` right after
 * their commit (below). The backfill: messages stored before migration 0044 (or whose row the
 * indexer did not write: a crash, a full queue) get their row here, in the background. Bounded batches in id order,
 * each written in one short transaction of the write queue, a pause between batches so that
 * serving goes first; resumable (the next run starts over and skips what has a row). Until a
 * message has its row, SEARCH reads it as before (fulltext.ts `uncovered`).
 */
import type { Kysely } from 'kysely';
import { mergeTextIndex } from '../db/fulltext-adapter.js';
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
 * How long new messages wait for a quiet moment (no new message for this long) before their batch
 * is written; a full batch waits too while messages keep arriving (issue 18, APPEND: see
 * SearchTextIndexer). `idle()` starts the waiting messages at once.
 */
export const GATHER_MS = 200;
/**
 * How long a message waits at most while messages keep arriving: then full batches are written
 * as they fill, in the shadow of the next commit's WAL sync (a partial batch GATHER_MS later), so
 * under a steady stream the index stays about this far behind and keeps up.
 */
export const INDEX_MAX_LAG_MS = 10_000;

/**
 * The search index's writer for new messages (issue 18): the ingest path acknowledges a message
 * once its blob and rows are durable, then hands it here (`enqueue`, at commit). Its text is
 * extracted and written later, in batches of one transaction each (up to INDEX_BATCH messages),
 * one message's text per turn of the event loop; nothing polls.
 *
 * A batch is written once no message arrived for GATHER_MS (a quiet moment), not while messages
 * keep arriving (issue 18, APPEND in one session: a batch's FTS5 trigram insert costs the serving
 * loop about 0.5-1 ms per message, and written in the middle of a client's APPENDs in a row it
 * held up the answer being synced by the whole batch, some 8-16 ms every 16th APPEND). The wait
 * is bounded: once a message waited INDEX_MAX_LAG_MS, full batches are written as background jobs
 * of the write queue (right after the next durable commit, while its WAL sync runs). The rows are
 * non-durable bookkeeping: after a crash, whatever was not synced is missing and the backfill at
 * the next boot writes it. Until a message has its row, SEARCH scans it (fulltext.ts
 * `uncovered`), so no answer depends on the indexer having caught up.
 */
export class SearchTextIndexer {
  private pending: StoredMessage[] = [];
  /** When each waiting message was queued (performance.now(): a monotonic clock; in step with `pending`). */
  private queuedAt: number[] = [];
  /** When the last message was queued. */
  private lastAt = 0;
  private running: Promise<void> | null = null;
  /** The wait for the next batch to be due, and when it ends. */
  private gathering: NodeJS.Timeout | null = null;
  private gatheringUntil = 0;
  /** idle() calls in progress: while there are any, every waiting message is due. */
  private draining = 0;
  private stopped = false;
  /** Batches written so far (observability, tests). */
  batches = 0;
  /** Of them, batches written because their messages had waited INDEX_MAX_LAG_MS (observability, tests). */
  lagged = 0;
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
    /** StoreDeps.searchMaxLagMs. */
    private readonly maxLagMs = INDEX_MAX_LAG_MS,
    /** Whether the index's segments are merged after its batches (SQLite's FTS5 index: mergeTextIndex). */
    private readonly merges = false,
  ) {}

  /** Batches written since the index's segments were last merged (or since start). */
  private unmerged = 0;
  /** Whether this process has merged before (the first step sets FTS5's `usermerge`). */
  private mergedOnce = false;
  /** Merge steps written so far (observability, tests). */
  mergeSteps = 0;

  /** Queues committed messages; their batch is written when due (see the class comment). */
  enqueue(messages: StoredMessage[]): void {
    if (this.stopped) return;
    const now = performance.now();
    for (const m of messages) {
      if (this.pending.length >= MAX_PENDING) {
        this.dropped++;
        continue;
      }
      if (m.bytes && this.heldBytes + m.bytes.length > MAX_HELD_BYTES) {
        this.pending.push({ ...m, bytes: undefined });
      } else {
        if (m.bytes) this.heldBytes += m.bytes.length;
        this.pending.push(m);
      }
      this.queuedAt.push(now);
      this.lastAt = now;
    }
    this.wake(now);
  }

  /**
   * Milliseconds until the next batch is due (0 or less: now): after a quiet moment, once the
   * oldest message waited the longest it may (a partial batch GATHER_MS longer), or in idle().
   */
  private dueIn(now: number): number {
    if (this.draining) return 0;
    const quiet = this.lastAt + this.gatherMs;
    const lagged = this.queuedAt[0]! + this.maxLagMs + (this.pending.length >= INDEX_BATCH ? 0 : this.gatherMs);
    return Math.min(quiet, lagged) - now;
  }

  /** Starts the loop when a batch is due, else waits (a timer) until one will be. */
  private wake(now = performance.now()): void {
    if (this.stopped || this.running || !this.pending.length) return;
    const wait = this.dueIn(now);
    if (wait <= 0) {
      this.start();
      return;
    }
    if (this.gathering && this.gatheringUntil <= now + wait) return; // it fires in time and looks again
    if (this.gathering) clearTimeout(this.gathering);
    this.gatheringUntil = now + wait;
    this.gathering = setTimeout(() => {
      this.gathering = null;
      this.wake();
    }, wait);
    this.gathering.unref();
  }

  private start(): void {
    if (this.gathering) clearTimeout(this.gathering);
    this.gathering = null;
    if (this.stopped || !this.pending.length) return;
    this.running ??= this.loop().finally(() => {
      this.running = null;
      this.wake(); // queued while the last batch was written, or not due yet
    });
  }

  /** Resolves when every message queued so far has its row (tests, shutdown): waiting ones are written now. */
  async idle(): Promise<void> {
    this.draining++;
    try {
      for (;;) {
        this.wake();
        if (!this.running) return;
        await this.running;
      }
    } finally {
      this.draining--;
    }
  }

  /** Stops after the current batch; what is still queued is left to the backfill. */
  stop(): Promise<void> {
    this.stopped = true;
    this.pending = [];
    this.queuedAt = [];
    this.heldBytes = 0;
    if (this.gathering) clearTimeout(this.gathering);
    this.gathering = null;
    return this.idle();
  }

  /**
   * Writes the waiting messages' rows, a batch at a time while one is due. Nothing of it runs in
   * the turn that started it (issue 18: that turn may be the commit answering an APPEND): one
   * message's text per turn of the event loop, then the batch's transaction: at once after a
   * quiet moment (or in idle()); as a background job of the write queue, run while the next
   * durable batch's WAL sync runs, when its messages waited too long while others kept arriving.
   */
  private async loop(): Promise<void> {
    while (this.pending.length && !this.stopped && this.dueIn(performance.now()) <= 0) {
      const quiet = this.draining > 0 || performance.now() - this.lastAt >= this.gatherMs;
      const batch = this.pending.splice(0, INDEX_BATCH);
      this.queuedAt.splice(0, batch.length);
      this.batches++;
      if (!quiet) this.lagged++;
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
        .run((ctx) => writeLive(ctx.trx, texts), { durable: false, background: !quiet })
        .catch((err: unknown) => {
          this.failedBatches++;
          this.onBatchError?.(err, texts.length);
        });
      this.unmerged++;
    }
    await this.merge();
  }

  /**
   * After the batches, while no new message waits: the index's segments merged a step per job
   * (a few milliseconds of the writer each, a turn of the event loop between), so that a search
   * looks each trigram up in one segment or a few, not one per batch written (issue 18, a cold
   * SEARCH BODY: fulltext-adapter.ts mergeTextIndex). Non-durable: a crash only leaves segments
   * unmerged, which the next batch's merge takes up.
   */
  private async merge(): Promise<void> {
    if (!this.merges || !this.unmerged) return;
    for (let step = 0; step < MAX_MERGE_STEPS && !this.stopped && !this.pending.length; step++) {
      await nextTurn();
      const first = !this.mergedOnce;
      const worked = await this.queue.run(({ trx }) => mergeTextIndex(trx, first), { durable: false }).catch(() => false);
      this.mergedOnce = true;
      this.mergeSteps++;
      if (!worked) {
        this.unmerged = 0;
        return;
      }
    }
  }
}

/** Merge steps after one run of batches at most (the next batch's run takes up the rest). */
const MAX_MERGE_STEPS = 64;

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
