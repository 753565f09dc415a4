/**
 * Applying a migration batch (issue 20): one IMAP migration job per row whose plan check passed,
 * at most `concurrency` jobs queued or running at once. A worker of this process starts jobs,
 * follows them (every half second, from their records) and, when every row has ended, marks
 * the batch `applied` and wipes whatever secret the batch still holds. A job's sealed credential
 * moves to the job when it starts (the job wipes it when it ends). Cancel stops the rows not
 * started and cancels the running jobs.
 */
import { openSecret } from '../access/secret-box.js';
import { appendAuditIn } from '../audit/audit.js';
import { repos } from '../../db/repos/index.js';
import type { MigrationItemStatus } from '../../db/tables/migration-batches.table.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError } from '../kernel/errors.js';
import { cancelMigration, getMigration, startMigration } from '../migration/migrations.service.js';
import { type MigrationBatchDeps, type MigrationBatchView, batchView, checkConcurrency } from './migration-batch-view.js';

const FOLLOW_MS = 500;
const workers = new Map<string, Promise<void>>();

const JOB_END: Record<string, MigrationItemStatus | undefined> = { done: 'done', failed: 'failed', cancelled: 'cancelled', interrupted: 'failed' };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** One round: follow the started rows, start more up to the bound; false once every row has ended. */
async function step(actor: Actor, deps: MigrationBatchDeps, id: string): Promise<boolean> {
  const r = repos(deps.db, scopeOf(actor));
  const b = await r.migrationBatches.get(id);
  if (b.state !== 'applying') return false;
  const items = await r.migrationBatches.items(id);
  let active = 0;
  for (const it of items.filter((i) => i.status === 'started' && i.migration_id)) {
    const job = await getMigration(actor, deps, it.migration_id!);
    const end = JOB_END[job.state];
    if (end) await r.migrationBatches.updateItem(id, it.row_no, { status: end, check_error: end === 'done' ? it.check_error : job.error, updated_at: deps.now() });
    else active++;
  }
  const waiting = items.filter((i) => i.status === 'planned' && i.check_state === 'ok');
  for (const it of waiting.slice(0, Math.max(0, Number(b.concurrency) - active))) {
    try {
      const job = await startMigration(actor, deps, it.mailbox_id!, {
        source: { host: it.source_host, port: Number(it.source_port), tls: it.source_tls as 'implicit', user: it.source_user, password: openSecret(it.source_secret ?? '') },
      });
      await r.migrationBatches.updateItem(id, it.row_no, { status: 'started', migration_id: job.id, source_secret: null, updated_at: deps.now() });
      active++;
    } catch (err) {
      await r.migrationBatches.updateItem(id, it.row_no, { status: 'failed', check_error: `could not start: ${(err as Error).message}`, source_secret: null, updated_at: deps.now() });
    }
  }
  if (active > 0 || waiting.length > 0) return true;
  const now = deps.now();
  if (await r.migrationBatches.claim(id, ['applying'], { state: 'applied', finished_at: now, updated_at: now })) {
    await r.migrationBatches.wipeSecrets(id, now);
    const view = await batchView(actor, deps, r, await r.migrationBatches.get(id));
    await r.transaction((t) => appendAuditIn(t, actor, { action: 'migration-batch.applied', targetType: 'migration-batch', targetId: id, tenantId: b.tenant_id, after: view.report }, now));
  }
  return false;
}

function startWorker(actor: Actor, deps: MigrationBatchDeps, id: string): void {
  if (workers.has(id)) return;
  const run = async () => {
    try {
      while (await step(actor, deps, id)) await sleep(FOLLOW_MS);
    } catch (err) {
      const r = repos(deps.db, scopeOf(actor));
      await r.migrationBatches.update(id, { error: `apply stopped: ${(err as Error).message}`, updated_at: deps.now() }).catch(() => undefined);
    }
  };
  workers.set(
    id,
    run().finally(() => workers.delete(id)),
  );
}

/** Starts applying a planned batch (202: follow GET); applying again resumes a worker that stopped. */
export async function applyMigrationBatch(actor: Actor, deps: MigrationBatchDeps, id: string, input: { concurrency?: number } = {}): Promise<MigrationBatchView> {
  authorize(actor, 'mailboxes.manage');
  const r = repos(deps.db, scopeOf(actor));
  const b = await r.migrationBatches.get(id);
  const concurrency = input.concurrency === undefined ? Number(b.concurrency) : checkConcurrency(input.concurrency);
  if (b.state === 'planning') throw new AppError('Conflict', 'the plan is still checking the sources; apply when it is planned');
  if (b.state === 'applied' || b.state === 'cancelled') throw new AppError('Conflict', `the batch is ${b.state}`);
  const now = deps.now();
  if (b.state === 'planned') {
    await r.transaction(async (t) => {
      if (!(await t.migrationBatches.claim(id, ['planned'], { state: 'applying', concurrency, applied_at: now, updated_at: now }))) throw new AppError('Conflict', 'the batch changed meanwhile');
      await appendAuditIn(t, actor, { action: 'migration-batch.apply', targetType: 'migration-batch', targetId: id, tenantId: b.tenant_id, after: { concurrency } }, now);
    });
  }
  startWorker(actor, deps, id);
  return batchView(actor, deps, r, await r.migrationBatches.get(id));
}

/** Cancels a batch: rows not started are cancelled, running jobs are cancelled, secrets wiped. */
export async function cancelMigrationBatch(actor: Actor, deps: MigrationBatchDeps, id: string): Promise<MigrationBatchView> {
  authorize(actor, 'mailboxes.manage');
  const r = repos(deps.db, scopeOf(actor));
  const b = await r.migrationBatches.get(id);
  if (b.state === 'applied') throw new AppError('Conflict', 'the batch has ended; nothing to cancel');
  const now = deps.now();
  if (b.state !== 'cancelled') {
    await r.transaction(async (t) => {
      if (!(await t.migrationBatches.claim(id, ['planning', 'planned', 'applying'], { state: 'cancelled', finished_at: now, updated_at: now })))
        throw new AppError('Conflict', 'the batch changed meanwhile');
      await appendAuditIn(t, actor, { action: 'migration-batch.cancel', targetType: 'migration-batch', targetId: id, tenantId: b.tenant_id, before: { state: b.state } }, now);
    });
  }
  for (const it of await r.migrationBatches.items(id)) {
    if (it.status === 'planned') await r.migrationBatches.updateItem(id, it.row_no, { status: 'cancelled', updated_at: now });
    if (it.status === 'started' && it.migration_id) {
      await cancelMigration(actor, deps, it.migration_id).catch(() => undefined); // a job that ended meanwhile keeps its end
      const job = await getMigration(actor, deps, it.migration_id);
      await r.migrationBatches.updateItem(id, it.row_no, { status: JOB_END[job.state] ?? 'cancelled', updated_at: now });
    }
  }
  await r.migrationBatches.wipeSecrets(id, now);
  await workers.get(id);
  return batchView(actor, deps, r, await r.migrationBatches.get(id));
}

/** Resolves when the batch's worker in this process has stopped (tests, CLI). */
export async function waitForMigrationBatch(id: string): Promise<void> {
  await workers.get(id);
}
