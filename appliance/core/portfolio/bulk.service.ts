/**
 * Bulk creation as a pipeline (CONTROL-MODEL principle 7): lock scope (request id, approval
 * reference) → plan (dry run, bulk-plan.ts) → apply with safe defaults (no password: one
 * single-use, expiring setup link per mailbox, delivered to the owner's reset destination
 * through the Mailer; bulk-apply.ts, bulk-links.ts) → report → verify (routing and a delivery
 * test to a sample; bulk-verify.ts) → roll back (disable first, then the recycle bin;
 * bulk-rollback.ts). Every change is audited with the batch id.
 *
 * This file plans and reads batches, and is the one entry point of the pipeline.
 */
import { createHash } from 'node:crypto';
import { repos } from '../../db/repos/index.js';
import { appendAudit } from '../audit/audit.js';
import type { PortfolioDeps } from '../delivery/mailer.js';
import { type Actor, authorize, isPlatformActor, scopeOf } from '../kernel/authz.js';
import { AppError, invalid } from '../kernel/errors.js';
import { type BulkRowInput, MAX_BATCH_ROWS } from './bulk.js';
import { type BatchView, batchView, publicPlan, refText } from './bulk-batch.js';
import { type Plan, planRows } from './bulk-plan.js';
import { newId } from '../kernel/ids.js';

export type { ApplyMode, BatchReport, BatchState, BatchView, PublicPlan } from './bulk-batch.js';
export { type ApplyInput, applyBatch, drainBatches, waitForBatch } from './bulk-apply.js';
export { rollbackBatch } from './bulk-rollback.js';
export { type VerifyResult, verifyBatch } from './bulk-verify.js';

export interface CreateBatchInput {
  rows: BulkRowInput[];
  requestId: string;
  approvalRef?: string;
  /** Operator override of the verified-domain rule (platform actors only). */
  allowUnverifiedDomains?: boolean;
}

/** The request's refs and rows, checked; the hash that makes a replay recognisable. */
function checkInput(actor: Actor, input: CreateBatchInput): { requestId: string; approvalRef: string | null; allowUnverified: boolean; inputJson: string; inputHash: string } {
  const requestId = refText(input.requestId, 'requestId');
  if (!requestId) throw invalid('a request id is required (Idempotency-Key header or requestId)', { field: 'requestId' });
  const approvalRef = refText(input.approvalRef, 'approvalRef');
  if (!Array.isArray(input.rows) || input.rows.length === 0) throw invalid('rows must list at least one row', { field: 'rows' });
  if (input.rows.length > MAX_BATCH_ROWS) throw new AppError('TooLarge', `a batch holds at most ${MAX_BATCH_ROWS} rows`, { field: 'rows', max: MAX_BATCH_ROWS });
  const allowUnverified = input.allowUnverifiedDomains === true;
  if (allowUnverified && !isPlatformActor(actor)) throw new AppError('Forbidden', 'only an operator may override the verified-domain rule');
  const inputJson = JSON.stringify(input.rows);
  const inputHash = createHash('sha256').update(inputJson).update(`\n${allowUnverified}`).digest('hex');
  return { requestId, approvalRef, allowUnverified, inputJson, inputHash };
}

/**
 * Plans a batch and records it (state `planned`). Idempotent by request id: the same id with
 * the same rows answers the existing batch (`replay: true`); with other rows it is a Conflict.
 */
export async function createBatch(actor: Actor, deps: PortfolioDeps, tenantId: string, input: CreateBatchInput): Promise<{ batch: BatchView; replay: boolean }> {
  authorize(actor, 'mailboxes.create');
  const scope = scopeOf(actor);
  const r = repos(deps.db, scope);
  const tenant = await r.tenants.get(tenantId);
  const { requestId, approvalRef, allowUnverified, inputJson, inputHash } = checkInput(actor, input);

  const existing = await r.batches.byRequestId(tenant.id, requestId);
  if (existing) {
    if (existing.input_hash !== inputHash) throw new AppError('Conflict', `request id ${requestId} was already used for a different batch`, { batchId: existing.id });
    return { batch: await batchView(r, existing), replay: true };
  }

  const plan = await planRows(deps, r, tenant.id, input.rows, { allowUnverified });
  const id = newId('bat');
  const now = deps.now();
  try {
    await deps.db.transaction().execute(async (trx) => {
      await repos(trx, scope).batches.insert({
        id,
        tenant_id: tenant.id,
        request_id: requestId,
        approval_ref: approvalRef,
        state: 'planned',
        mode: null,
        input: inputJson,
        input_hash: inputHash,
        plan: JSON.stringify(publicPlan(plan)),
        allow_unverified: allowUnverified ? 1 : 0,
        approved_rows: null,
        total: 0,
        done: 0,
        error: null,
        created_by: actor.principalId,
        created_at: now,
        updated_at: now,
        applied_at: null,
        rolled_back_at: null,
      });
      await appendAudit(
        trx,
        actor,
        { action: 'batch.plan', targetType: 'batch', targetId: id, tenantId: tenant.id, after: { requestId, approvalRef, allowUnverified, totals: plan.totals }, approvalId: approvalRef },
        now,
      );
    });
  } catch (err) {
    const again = await r.batches.byRequestId(tenant.id, requestId);
    if (again && again.input_hash === inputHash) return { batch: await batchView(r, again), replay: true };
    throw err;
  }
  return { batch: await batchView(r, await r.batches.get(id)), replay: false };
}

export async function getBatch(actor: Actor, deps: PortfolioDeps, batchId: string): Promise<BatchView> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  return batchView(r, await r.batches.get(batchId));
}

export async function listBatches(actor: Actor, deps: PortfolioDeps, tenantId: string, limit = 50): Promise<Array<Omit<BatchView, 'plan' | 'report'> & { totals: Plan['totals'] }>> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  const tenant = await r.tenants.get(tenantId);
  const rows = await r.batches.list(tenant.id, Math.min(Math.max(limit, 1), 200));
  return Promise.all(
    rows.map(async (b) => {
      const { plan, report: _r, ...rest } = await batchView(r, b);
      return { ...rest, totals: plan.totals };
    }),
  );
}
