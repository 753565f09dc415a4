/**
 * The search index's backfill: messages stored before migration 0044 (or by a preparer that did
 * not extract their text) get their row here, in the background. Bounded batches in id order,
 * each written in one short transaction of the write queue, a pause between batches so that
 * serving goes first; resumable (the next run starts over and skips what has a row). Until a
 * message has its row, SEARCH reads it as before (fulltext.ts `uncovered`).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { BlobStore } from './blobstore.js';
import { extractSearchText, type SearchText, writeSearchText } from './fulltext.js';
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
      await this.queue.run(async ({ trx }) => {
        // Messages purged since they were read are skipped (their row would have no message).
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
        for (const [id, text] of texts) if (live.has(id)) await writeSearchText(trx, id, text);
      });
      progress.done += rows.length;
      opts.onProgress?.({ ...progress });
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    progress.finished = !this.stopped;
    opts.onProgress?.({ ...progress });
    return progress;
  }

  /** The text of one stored message; a message whose bytes cannot be read is left to the scan (an incomplete row). */
  private async textOf(r: { blob_id: string; header_prefix: string; meta: string }): Promise<SearchText> {
    try {
      const bytes = await this.blobs.get(r.blob_id);
      const full = r.header_prefix ? Buffer.concat([Buffer.from(r.header_prefix, 'utf8'), bytes]) : bytes;
      return extractSearchText(full, JSON.parse(r.meta) as MessageMeta);
    } catch {
      return { body: '', head: '', complete: false };
    }
  }
}
