/**
 * The background runner of IMAP migration jobs, built once by the composition root. Bounded:
 * at most `maxJobs` jobs at a time and `perHost` connections to one source host (providers
 * throttle or block an address that opens many). A job is claimed with a conditional update
 * (queued → running), so two runners never run one job. At boot, jobs left running by a stopped
 * appliance become `interrupted` (they resume where they stopped on `run`), queued ones are
 * picked up again. When a run ends (done, failed, cancelled) the source credential is wiped — a
 * retry gives it again — and the outcome is audited with what was copied; only an interrupted job
 * (the appliance stopped mid-copy: it resumes) keeps it, until its resumed run ends.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../logger.js';
import { repos, trxOf } from '../../db/repos/index.js';
import type { MigrationRow } from '../../db/repos/migrations.js';
import { appendAudit } from '../audit/audit.js';
import { openSecret } from '../access/secret-box.js';
import type { CoreDeps } from '../deps.js';
import { systemActor } from '../kernel/authz.js';
import { isAppError } from '../kernel/errors.js';
import { PLATFORM_SCOPE, tenantScope } from '../kernel/scope.js';
import { copyJob, MigrationAborted } from './copy.js';
import type { MigrationReport, MigrationRunnerPort, MigrationState, MigrationStore } from './migration.types.js';
import type { SourceOptions } from './source.js';
import type { CheckedSource } from './view.js';

export interface RunnerOptions {
  store: MigrationStore;
  logger: Logger;
  source: SourceOptions;
  /** Jobs at a time (default 4). */
  maxJobs?: number;
  /** Connections to one source host at a time (default 2). */
  perHost?: number;
  /** Several nodes share the database: a job marked running may be another node's. */
  clustered?: boolean;
}

/** A running job without progress for this long was abandoned by a node that died. */
const STALE_MS = 10 * 60_000;

interface Active {
  host: string;
  abort: AbortController;
  done: Promise<void>;
}

const ACTOR = systemActor('migration-runner');

export class MigrationRunner implements MigrationRunnerPort {
  /** 'progress' (jobId, folder, copied) after each stored batch; 'finished' (jobId, state) at the end of a run. */
  readonly events = new EventEmitter();
  private readonly queue: string[] = [];
  private readonly active = new Map<string, Active>();
  private readonly perHostCount = new Map<string, number>();
  private pumping: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private staleTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: CoreDeps,
    private readonly opts: RunnerOptions,
  ) {}

  /**
   * Recovery at boot: running → interrupted, queued → picked up. In a cluster another node may be
   * running a job right now, so only jobs without progress for STALE_MS (a live copy records
   * progress after every batch) are taken as abandoned, at boot and every STALE_MS after.
   */
  async start(): Promise<{ interrupted: number; queued: number }> {
    const r = repos(this.deps.db, PLATFORM_SCOPE);
    if (this.opts.clustered && !this.staleTimer) {
      this.staleTimer = setInterval(() => void this.start().catch(() => undefined), STALE_MS);
      this.staleTimer.unref();
    }
    const running = await r.migrations.idsInState('running', this.opts.clustered ? this.deps.now() - STALE_MS : undefined);
    for (const id of running) {
      await r.migrations.transition(id, ['running'], { state: 'interrupted', error: 'the appliance stopped during the copy; run the job again to resume', updated_at: this.deps.now() });
    }
    const queued = await r.migrations.idsInState('queued');
    for (const id of queued) this.enqueue(id);
    return { interrupted: running.length, queued: queued.length };
  }

  enqueue(id: string): void {
    if (this.stopping || this.active.has(id) || this.queue.includes(id)) return;
    this.queue.push(id);
    this.pump();
  }

  abort(id: string): void {
    const i = this.queue.indexOf(id);
    if (i >= 0) this.queue.splice(i, 1);
    this.active.get(id)?.abort.abort();
  }

  /** Jobs running now. */
  get running(): number {
    return this.active.size;
  }

  /** Resolves when no job is queued or running. */
  async idle(): Promise<void> {
    while (this.queue.length || this.active.size || this.pumping) {
      if (this.pumping) await this.pumping;
      else if (this.active.size) await Promise.race([...this.active.values()].map((a) => a.done));
      else this.pump();
    }
  }

  /** Stops every running job at its next message boundary; they become interrupted. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.staleTimer) clearInterval(this.staleTimer);
    this.queue.length = 0;
    for (const a of this.active.values()) a.abort.abort();
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  private pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pumpOnce()
      .catch((err: unknown) => this.opts.logger.error({ event: 'migration.error', err }, 'migration runner failed to schedule'))
      .finally(() => {
        this.pumping = null;
        if (this.again) {
          this.again = false;
          this.pump();
        }
      });
  }

  private async pumpOnce(): Promise<void> {
    const r = repos(this.deps.db, PLATFORM_SCOPE);
    for (const id of [...this.queue]) {
      if (this.active.size >= (this.opts.maxJobs ?? 4) || this.stopping) return;
      const row = await r.migrations.find(id);
      if (!row || row.state !== 'queued') {
        this.queue.splice(this.queue.indexOf(id), 1);
        continue;
      }
      if ((this.perHostCount.get(row.source_host) ?? 0) >= (this.opts.perHost ?? 2)) continue;
      this.queue.splice(this.queue.indexOf(id), 1);
      this.launch(row);
    }
  }

  private launch(row: MigrationRow): void {
    const abort = new AbortController();
    this.perHostCount.set(row.source_host, (this.perHostCount.get(row.source_host) ?? 0) + 1);
    const done = this.execute(row, abort.signal)
      .catch((err: unknown) => this.opts.logger.error({ event: 'migration.error', migrationId: row.id, err }, 'migration run failed'))
      .finally(() => {
        this.perHostCount.set(row.source_host, (this.perHostCount.get(row.source_host) ?? 1) - 1);
        this.active.delete(row.id);
        this.pump();
      });
    this.active.set(row.id, { host: row.source_host, abort, done });
  }

  private async execute(row: MigrationRow, signal: AbortSignal): Promise<void> {
    const r = repos(this.deps.db, tenantScope(row.tenant_id));
    const started = this.deps.now();
    const claimed = await r.migrations.transition(row.id, ['queued'], { state: 'running', runs: row.runs + 1, started_at: started, finished_at: null, error: null, updated_at: started });
    if (!claimed) return;
    const log = this.opts.logger.child({ migrationId: row.id, mailboxId: row.mailbox_id });
    const report: MigrationReport = {
      run: row.runs + 1,
      state: 'running',
      startedAt: new Date(started).toISOString(),
      finishedAt: null,
      copied: 0,
      bytes: 0,
      folders: [],
      skipped: [],
      deduplicated: 0,
      reconnects: 0,
    };
    const sealed = await r.migrations.secretOf(row.id);
    let outcome: { state: 'done' | 'failed' | 'cancelled' | 'interrupted'; error: string | null };
    if (!sealed) {
      outcome = { state: 'failed', error: 'no source credential is held for this job: run it again with the password or access token' };
    } else {
      const secret = openSecret(sealed);
      const src: CheckedSource = {
        host: row.source_host,
        port: row.source_port,
        tls: row.source_tls as CheckedSource['tls'],
        user: row.source_user,
        auth: row.source_auth === 'xoauth2' ? 'xoauth2' : 'password',
        secret,
      };
      log.info({ event: 'migration.started', host: src.host, user: src.user, run: report.run }, 'migration run started');
      const resuming = wasUnclean(row);
      const onProgress = (jobId: string, folder: string, copied: number) => this.events.emit('progress', jobId, folder, copied);
      try {
        await copyJob({ deps: this.deps, store: this.opts.store, job: row, src, signal, source: this.opts.source, resuming, onProgress }, report);
        outcome = { state: 'done', error: null };
      } catch (err) {
        outcome = signal.aborted || err instanceof MigrationAborted ? { state: this.stopping ? 'interrupted' : 'cancelled', error: null } : { state: 'failed', error: describe(err, secret) };
      }
    }
    await this.finish(row, report, outcome);
    log.info({ event: `migration.${outcome.state}`, copied: report.copied, bytes: report.bytes, error: outcome.error }, 'migration run ended');
    this.events.emit('finished', row.id, outcome.state);
  }

  private async finish(row: MigrationRow, report: MigrationReport, outcome: { state: MigrationState; error: string | null }): Promise<void> {
    const now = this.deps.now();
    report.finishedAt = new Date(now).toISOString();
    report.state = outcome.state;
    const r = repos(this.deps.db, tenantScope(row.tenant_id));
    await r.transaction(async (t) => {
      // No credential outlives its purpose: only a job that will resume (interrupted) keeps it.
      const ended = outcome.state !== 'interrupted';
      const patch = { report: JSON.stringify(report), error: outcome.error, updated_at: now, finished_at: ended ? now : null, ...(ended ? { source_secret: null } : {}) };
      // A cancellation already moved the job to cancelled: only the report is added.
      const moved = await t.migrations.transition(row.id, ['running'], { ...patch, state: outcome.state });
      if (!moved) await t.migrations.update(row.id, { report: patch.report, updated_at: now, source_secret: null });
      await appendAudit(
        trxOf(t),
        ACTOR,
        {
          action: `mailbox.migration.${moved ? outcome.state : 'cancelled'}`,
          targetType: 'mailbox',
          targetId: row.mailbox_id,
          tenantId: row.tenant_id,
          after: {
            migrationId: row.id,
            run: report.run,
            startedBy: row.created_by,
            copied: report.copied,
            bytes: report.bytes,
            folders: report.folders.map((f) => ({ source: f.source, target: f.target, copied: f.copied })),
            skipped: report.skipped.length,
            error: outcome.error,
          },
        },
        now,
      );
    });
  }
}

/** Whether the job's last run ended without its report (a crash) or not done: its last batch may lack its progress record. */
function wasUnclean(row: MigrationRow): boolean {
  if (row.runs === 0) return false;
  try {
    const last = row.report ? (JSON.parse(row.report) as MigrationReport) : null;
    return !last || last.run !== row.runs || last.state !== 'done';
  } catch {
    return true;
  }
}

/** A failure as the report says it, without the source credential in any case. */
function describe(err: unknown, secret: string): string {
  let text: string;
  if (isAppError(err, 'QuotaExceeded')) text = 'the mailbox is over quota: raise its quota, then run the job again with the source password (it resumes)';
  else if (isAppError(err)) text = err.message;
  else {
    const e = err as { message?: string; responseText?: string; code?: string };
    text = [e.message ?? String(err), e.responseText && !e.message?.includes(e.responseText) ? `(${e.responseText})` : '', e.code ? `[${e.code}]` : ''].filter(Boolean).join(' ');
  }
  return secret ? text.split(secret).join('[redacted]') : text;
}
