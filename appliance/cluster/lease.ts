/**
 * Scheduled jobs that must run on exactly one node (issue 17): DNS checks, DKIM rotation,
 * retention, recycle-bin purge, the orphan-blob sweep, audit verification. Each job has a lease
 * (a row of `leases`, appliance/db/repos/leases.ts) that one node holds and renews; the others
 * ask for it on every heartbeat and take it over once it has expired (the holder died or lost
 * the database). No engine-specific lock: a portable conditional UPDATE/INSERT, so the same
 * code runs on SQLite (one node: it always holds every lease, behaviour unchanged) and
 * PostgreSQL.
 *
 * A node trusts its own lease only until `expiresAt - margin` by its own clock, and renews every
 * ttl/3, so a holder cut off from the database stops running jobs before anyone else may take
 * them. Clocks of the nodes must agree to within the margin (NTP).
 *
 * - `hold(name)`: a lease without a schedule of its own; the returned check says whether this node
 *   holds it now (the DNS scheduler and the audit timer keep their timers and consult it).
 * - `every(name, intervalMs, fn)`: the runner schedules the job: it runs on the holder when
 *   `intervalMs` has passed since its last run anywhere in the cluster (`ran_at`), so a node
 *   that takes over runs an overdue job at once, not an interval later.
 * - `runExclusive(db, name, ttlMs, nodeId, fn)`: one-shot: acquire, run, renew while running,
 *   release; null when another node holds the lease.
 */
import { PLATFORM_SCOPE } from '../core/kernel/scope.js';
import { syncedOffLoop } from '../db/repos/base.js';
import { type Executor, repos } from '../db/repos/index.js';
import type { HeldLease } from '../db/repos/leases.js';
import type { Logger } from '../logger.js';

export interface LeaseRunnerOptions {
  nodeId: string;
  /** How long a lease lasts without renewal; a dead holder's jobs move after at most this. */
  ttlMs: number;
  logger?: Logger;
  now?: () => number;
}

interface Job {
  name: string;
  intervalMs: number;
  fn: (fence: number) => Promise<void>;
  /** Run at once the first time this process holds the lease (whatever `ran_at` says). */
  runOnAcquire: boolean;
  ranThisProcess: boolean;
  running: Promise<void> | null;
}

export class LeaseRunner {
  private readonly held = new Map<string, HeldLease>();
  private readonly names = new Set<string>();
  private readonly jobs = new Map<string, Job>();
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private stopped = false;
  private readonly now: () => number;
  /** Told when this node takes a lease or loses it (logs, tests). */
  onChange: ((name: string, held: boolean, fence: number) => void) | null = null;

  constructor(
    private readonly db: Executor,
    private readonly opts: LeaseRunnerOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get nodeId(): string {
    return this.opts.nodeId;
  }

  private get margin(): number {
    return Math.min(2000, Math.floor(this.opts.ttlMs / 5));
  }

  /** Registers a lease this node competes for; the check says whether it holds it now. */
  hold(name: string): () => boolean {
    this.names.add(name);
    return () => this.holds(name);
  }

  holds(name: string): boolean {
    const l = this.held.get(name);
    return !this.stopped && l !== undefined && l.expiresAt - this.margin > this.now();
  }

  /** The fencing counter of a lease this node holds (null: not held). */
  fence(name: string): number | null {
    return this.holds(name) ? this.held.get(name)!.fence : null;
  }

  /** Schedules a job on whichever node holds the lease `name`. */
  every(name: string, intervalMs: number, fn: (fence: number) => Promise<void>, opts: { runOnAcquire?: boolean } = {}): void {
    this.names.add(name);
    this.jobs.set(name, { name, intervalMs, fn, runOnAcquire: opts.runOnAcquire ?? false, ranThisProcess: false, running: null });
  }

  /** First heartbeat (awaited: a single node holds its leases once this resolves), then one every ttl/3. */
  async start(): Promise<void> {
    await this.tick();
    const period = Math.max(50, Math.floor(this.opts.ttlMs / 3));
    this.timer = setInterval(() => void this.tick(), period);
    this.timer.unref();
  }

  /** One heartbeat: renew or take every lease, then start the jobs that are due. */
  tick(): Promise<void> {
    this.beating ??= this.beat().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }

  private async beat(): Promise<void> {
    const renewed = await this.renewAll();
    for (const [name, got] of renewed) {
      if (got instanceof Error) {
        // The database is unreachable: keep what we hold until it expires by our clock.
        this.opts.logger?.warn({ event: 'cluster.lease.error', lease: name, err: got }, 'lease renewal failed');
        continue;
      }
      const before = this.held.get(name);
      if (got) this.held.set(name, got);
      else this.held.delete(name);
      if (got && (!before || before.fence !== got.fence)) {
        this.opts.logger?.info({ event: 'cluster.lease.acquired', lease: name, node: this.opts.nodeId, fence: got.fence }, 'this node now runs the job');
        this.onChange?.(name, true, got.fence);
      } else if (!got && before) {
        this.opts.logger?.warn({ event: 'cluster.lease.lost', lease: name, node: this.opts.nodeId }, 'another node took the job over');
        this.onChange?.(name, false, before.fence);
      }
    }
    if (this.stopped) return;
    for (const job of this.jobs.values()) this.maybeRun(job);
  }

  /**
   * Renews or takes every lease: the answer per name (an Error: the database refused). On SQLite
   * the renewals commit unsynced and then share one WAL sync on its own thread (repos/base.ts
   * syncedOffLoop), so a heartbeat costs the serving loop no fsync; one synchronous fsync per
   * lease stalled the control plane's loop up to 22 ms under disk contention (issue 18, round 9).
   * Nothing is acted on before that sync, as before. PostgreSQL: one statement each, as before.
   */
  private async renewAll(): Promise<Map<string, HeldLease | null | Error>> {
    const out = new Map<string, HeldLease | null | Error>();
    const renew = async (db: Executor): Promise<void> => {
      const r = repos(db, PLATFORM_SCOPE).leases;
      for (const name of this.names) {
        if (this.stopped) return;
        const now = this.now();
        out.set(name, await r.acquire(name, this.opts.nodeId, now, this.opts.ttlMs, now).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))));
      }
    };
    try {
      await syncedOffLoop(this.db, renew);
    } catch (err) {
      for (const name of this.names) out.set(name, err instanceof Error ? err : new Error(String(err)));
    }
    return out;
  }

  private maybeRun(job: Job): void {
    const lease = this.held.get(job.name);
    if (!lease || job.running || !this.holds(job.name)) return;
    const now = this.now();
    const due = (job.runOnAcquire && !job.ranThisProcess) || now - lease.ranAt >= job.intervalMs;
    if (!due) return;
    job.ranThisProcess = true;
    const fence = lease.fence;
    job.running = job
      .fn(fence)
      .catch((err: unknown) => this.opts.logger?.error({ event: 'cluster.job.error', lease: job.name, err }, 'scheduled job failed'))
      .then(async () => {
        const at = this.now();
        lease.ranAt = at;
        await repos(this.db, PLATFORM_SCOPE).leases.markRan(job.name, this.opts.nodeId, fence, at);
      })
      .catch((err: unknown) => this.opts.logger?.warn({ event: 'cluster.lease.error', lease: job.name, err }, 'could not record the run'))
      .finally(() => {
        job.running = null;
      });
  }

  /** Stops the heartbeat, waits for running jobs and gives every held lease up (a clean stop). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.beating?.catch(() => undefined);
    await Promise.allSettled([...this.jobs.values()].map((j) => j.running));
    const r = repos(this.db, PLATFORM_SCOPE).leases;
    const now = this.now();
    await Promise.allSettled([...this.held.keys()].map((name) => r.release(name, this.opts.nodeId, now)));
    this.held.clear();
  }
}

/**
 * Runs `fn` once if this node can take the lease `name` (renewing it every ttl/3 while `fn` runs,
 * releasing it after). Null when another node holds it.
 */
export async function runExclusive<T>(db: Executor, name: string, ttlMs: number, nodeId: string, fn: (fence: number) => Promise<T>): Promise<{ result: T; fence: number } | null> {
  const r = repos(db, PLATFORM_SCOPE).leases;
  const first = await r.acquire(name, nodeId, Date.now(), ttlMs, Date.now());
  if (!first) return null;
  const renew = setInterval(() => void r.acquire(name, nodeId, Date.now(), ttlMs, Date.now()).catch(() => undefined), Math.max(50, Math.floor(ttlMs / 3)));
  renew.unref();
  try {
    const result = await fn(first.fence);
    await r.markRan(name, nodeId, first.fence, Date.now());
    return { result, fence: first.fence };
  } finally {
    clearInterval(renew);
    await r.release(name, nodeId, Date.now());
  }
}
