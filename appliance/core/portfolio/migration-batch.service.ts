/**
 * Bulk IMAP migration (issue 20) as a portfolio pipeline: a CSV of source accounts (see
 * migration-batch-input.ts) → plan (every row checked: its target mailbox exists in the tenant
 * and is active, its source test-logs-in; folder counts and sizes recorded; in the background,
 * state `planning` → `planned`) → apply (one IMAP migration job per good row, at most
 * `concurrency` at once; migration-batch-apply.ts) → report. Rows whose check failed are
 * skipped, never started. Source passwords are sealed (secret-box) at once, never returned or
 * logged, handed sealed to the row's job and wiped from the batch then (or when it ends).
 * Every step is audited with the batch id. Another tenant's batch is NotFound.
 */
import { openSecret, sealSecret } from '../access/secret-box.js';
import { appendAuditIn } from '../audit/audit.js';
import { type Repos, repos } from '../../db/repos/index.js';
import type { MigrationBatchItemRow, MigrationBatchRow } from '../../db/tables/migration-batches.table.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { cleanName } from '../kernel/util.js';
import { parseAddress } from '../kernel/addresses.js';
import { checkSource } from '../migration/view.js';
import { MAX_BATCH_ROWS } from './bulk.js';
import { type MigrationBatchDeps, type MigrationBatchView, batchView, checkConcurrency, pool } from './migration-batch-view.js';
import { type MigrationRowInput, probeSource } from './migration-batch-input.js';

export { applyMigrationBatch, cancelMigrationBatch, waitForMigrationBatch } from './migration-batch-apply.js';
export type { MigrationBatchDeps, MigrationBatchView } from './migration-batch-view.js';

/** Test logins at once while planning. */
const PLAN_CONCURRENCY = 4;

/** Background plan checks of this process. */
const planners = new Map<string, Promise<void>>();

export interface CreateMigrationBatchInput {
  rows: MigrationRowInput[];
  name?: string;
  concurrency?: number;
}

/** A row checked offline: its target address and source, or why it is refused. */
function checkRow(tenantId: string, batchId: string, rowNo: number, raw: MigrationRowInput, now: number): MigrationBatchItemRow {
  const item: MigrationBatchItemRow = {
    batch_id: batchId,
    tenant_id: tenantId,
    row_no: rowNo,
    address: String(raw.address ?? '').toLowerCase(),
    mailbox_id: null,
    source_host: String(raw.sourceHost ?? ''),
    source_port: Number(raw.sourcePort) || 0,
    source_tls: String(raw.tls ?? ''),
    source_user: String(raw.user ?? ''),
    source_secret: null,
    check_state: 'pending',
    check_error: null,
    source_messages: null,
    source_bytes: null,
    source_folders: null,
    status: 'planned',
    migration_id: null,
    updated_at: now,
  };
  try {
    item.address = parseAddress(String(raw.address ?? ''), 'address').address;
    const tls = String(raw.tls ?? '').toLowerCase();
    const src = checkSource({ host: String(raw.sourceHost ?? ''), port: Number(raw.sourcePort), tls: tls as 'implicit', user: String(raw.user ?? ''), password: raw.password });
    if (src.auth !== 'password') throw invalid('a password is required', { field: 'password' });
    Object.assign(item, { source_host: src.host, source_port: src.port, source_tls: src.tls, source_user: src.user, source_secret: sealSecret(src.secret) });
  } catch (err) {
    Object.assign(item, { check_state: 'invalid', check_error: (err as Error).message, status: 'skipped' });
  }
  return item;
}

/** Records the batch (state `planning`) and starts the test logins in the background. */
export async function createMigrationBatch(actor: Actor, deps: MigrationBatchDeps, tenantId: string, input: CreateMigrationBatchInput): Promise<MigrationBatchView> {
  authorize(actor, 'mailboxes.manage');
  const r = repos(deps.db, scopeOf(actor));
  const tenant = await r.tenants.get(tenantId);
  if (!Array.isArray(input?.rows) || input.rows.length === 0) throw invalid('rows must list at least one source account', { field: 'rows' });
  if (input.rows.length > MAX_BATCH_ROWS) throw new AppError('TooLarge', `a batch holds at most ${MAX_BATCH_ROWS} rows`, { field: 'rows' });
  const concurrency = checkConcurrency(input.concurrency);
  const now = deps.now();
  const id = newId('mgb');
  const items = input.rows.map((row, i) => checkRow(tenant.id, id, i + 1, row, now));
  const seen = new Set<string>();
  const mailboxes = new Map((await r.migrationBatches.mailboxesByAddress(tenant.id, [...new Set(items.map((i) => i.address))])).map((m) => [m.address, m]));
  for (const it of items) {
    if (it.check_state !== 'pending') continue;
    const mb = mailboxes.get(it.address);
    const why = !mb ? 'no mailbox with this address in the tenant' : mb.status !== 'active' ? `the mailbox is ${mb.status}` : seen.has(it.address) ? 'the address is listed twice' : null;
    seen.add(it.address);
    if (why) Object.assign(it, { check_state: 'no-mailbox', check_error: why, status: 'skipped', source_secret: null });
    else it.mailbox_id = mb!.id;
  }
  const batch: MigrationBatchRow = {
    id,
    tenant_id: tenant.id,
    name: cleanName(input.name ?? '', 200) ?? `Migration ${new Date(now).toISOString().slice(0, 16).replace('T', ' ')}`,
    state: 'planning',
    concurrency,
    total: items.length,
    checked: items.filter((i) => i.check_state !== 'pending').length,
    error: null,
    created_by: actor.principalId,
    created_from: actor.origin?.sourceIp ?? null,
    created_at: now,
    updated_at: now,
    applied_at: null,
    finished_at: null,
  };
  await r.transaction(async (t) => {
    await t.migrationBatches.insert(batch, items);
    await appendAuditIn(
      t,
      actor,
      { action: 'migration-batch.plan', targetType: 'migration-batch', targetId: id, tenantId: tenant.id, after: { name: batch.name, rows: items.length, concurrency } },
      now,
    );
  });
  startPlanner(actor, deps, id);
  return batchView(actor, deps, r, await r.migrationBatches.get(id));
}

function startPlanner(actor: Actor, deps: MigrationBatchDeps, id: string): void {
  const work = planChecks(actor, deps, id).finally(() => planners.delete(id));
  planners.set(id, work);
}

/** The test logins of a planning batch, then `planned`. */
async function planChecks(actor: Actor, deps: MigrationBatchDeps, id: string): Promise<void> {
  const r = repos(deps.db, scopeOf(actor));
  try {
    const pending = (await r.migrationBatches.items(id)).filter((i) => i.check_state === 'pending');
    await pool(pending, PLAN_CONCURRENCY, async (it) => {
      const res = await probeSource(
        { host: it.source_host, port: it.source_port, tls: it.source_tls as 'implicit', user: it.source_user, password: it.source_secret ? openSecret(it.source_secret) : '' },
        deps.migrationSourceTls ?? {},
      );
      const now = deps.now();
      await r.migrationBatches.updateItem(id, it.row_no, {
        check_state: res.check,
        check_error: res.error,
        // sizes only of a source that let us in (a refused login measured nothing)
        source_messages: res.check === 'ok' ? res.messages : null,
        source_bytes: res.check === 'ok' ? res.bytes : null,
        source_folders: res.check === 'ok' ? JSON.stringify(res.folders) : null,
        status: res.check === 'ok' ? 'planned' : 'skipped',
        ...(res.check === 'ok' ? {} : { source_secret: null }),
        updated_at: now,
      });
      await r.migrationBatches.addChecked(id, 1, now);
    });
    await r.migrationBatches.claim(id, ['planning'], { state: 'planned', updated_at: deps.now() });
  } catch (err) {
    await r.migrationBatches.claim(id, ['planning'], { state: 'planned', error: `planning stopped: ${(err as Error).message}`, updated_at: deps.now() });
  }
}

/** Resolves when the batch's plan checks in this process have finished (tests, CLI). */
export async function waitForMigrationPlan(id: string): Promise<void> {
  await planners.get(id);
}

export async function getMigrationBatch(actor: Actor, deps: MigrationBatchDeps, id: string): Promise<MigrationBatchView> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  return batchView(actor, deps, r, await r.migrationBatches.get(id));
}

/** A tenant's migration batches, newest first (without the rows). */
export async function listMigrationBatches(actor: Actor, deps: MigrationBatchDeps, tenantId: string): Promise<Array<Omit<MigrationBatchView, 'items'>>> {
  authorize(actor, 'mailboxes.read');
  const r: Repos = repos(deps.db, scopeOf(actor));
  const tenant = await r.tenants.get(tenantId);
  const rows = await r.migrationBatches.list(tenant.id, 100);
  return Promise.all(
    rows.map(async (b) => {
      const { items: _items, ...rest } = await batchView(actor, deps, r, b);
      return rest;
    }),
  );
}
