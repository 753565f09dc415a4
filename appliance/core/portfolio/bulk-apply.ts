/**
 * Applying a batch: re-plan against the current state with the approvals given now, claim the
 * batch, then create in the background in chunks of short transactions. Each chunk records its
 * items with the mailboxes, so a re-run skips what exists and a second apply creates nothing.
 * Every mailbox is created through the lifecycle (`planTransition('create')`: pending, with a
 * single-use, expiring setup link; no password). `all-or-nothing` refuses to start while any
 * row is refused or unapproved, compensates (rolls back) if a chunk fails midway, and sends
 * links only once every chunk committed; `valid-rows` creates what is valid and reports the rest.
 */
import type { Transaction } from 'kysely';
import { type Repos, repos } from '../../db/repos/index.js';
import type { DB } from '../../db/schema.js';
import type { Batch } from '../../db/tables/portfolio.table.js';
import { createDefaultFolders } from '../../mailstore/folders.js';
import { issueSetupLink } from '../access/setup-links.js';
import { appendAudit } from '../audit/audit.js';
import type { PortfolioDeps } from '../delivery/mailer.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { iso } from '../kernel/util.js';
import { planTransition, statusAfter } from '../mailboxes/lifecycle.js';
import type { BulkRowInput } from './bulk.js';
import { type ApplyMode, type BatchState, CHUNK, publicPlan, refText, reportOf, workers } from './bulk-batch.js';
import { type Created, deliverLinks, reissueUndelivered } from './bulk-links.js';
import { type PlanItem, planRows } from './bulk-plan.js';
import { compensate } from './bulk-rollback.js';

export interface ApplyInput {
  mode: ApplyMode;
  approvedRows?: number[];
  approvalRef?: string;
}

/** Resolves once every background apply of this process has finished (graceful shutdown). */
export async function drainBatches(): Promise<void> {
  await Promise.allSettled([...workers.values()]);
}

/** Resolves when the batch's background apply (if any) in this process has finished. */
export async function waitForBatch(batchId: string): Promise<void> {
  await workers.get(batchId);
}

/**
 * Starts (or resumes) applying a batch; answers at once with the state. Applying a finished
 * batch again creates nothing; it re-issues and sends the links whose delivery failed.
 */
export async function applyBatch(actor: Actor, deps: PortfolioDeps, batchId: string, input: ApplyInput): Promise<{ id: string; state: BatchState }> {
  authorize(actor, 'mailboxes.create');
  const scope = scopeOf(actor);
  const r = repos(deps.db, scope);
  const b = await r.batches.get(batchId);
  if (b.state === 'applying' && workers.has(b.id)) return { id: b.id, state: 'applying' };
  if (b.state === 'applied') {
    // Nothing is created again; links whose delivery failed are re-issued and sent.
    await reissueUndelivered(actor, deps, b.id, b.tenant_id);
    return { id: b.id, state: 'applied' };
  }
  if (b.state === 'rolling-back' || b.state === 'rolled-back') throw new AppError('Conflict', `batch ${b.id} was rolled back; plan a new batch`);
  if (input.mode !== 'all-or-nothing' && input.mode !== 'valid-rows') throw invalid('mode must be all-or-nothing or valid-rows', { field: 'mode' });
  const approvalRef = refText(input.approvalRef, 'approvalRef') ?? b.approval_ref;
  const approved = new Set(input.approvedRows ?? (b.approved_rows ? (JSON.parse(b.approved_rows) as number[]) : []));
  if (approved.size && !approvalRef) throw invalid('approving role accounts needs an approvalRef (who approved, e.g. a ticket)', { field: 'approvalRef' });
  const work = await replan(deps, r, b, input.mode, approved);

  const now = deps.now();
  const claimed = await deps.db.transaction().execute(async (trx) => {
    const set = {
      state: 'applying' as const,
      mode: input.mode,
      approval_ref: approvalRef,
      approved_rows: JSON.stringify([...approved]),
      total: work.done.size + work.todo.length,
      done: work.done.size,
      plan: work.plan,
      error: null,
      updated_at: now,
    };
    if (!(await repos(trx, scope).batches.claim(b.id, b.state, set))) return false;
    await appendAudit(
      trx,
      actor,
      {
        action: 'batch.apply',
        targetType: 'batch',
        targetId: b.id,
        tenantId: b.tenant_id,
        before: { state: b.state },
        after: { state: 'applying', mode: input.mode, rows: work.todo.length, approvedRows: [...approved], refused: work.refused },
        approvalId: approvalRef,
      },
      now,
    );
    return true;
  });
  if (!claimed) return { id: b.id, state: (await r.batches.get(b.id)).state as BatchState };
  const worker = runApply(actor, deps, b.id, b.tenant_id, input.mode, work.todo, approvalRef)
    .catch(async (err: unknown) => {
      await r.batches.update(b.id, { state: 'failed', error: String((err as Error)?.message ?? err).slice(0, 500), updated_at: deps.now() }).catch(() => undefined);
    })
    .finally(() => workers.delete(b.id));
  workers.set(b.id, worker);
  return { id: b.id, state: 'applying' };
}

/** Plans the batch again against the current state with the approvals given now; refuses all-or-nothing while rows are refused or unapproved. */
async function replan(deps: PortfolioDeps, r: Repos, b: Batch, mode: ApplyMode, approved: Set<number>): Promise<{ todo: PlanItem[]; done: Set<number>; refused: number[]; plan: string }> {
  const rows = JSON.parse(b.input) as BulkRowInput[];
  const plan = await planRows(deps, r, b.tenant_id, rows, { allowUnverified: Number(b.allow_unverified) === 1, approvedRows: approved });
  const notApprovable = [...approved].filter((n) => !plan.create.some((c) => c.row === n && c.isRole));
  if (notApprovable.length) throw invalid(`approvedRows lists rows that are not role accounts awaiting approval: ${notApprovable.join(', ')}`, { field: 'approvedRows', rows: notApprovable });
  const done = await r.batches.rowNumbers(b.id);
  // Rows this batch created already are reported by the re-plan as taken: they are done, not refused.
  const refused = plan.refused.filter((x) => !done.has(x.row));
  const todo = plan.create.filter((c) => !done.has(c.row));
  const planJson = JSON.stringify(publicPlan(plan));
  if (mode === 'all-or-nothing' && done.size === 0 && (refused.length || plan.needsApproval.length)) {
    await r.batches.update(b.id, { plan: planJson, updated_at: deps.now() });
    throw new AppError('Conflict', `all-or-nothing: ${refused.length} row(s) refused and ${plan.needsApproval.length} awaiting approval; fix them or apply valid-rows`, {
      refused: refused.map((x) => x.row),
      needsApproval: plan.needsApproval.map((n) => n.row),
    });
  }
  return { todo, done, refused: refused.map((x) => x.row), plan: planJson };
}

async function runApply(actor: Actor, deps: PortfolioDeps, batchId: string, tenantId: string, mode: ApplyMode, todo: PlanItem[], approvalRef: string | null): Promise<void> {
  const scope = scopeOf(actor);
  await reissueUndelivered(actor, deps, batchId, tenantId);
  const held: Created[] = [];
  let done = await repos(deps.db, scope).batches.doneCount(batchId);
  let failed = 0;
  for (let i = 0; i < todo.length; i += CHUNK) {
    const chunk = todo.slice(i, i + CHUNK);
    let created: Created[];
    try {
      created = await deps.db.transaction().execute(async (trx) => {
        const now = deps.now();
        const out: Created[] = [];
        for (const item of chunk) out.push(await insertRow(trx, actor, deps, batchId, tenantId, item, now));
        await repos(trx, scope).batches.update(batchId, { done: done + chunk.length, updated_at: now });
        return out;
      });
    } catch (err) {
      if (mode === 'all-or-nothing') {
        await compensate(actor, deps, batchId, tenantId, `all-or-nothing: row ${chunk[0]!.row}..${chunk[chunk.length - 1]!.row} failed: ${(err as Error).message}`);
        throw new AppError('Conflict', `a chunk failed (${(err as Error).message}); the batch was rolled back (all-or-nothing)`);
      }
      const one = await rowByRow(actor, deps, batchId, tenantId, chunk);
      created = one.created;
      failed += one.failed;
    }
    done += chunk.length;
    if (mode === 'valid-rows') await deliverLinks(actor, deps, batchId, created);
    else held.push(...created);
  }
  if (mode === 'all-or-nothing') await deliverLinks(actor, deps, batchId, held);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const t = repos(trx, scope);
    await t.batches.update(batchId, { state: 'applied', applied_at: now, updated_at: now });
    const report = await reportOf(t, batchId);
    await appendAudit(
      trx,
      actor,
      {
        action: 'batch.applied',
        targetType: 'batch',
        targetId: batchId,
        tenantId,
        before: { state: 'applying' },
        after: { state: 'applied', mode, failedRows: failed, report, delivery: deps.mailer ? 'email' : 'pending: no mailer' },
        approvalId: approvalRef,
      },
      now,
    );
  });
}

/** valid-rows after a chunk failed: one row per transaction for this chunk, recording the rows that fail. */
async function rowByRow(actor: Actor, deps: PortfolioDeps, batchId: string, tenantId: string, chunk: PlanItem[]): Promise<{ created: Created[]; failed: number }> {
  const scope = scopeOf(actor);
  const created: Created[] = [];
  let failed = 0;
  for (const item of chunk) {
    try {
      created.push(
        await deps.db.transaction().execute(async (trx) => {
          const now = deps.now();
          const c = await insertRow(trx, actor, deps, batchId, tenantId, item, now);
          await repos(trx, scope).batches.addDone(batchId, 1, now);
          return c;
        }),
      );
    } catch (rowErr) {
      failed++;
      const batches = repos(deps.db, scope).batches;
      await batches.insertFailedItem({
        batch_id: batchId,
        row_no: item.row,
        mailbox_id: null,
        address: item.address,
        status: 'failed',
        error: String((rowErr as Error).message).slice(0, 300),
        alias_ids: null,
        setup_link_id: null,
        destination: null,
        delivered_at: null,
        delivery_error: null,
        created_at: deps.now(),
      });
      await batches.addDone(batchId, 1);
    }
  }
  return { created, failed };
}

/** Creates one row's mailbox (pending, default folders, a setup link) and aliases, records the item, audits. */
async function insertRow(trx: Transaction<DB>, actor: Actor, deps: PortfolioDeps, batchId: string, tenantId: string, item: PlanItem, now: number): Promise<Created> {
  const batches = repos(trx, scopeOf(actor)).batches;
  const id = newId('mbx');
  const status = statusAfter(planTransition('create', null));
  await batches.insertMailbox({
    id,
    tenant_id: tenantId,
    domain_id: item.domainId,
    local_part: item.localPart,
    address: item.address,
    display_name: item.displayName,
    status,
    quota_bytes: item.quotaBytes,
    password_hash: null,
    owner_name: item.owner.name,
    owner_email: item.owner.email,
    business_owner_name: item.businessOwner?.name ?? null,
    business_owner_email: item.businessOwner?.email ?? null,
    reset_destination: item.resetDestination,
    is_role: item.isRole ? 1 : 0,
    created_at: now,
    updated_at: now,
  });
  await createDefaultFolders(trx, id, now);
  const link = await issueSetupLink(trx, actor, deps, { purpose: 'mailbox-setup', mailboxId: id, tenantId, destination: item.resetDestination }, now);
  const aliasIds: string[] = [];
  for (const address of item.aliases) {
    const aid = newId('als');
    aliasIds.push(aid);
    await batches.insertAlias({
      id: aid,
      tenant_id: tenantId,
      domain_id: item.domainId,
      local_part: address.slice(0, address.lastIndexOf('@')),
      address,
      targets: JSON.stringify([item.address]),
      created_by: actor.principalId,
      created_at: now,
      updated_at: now,
    });
  }
  await batches.insertItem({
    batch_id: batchId,
    row_no: item.row,
    mailbox_id: id,
    address: item.address,
    status: 'created',
    error: null,
    alias_ids: JSON.stringify(aliasIds),
    setup_link_id: link.id,
    destination: item.resetDestination,
    delivered_at: null,
    delivery_error: null,
    created_at: now,
  });
  const { owner, businessOwner, resetDestination, aliases, displayName, quotaBytes, isRole } = item;
  const after = {
    address: item.address,
    status,
    displayName,
    quotaBytes,
    isRole,
    owner,
    businessOwner,
    resetDestination,
    aliases,
    credentialDelivery: 'link-by-email',
    setupLinkId: link.id,
    setupLinkExpiresAt: iso(link.expiresAt),
    batchId,
    row: item.row,
  };
  await appendAudit(trx, actor, { action: 'mailbox.create', targetType: 'mailbox', targetId: id, tenantId, after }, now);
  return { item, mailboxId: id, link };
}
