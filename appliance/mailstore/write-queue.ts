/**
 * Group commit. Writers queue jobs; all jobs queued before a flush starts run in ONE database
 * transaction (one fsync), each inside its own savepoint so one failing job does not undo the
 * others. A job's promise resolves only after the transaction has committed; its `after`
 * callbacks (change notifications) run then.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DB } from '../db/schema.js';

export interface JobContext {
  trx: Transaction<DB>;
  /** Registers work to run after the commit (notifications, blob deletion). */
  after(fn: () => void): void;
}

interface Job<T> {
  run: (ctx: JobContext) => Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

export class WriteQueue {
  private pending: Job<any>[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  /** Largest number of jobs committed together so far (observability, benchmarks). */
  maxBatch = 0;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly maxJobs = 256,
  ) {}

  run<T>(fn: (ctx: JobContext) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run: fn, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.flushing = this.flushing.then(() => this.flush());
        });
      }
    });
  }

  /** Resolves when everything queued so far has been committed. */
  async drain(): Promise<void> {
    while (this.pending.length || this.scheduled) {
      await new Promise((r) => setImmediate(r));
      await this.flushing;
    }
    await this.flushing;
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    while (this.pending.length) {
      const jobs = this.pending.splice(0, this.maxJobs);
      this.maxBatch = Math.max(this.maxBatch, jobs.length);
      const outcomes: Array<{ ok: true; value: unknown; after: Array<() => void> } | { ok: false; err: unknown }> = [];
      try {
        await this.db.transaction().execute(async (trx) => {
          for (let i = 0; i < jobs.length; i++) {
            const after: Array<() => void> = [];
            const single = jobs.length === 1;
            if (!single) await sql`savepoint job`.execute(trx);
            try {
              const value = await jobs[i]!.run({ trx, after: (fn) => after.push(fn) });
              if (!single) await sql`release savepoint job`.execute(trx);
              outcomes.push({ ok: true, value, after });
            } catch (err) {
              if (single) throw err;
              await sql`rollback to savepoint job`.execute(trx);
              await sql`release savepoint job`.execute(trx);
              outcomes.push({ ok: false, err });
            }
          }
        });
      } catch (err) {
        // The transaction itself failed (or the single job threw): nothing was committed.
        for (const job of jobs) job.reject(err);
        continue;
      }
      outcomes.forEach((o, i) => {
        if (o.ok) {
          for (const fn of o.after) {
            try {
              fn();
            } catch {
              /* notification errors never undo a commit */
            }
          }
          jobs[i]!.resolve(o.value);
        } else {
          jobs[i]!.reject(o.err);
        }
      });
    }
  }
}
