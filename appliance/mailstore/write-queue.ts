/**
 * Group commit. Writers queue jobs; all jobs queued before a flush starts run in ONE database
 * transaction (one fsync), each inside its own savepoint so one failing job does not undo the
 * others. A job's promise resolves only after the transaction has committed; its `after`
 * callbacks (change notifications) run then. Messages for the other nodes of a cluster
 * (`announce`) are sent inside the transaction when the notifier can (PostgreSQL NOTIFY: delivered
 * at commit, dropped with a rolled-back job's savepoint), else right after the commit.
 *
 * On SQLite a batch commits without the fsync (synchronous = NORMAL) and its jobs are answered
 * after the WAL sync that follows; the next batch's transaction is written meanwhile (pipelined),
 * and batches are answered in commit order. Non-durable jobs are answered at commit.
 *
 * Background jobs (the search index's batches) wait on SQLite for the next batch with durable jobs
 * and run in a transaction of their own right after its commit, while its WAL sync runs: the
 * serving loop would only wait then (issue 18, APPEND in one session: the index batch, written
 * right after an answer, held up the next command by its whole length).
 *
 * On PostgreSQL several nodes write the same folders and mailboxes at once: a job that loses a
 * deadlock (or serialization) race to another node's transaction is rolled back to its savepoint
 * and queued again for the next transaction, after this one has committed and released its
 * locks; it fails only after MAX_ATTEMPTS such losses.
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { type CommitDurability, commitDurability, isRetryableConflict } from '../db/dialect.js';
import type { DB } from '../db/schema.js';
import type { ClusterNotifier, TopicMessage } from '../cluster/notifier.js';

const MAX_ATTEMPTS = 5;

/** How long a background job waits for a durable batch to ride behind before it runs anyway. */
export const BACKGROUND_WAIT_MS = 50;

/** A job's savepoint statements, compiled once (not again for every job of a batch). */
const SAVEPOINT = CompiledQuery.raw('savepoint job');
const RELEASE = CompiledQuery.raw('release savepoint job');
const ROLLBACK_TO = CompiledQuery.raw('rollback to savepoint job');

export interface JobContext {
  trx: Transaction<DB>;
  /** Registers work to run after the commit (notifications, blob deletion). */
  after(fn: () => void): void;
  /** A message for the other nodes, sent with this job's commit (only when the notifier is clustered). */
  announce(message: TopicMessage): void;
}

type Outcome = { ok: true; value: unknown; after: Array<() => void>; messages: TopicMessage[] } | { ok: false; err: unknown };

interface Job<T> {
  run: (ctx: JobContext) => Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
  /** Runs that lost a race with another writer so far. */
  attempts: number;
  /** False for bookkeeping that may be lost in a crash (the \\Recent mark): a batch of only such jobs skips the WAL sync. */
  durable: boolean;
}

export class WriteQueue {
  private pending: Job<any>[] = [];
  /** Background jobs waiting for the next durable batch's commit (SQLite; see the file's comment). */
  private background: Job<any>[] = [];
  private backgroundTimer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  /** Answers of the synced batches so far, in commit order (each waits for its WAL sync). */
  private syncedBatches: Promise<void> = Promise.resolve();
  /** Largest number of jobs committed together so far (observability, benchmarks). */
  maxBatch = 0;
  private readonly durability: CommitDurability | null;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly maxJobs = 256,
    /** The cluster's notifier; absent or not clustered: nothing is announced. */
    private readonly cluster?: ClusterNotifier,
  ) {
    this.durability = commitDurability(db);
  }

  /**
   * Queues `fn` for the next batch. `durable: false`: bookkeeping that may be lost in a crash
   * (answered at commit, no WAL sync of its own). `background: true` (never durable): on SQLite
   * it waits for the next batch with durable jobs and runs in a transaction of its own right
   * after that commit, when no other job waits, or after BACKGROUND_WAIT_MS.
   */
  run<T>(fn: (ctx: JobContext) => Promise<T>, opts: { durable?: boolean; background?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: Job<T> = { run: fn, resolve, reject, attempts: 0, durable: !opts.background && (opts.durable ?? true) };
      if (opts.background && this.durability) {
        this.background.push(job);
        this.backgroundTimer ??= setTimeout(() => this.releaseBackground(), BACKGROUND_WAIT_MS);
        return;
      }
      this.pending.push(job);
      this.schedule();
    });
  }

  /** The waiting background jobs, to run now (the wait's timer stopped). */
  private takeBackground(): Job<any>[] {
    if (this.backgroundTimer) clearTimeout(this.backgroundTimer);
    this.backgroundTimer = null;
    return this.background.splice(0);
  }

  /** No durable batch came in time (or a drain): the background jobs go to the next batch. */
  private releaseBackground(): void {
    if (!this.background.length) return;
    this.pending.push(...this.takeBackground());
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.flushing = this.flushing.then(() => this.flush());
    });
  }

  /** Resolves when everything queued so far has been committed. */
  async drain(): Promise<void> {
    this.releaseBackground();
    while (this.pending.length || this.scheduled) {
      await new Promise((r) => setImmediate(r));
      await this.flushing;
      await this.syncedBatches;
    }
    await this.flushing;
    await this.syncedBatches;
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    let behind: Job<any>[] = [];
    while (behind.length || this.pending.length) {
      const jobs = behind.length ? behind : this.pending.splice(0, this.maxJobs);
      behind = [];
      this.maxBatch = Math.max(this.maxBatch, jobs.length);
      const outcomes: Outcome[] = [];
      const announced: TopicMessage[] = [];
      const batch = (db: Kysely<DB>) =>
        db.transaction().execute(async (trx) => {
          for (let i = 0; i < jobs.length; i++) outcomes.push(await this.runJob(trx, jobs[i]!, jobs.length === 1));
          for (const o of outcomes) if (o.ok) announced.push(...o.messages);
          if (announced.length && this.cluster?.transactional) await this.cluster.publishInTransaction(trx, announced);
        });
      try {
        if (this.durability) {
          await this.durability.unsynced(batch);
        } else {
          await batch(this.db);
        }
      } catch (err) {
        // The transaction itself failed (or the single job threw): nothing was committed.
        const again = isRetryableConflict(err) ? jobs.filter((j) => ++j.attempts < MAX_ATTEMPTS) : [];
        for (const job of jobs) if (!again.includes(job)) job.reject(err);
        this.pending.unshift(...again);
        continue;
      }
      if (!this.durability || !jobs.some((j) => j.durable)) {
        this.settle(jobs, outcomes, announced);
        continue;
      }
      // Jobs that need no durability (the \Recent claim) are answered at commit, not after the
      // sync of the durable jobs they were batched with (issue 18: a read-only FETCH waited for
      // other sessions' fsyncs through its \Recent claim).
      const early = jobs.map((_, k) => k).filter((k) => !jobs[k]!.durable);
      if (early.length) {
        const late = jobs.map((_, k) => k).filter((k) => jobs[k]!.durable);
        this.settle(
          early.map((k) => jobs[k]!),
          early.map((k) => outcomes[k]!),
          [],
        );
        this.settleAfterSync(
          this.durability,
          late.map((k) => jobs[k]!),
          late.map((k) => outcomes[k]!),
          announced,
        );
      } else {
        this.settleAfterSync(this.durability, jobs, outcomes, announced);
      }
      // This batch's WAL sync runs now: the background jobs' transaction fills the wait.
      if (!this.pending.length) behind = this.takeBackground();
    }
  }

  /**
   * SQLite: the WAL sync of this batch runs while the next batch's transaction is written
   * (issue 18: a writer no longer waits for the previous batch's fsync before its own
   * transaction starts). Its jobs are answered after the sync, in commit order; a job of a
   * later batch is synced by a later sync, which covers this batch's frames too.
   */
  private settleAfterSync(durability: CommitDurability, jobs: Job<any>[], outcomes: Outcome[], announced: TopicMessage[]): void {
    const synced = durability.sync();
    const prev = this.syncedBatches;
    const done = prev
      .then(() => synced)
      .then(
        () => this.settle(jobs, outcomes, announced),
        // Committed but not known durable: nobody is told OK.
        (err: unknown) => {
          for (const job of jobs) job.reject(err);
        },
      );
    synced.catch(() => undefined); // handled in order above, maybe after it settled
    this.syncedBatches = done;
  }

  /** Answers a committed batch: notifications, then each job's result; lost races go round again. */
  private settle(jobs: Job<any>[], outcomes: Outcome[], announced: TopicMessage[]): void {
    if (announced.length && this.cluster && !this.cluster.transactional) {
      for (const m of announced) void this.cluster.publish(m.topic, m.payload).catch(() => undefined);
    }
    const again: Job<any>[] = [];
    outcomes.forEach((o, i) => {
      const job = jobs[i]!;
      if (o.ok) {
        for (const fn of o.after) {
          try {
            fn();
          } catch {
            /* notification errors never undo a commit */
          }
        }
        job.resolve(o.value);
      } else if (isRetryableConflict(o.err) && ++job.attempts < MAX_ATTEMPTS) {
        again.push(job);
      } else {
        job.reject(o.err);
      }
    });
    // Jobs that lost a race run again first, in a transaction of their own making.
    if (again.length) {
      this.pending.unshift(...again);
      this.schedule();
    }
  }

  /** One job inside the batch's transaction, in its own savepoint unless it is alone. */
  private async runJob(trx: Transaction<DB>, job: Job<any>, single: boolean): Promise<{ ok: true; value: unknown; after: Array<() => void>; messages: TopicMessage[] } | { ok: false; err: unknown }> {
    const after: Array<() => void> = [];
    const messages: TopicMessage[] = [];
    if (!single) await trx.executeQuery(SAVEPOINT);
    try {
      const value = await job.run({ trx, after: (fn) => after.push(fn), announce: (m) => messages.push(m) });
      if (!single) await trx.executeQuery(RELEASE);
      return { ok: true, value, after, messages };
    } catch (err) {
      if (single) throw err;
      await trx.executeQuery(ROLLBACK_TO);
      await trx.executeQuery(RELEASE);
      return { ok: false, err };
    }
  }
}
