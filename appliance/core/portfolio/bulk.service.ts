/**
 * Bulk creation as a pipeline (CONTROL-MODEL principle 7): lock scope (request id, approval
 * reference) → plan (dry run, bulk-plan.ts) → apply with safe defaults (no password: one
 * single-use, expiring setup link per mailbox, delivered to the owner's reset destination
 * through the Mailer) → report → verify (routing and a delivery test to a sample) → roll back
 * (disable first, then the recycle bin). Every change is audited with the batch id.
 *
 * Apply runs in the background in chunks of short transactions (SQLite has one writer); each
 * chunk records its items with the mailboxes, so a re-run skips what exists and a second apply
 * creates nothing. `all-or-nothing` refuses to start while any row is refused or unapproved,
 * and compensates (rollback) if a chunk fails midway; links go out only once every chunk
 * committed. `valid-rows` creates what is valid and reports the rest.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Batch } from '../../db/tables/portfolio.table.js';
import { createDefaultFolders } from '../../mailstore/folders.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, isPlatformActor } from '../kernel/authz.js';
import { type BulkRowInput, MAX_BATCH_ROWS } from './bulk.js';
import { type Plan, type PlanItem, planRows } from './bulk-plan.js';
import { recycleBinDays } from '../deps.js';
import { AppError, invalid, notFound } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { type PortfolioDeps, setupLinkMessage, systemSender } from '../delivery/mailer.js';
import { scopedRepo, scopeOf } from '../../db/repo.js';
import { RecipientRouter } from '../delivery/routing.js';
import { issueSetupLink, setupUrl } from '../access/setup-links.js';
import { iso } from '../kernel/util.js';

export type ApplyMode = 'all-or-nothing' | 'valid-rows';
export type BatchState = 'planned' | 'applying' | 'applied' | 'failed' | 'rolling-back' | 'rolled-back';

export interface BatchReport {
  created: number;
  failed: number;
  linksDelivered: number;
  deliveryFailed: number;
  linksUsed: number;
  /** Created mailboxes whose owner has not used the link yet. */
  pending: number;
  rolledBack: number;
}

export interface BatchView {
  id: string;
  tenantId: string;
  requestId: string;
  approvalRef: string | null;
  state: BatchState;
  mode: ApplyMode | null;
  progress: { total: number; done: number; percent: number };
  plan: PublicPlan;
  report: BatchReport;
  error: string | null;
  createdAt: string;
  appliedAt: string | null;
  rolledBackAt: string | null;
}

/** The plan as shown to callers. */
export interface PublicPlan {
  create: Array<{ row: number; address: string; owner: string; resetDestination: string; quotaBytes: number; isRole: boolean; aliases: string[] }>;
  refused: Plan['refused'];
  needsApproval: Array<{ row: number; address: string; reasons: Plan['needsApproval'][number]['reasons'] }>;
  totals: Plan['totals'];
}

const CHUNK = 250;
const DELIVERY_CONCURRENCY = 8;
const MAX_REF = 200;

/** Workers of batches being applied in this process. */
const workers = new Map<string, Promise<void>>();

function publicPlan(p: Plan): PublicPlan {
  return {
    create: p.create.map((c) => ({ row: c.row, address: c.address, owner: c.owner.email, resetDestination: c.resetDestination, quotaBytes: c.quotaBytes, isRole: c.isRole, aliases: c.aliases })),
    refused: p.refused,
    needsApproval: p.needsApproval.map((n) => ({ row: n.row, address: n.address, reasons: n.reasons })),
    totals: p.totals,
  };
}

function cleanRef(raw: string | undefined | null, field: string): string | null {
  if (raw === undefined || raw === null) return null;
  const s = raw.trim();
  // eslint-disable-next-line no-control-regex
  if (!s.length || s.length > MAX_REF || /[\u0000-\u001f\u007f]/.test(s)) throw invalid(`${field} must be 1 to ${MAX_REF} characters of text`, { field });
  return s;
}

async function batchRow(deps: PortfolioDeps, actor: Actor, batchId: string): Promise<Batch> {
  const scope = scopeOf(actor);
  let q = deps.db.selectFrom('batches').selectAll().where('id', '=', batchId);
  if (scope.tenantId !== null) q = q.where('tenant_id', '=', scope.tenantId);
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('batch');
  return row;
}

async function reportOf(deps: PortfolioDeps, batchId: string): Promise<BatchReport> {
  const rows = await deps.db
    .selectFrom('batch_items')
    .leftJoin('setup_tokens', 'setup_tokens.id', 'batch_items.setup_link_id')
    .select(['batch_items.status', 'batch_items.delivered_at', 'batch_items.delivery_error', 'setup_tokens.used_at'])
    .where('batch_items.batch_id', '=', batchId)
    .execute();
  const r: BatchReport = { created: 0, failed: 0, linksDelivered: 0, deliveryFailed: 0, linksUsed: 0, pending: 0, rolledBack: 0 };
  for (const i of rows) {
    if (i.status === 'failed') {
      r.failed++;
      continue;
    }
    r.created++;
    if (i.status === 'rolled-back') r.rolledBack++;
    if (i.delivered_at !== null) r.linksDelivered++;
    else if (i.delivery_error !== null) r.deliveryFailed++;
    if (i.used_at !== null) r.linksUsed++;
    else if (i.status === 'created') r.pending++;
  }
  return r;
}

async function batchView(deps: PortfolioDeps, b: Batch): Promise<BatchView> {
  const total = Number(b.total);
  const done = Number(b.done);
  return {
    id: b.id,
    tenantId: b.tenant_id,
    requestId: b.request_id,
    approvalRef: b.approval_ref,
    state: b.state as BatchState,
    mode: (b.mode as ApplyMode | null) ?? null,
    progress: { total, done, percent: total ? Math.floor((done * 100) / total) : b.state === 'applied' ? 100 : 0 },
    plan: JSON.parse(b.plan) as PublicPlan,
    report: await reportOf(deps, b.id),
    error: b.error,
    createdAt: iso(b.created_at)!,
    appliedAt: iso(b.applied_at),
    rolledBackAt: iso(b.rolled_back_at),
  };
}

export interface CreateBatchInput {
  rows: BulkRowInput[];
  requestId: string;
  approvalRef?: string;
  /** Operator override of the verified-domain rule (platform actors only). */
  allowUnverifiedDomains?: boolean;
}

/**
 * Plans a batch and records it (state `planned`). Idempotent by request id: the same id with
 * the same rows answers the existing batch (`replay: true`); with other rows it is a Conflict.
 */
export async function createBatch(actor: Actor, deps: PortfolioDeps, tenantId: string, input: CreateBatchInput): Promise<{ batch: BatchView; replay: boolean }> {
  authorize(actor, 'mailboxes.create');
  const tenant = await scopedRepo(deps.db, actor).tenant(tenantId);
  const requestId = cleanRef(input.requestId, 'requestId');
  if (!requestId) throw invalid('a request id is required (Idempotency-Key header or requestId)', { field: 'requestId' });
  const approvalRef = cleanRef(input.approvalRef, 'approvalRef');
  if (!Array.isArray(input.rows) || input.rows.length === 0) throw invalid('rows must list at least one row', { field: 'rows' });
  if (input.rows.length > MAX_BATCH_ROWS) throw new AppError('TooLarge', `a batch holds at most ${MAX_BATCH_ROWS} rows`, { field: 'rows', max: MAX_BATCH_ROWS });
  const allowUnverified = input.allowUnverifiedDomains === true;
  if (allowUnverified && !isPlatformActor(actor)) throw new AppError('Forbidden', 'only an operator may override the verified-domain rule');
  const inputJson = JSON.stringify(input.rows);
  const inputHash = createHash('sha256').update(inputJson).update(`\n${allowUnverified}`).digest('hex');

  const existing = await deps.db.selectFrom('batches').selectAll().where('tenant_id', '=', tenant.id).where('request_id', '=', requestId).executeTakeFirst();
  if (existing) {
    if (existing.input_hash !== inputHash) throw new AppError('Conflict', `request id ${requestId} was already used for a different batch`, { batchId: existing.id });
    return { batch: await batchView(deps, existing), replay: true };
  }

  const plan = await planRows(deps, tenant.id, input.rows, { allowUnverified });
  const pub = publicPlan(plan);
  const id = `bat_${randomBytes(12).toString('hex')}`;
  const now = deps.now();
  try {
    await deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('batches')
        .values({
          id,
          tenant_id: tenant.id,
          request_id: requestId,
          approval_ref: approvalRef,
          state: 'planned',
          mode: null,
          input: inputJson,
          input_hash: inputHash,
          plan: JSON.stringify(pub),
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
        })
        .execute();
      await appendAudit(
        trx,
        actor,
        { action: 'batch.plan', targetType: 'batch', targetId: id, tenantId: tenant.id, after: { requestId, approvalRef, allowUnverified, totals: plan.totals }, approvalId: approvalRef },
        now,
      );
    });
  } catch (err) {
    const again = await deps.db.selectFrom('batches').selectAll().where('tenant_id', '=', tenant.id).where('request_id', '=', requestId).executeTakeFirst();
    if (again && again.input_hash === inputHash) return { batch: await batchView(deps, again), replay: true };
    throw err;
  }
  return { batch: await batchView(deps, await batchRow(deps, actor, id)), replay: false };
}

export async function getBatch(actor: Actor, deps: PortfolioDeps, batchId: string): Promise<BatchView> {
  authorize(actor, 'mailboxes.read');
  return batchView(deps, await batchRow(deps, actor, batchId));
}

export async function listBatches(actor: Actor, deps: PortfolioDeps, tenantId: string, limit = 50): Promise<Array<Omit<BatchView, 'plan' | 'report'> & { totals: Plan['totals'] }>> {
  authorize(actor, 'mailboxes.read');
  const tenant = await scopedRepo(deps.db, actor).tenant(tenantId);
  const rows = await deps.db.selectFrom('batches').selectAll().where('tenant_id', '=', tenant.id).orderBy('created_at', 'desc').limit(Math.min(Math.max(limit, 1), 200)).execute();
  return Promise.all(
    rows.map(async (b) => {
      const { plan, report: _r, ...rest } = await batchView(deps, b);
      return { ...rest, totals: plan.totals };
    }),
  );
}

// ---- apply -------------------------------------------------------------------------------

export interface ApplyInput {
  mode: ApplyMode;
  approvedRows?: number[];
  approvalRef?: string;
}

/**
 * Starts (or resumes) applying a batch; answers at once with the state. Applying a finished
 * batch again creates nothing; it re-issues and sends the links whose delivery failed.
 */
export async function applyBatch(actor: Actor, deps: PortfolioDeps, batchId: string, input: ApplyInput): Promise<{ id: string; state: BatchState }> {
  authorize(actor, 'mailboxes.create');
  const b = await batchRow(deps, actor, batchId);
  if (b.state === 'applying' && workers.has(b.id)) return { id: b.id, state: 'applying' };
  if (b.state === 'applied') {
    // Nothing is created again; links whose delivery failed are re-issued and sent.
    await reissueUndelivered(actor, deps, b.id, b.tenant_id);
    return { id: b.id, state: 'applied' };
  }
  if (b.state === 'rolling-back' || b.state === 'rolled-back') throw new AppError('Conflict', `batch ${b.id} was rolled back; plan a new batch`);
  if (input.mode !== 'all-or-nothing' && input.mode !== 'valid-rows') throw invalid('mode must be all-or-nothing or valid-rows', { field: 'mode' });
  const approvalRef = cleanRef(input.approvalRef, 'approvalRef') ?? b.approval_ref;
  const approved = new Set(input.approvedRows ?? (b.approved_rows ? (JSON.parse(b.approved_rows) as number[]) : []));
  if (approved.size && !approvalRef) throw invalid('approving role accounts needs an approvalRef (who approved, e.g. a ticket)', { field: 'approvalRef' });

  // Plan again against the current state, with the approvals given now.
  const rows = JSON.parse(b.input) as BulkRowInput[];
  const plan = await planRows(deps, b.tenant_id, rows, { allowUnverified: Number(b.allow_unverified) === 1, approvedRows: approved });
  const notApprovable = [...approved].filter((r) => !plan.create.some((c) => c.row === r && c.isRole));
  if (notApprovable.length) throw invalid(`approvedRows lists rows that are not role accounts awaiting approval: ${notApprovable.join(', ')}`, { field: 'approvedRows', rows: notApprovable });
  const done = new Set((await deps.db.selectFrom('batch_items').select('row_no').where('batch_id', '=', b.id).execute()).map((r) => Number(r.row_no)));
  // Rows this batch created already are reported by the re-plan as taken: they are done, not refused.
  const refused = plan.refused.filter((r) => !done.has(r.row));
  const todo = plan.create.filter((c) => !done.has(c.row));
  if (input.mode === 'all-or-nothing' && done.size === 0 && (refused.length || plan.needsApproval.length)) {
    await deps.db.updateTable('batches').set({ plan: JSON.stringify(publicPlan(plan)), updated_at: deps.now() }).where('id', '=', b.id).execute();
    throw new AppError('Conflict', `all-or-nothing: ${refused.length} row(s) refused and ${plan.needsApproval.length} awaiting approval; fix them or apply valid-rows`, {
      refused: refused.map((r) => r.row),
      needsApproval: plan.needsApproval.map((n) => n.row),
    });
  }

  const now = deps.now();
  const claimed = await deps.db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('batches')
      .set({ state: 'applying', mode: input.mode, approval_ref: approvalRef, approved_rows: JSON.stringify([...approved]), total: done.size + todo.length, done: done.size, plan: JSON.stringify(publicPlan(plan)), error: null, updated_at: now })
      .where('id', '=', b.id)
      .where('state', '=', b.state)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    await appendAudit(
      trx,
      actor,
      { action: 'batch.apply', targetType: 'batch', targetId: b.id, tenantId: b.tenant_id, before: { state: b.state }, after: { state: 'applying', mode: input.mode, rows: todo.length, approvedRows: [...approved], refused: refused.map((r) => r.row) }, approvalId: approvalRef },
      now,
    );
    return true;
  });
  if (!claimed) {
    const again = await batchRow(deps, actor, b.id);
    return { id: b.id, state: again.state as BatchState };
  }
  const worker = runApply(actor, deps, b.id, b.tenant_id, input.mode, todo, approvalRef)
    .catch(async (err: unknown) => {
      await deps.db.updateTable('batches').set({ state: 'failed', error: String((err as Error)?.message ?? err).slice(0, 500), updated_at: deps.now() }).where('id', '=', b.id).execute().catch(() => undefined);
    })
    .finally(() => workers.delete(b.id));
  workers.set(b.id, worker);
  return { id: b.id, state: 'applying' };
}

/** Resolves once every background apply of this process has finished (graceful shutdown). */
export async function drainBatches(): Promise<void> {
  await Promise.allSettled([...workers.values()]);
}

/** Resolves when the batch's background apply (if any) in this process has finished. */
export async function waitForBatch(batchId: string): Promise<void> {
  await workers.get(batchId);
}

interface Created {
  item: PlanItem;
  mailboxId: string;
  link: { id: string; token: string; expiresAt: number };
}

async function insertRow(trx: Transaction<DB>, actor: Actor, deps: PortfolioDeps, batchId: string, tenantId: string, item: PlanItem, now: number): Promise<Created> {
  const id = newId('mbx');
  await trx
    .insertInto('mailboxes')
    .values({
      id,
      tenant_id: tenantId,
      domain_id: item.domainId,
      local_part: item.localPart,
      address: item.address,
      display_name: item.displayName,
      status: 'pending',
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
    })
    .execute();
  await createDefaultFolders(trx, id, now);
  const link = await issueSetupLink(trx, actor, deps, { purpose: 'mailbox-setup', mailboxId: id, tenantId, destination: item.resetDestination }, now);
  const aliasIds: string[] = [];
  for (const address of item.aliases) {
    const aid = newId('als');
    aliasIds.push(aid);
    await trx
      .insertInto('aliases')
      .values({ id: aid, tenant_id: tenantId, domain_id: item.domainId, local_part: address.slice(0, address.lastIndexOf('@')), address, targets: JSON.stringify([item.address]), created_by: actor.principalId, created_at: now, updated_at: now })
      .execute();
  }
  await trx
    .insertInto('batch_items')
    .values({ batch_id: batchId, row_no: item.row, mailbox_id: id, address: item.address, status: 'created', error: null, alias_ids: JSON.stringify(aliasIds), setup_link_id: link.id, destination: item.resetDestination, delivered_at: null, delivery_error: null, created_at: now })
    .execute();
  await appendAudit(
    trx,
    actor,
    {
      action: 'mailbox.create',
      targetType: 'mailbox',
      targetId: id,
      tenantId,
      after: {
        address: item.address,
        status: 'pending',
        displayName: item.displayName,
        quotaBytes: item.quotaBytes,
        isRole: item.isRole,
        owner: item.owner,
        businessOwner: item.businessOwner,
        resetDestination: item.resetDestination,
        aliases: item.aliases,
        credentialDelivery: 'link-by-email',
        setupLinkId: link.id,
        setupLinkExpiresAt: iso(link.expiresAt),
        batchId,
        row: item.row,
      },
    },
    now,
  );
  return { item, mailboxId: id, link };
}

/**
 * Items created by an earlier, interrupted run whose link never went out: the secret of their
 * link is gone (only its hash is stored), so each gets a fresh link (the old one expires) and
 * is delivered now.
 */
async function reissueUndelivered(actor: Actor, deps: PortfolioDeps, batchId: string, tenantId: string): Promise<void> {
  if (!deps.mailer) return;
  const stale = await deps.db
    .selectFrom('batch_items')
    .innerJoin('mailboxes', 'mailboxes.id', 'batch_items.mailbox_id')
    .leftJoin('setup_tokens', 'setup_tokens.id', 'batch_items.setup_link_id')
    .select(['batch_items.row_no', 'batch_items.setup_link_id', 'mailboxes.id as mailbox_id', 'mailboxes.address', 'mailboxes.owner_name', 'mailboxes.reset_destination', 'mailboxes.status', 'setup_tokens.used_at'])
    .where('batch_items.batch_id', '=', batchId)
    .where('batch_items.status', '=', 'created')
    .where('batch_items.delivered_at', 'is', null)
    .execute();
  const todo = stale.filter((s) => s.used_at === null && s.status === 'pending');
  for (let i = 0; i < todo.length; i += CHUNK) {
    const chunk = todo.slice(i, i + CHUNK);
    const now = deps.now();
    const created = await deps.db.transaction().execute(async (trx) => {
      const out: Created[] = [];
      for (const s of chunk) {
        if (s.setup_link_id) await trx.updateTable('setup_tokens').set({ expires_at: now }).where('id', '=', s.setup_link_id).where('used_at', 'is', null).execute();
        const link = await issueSetupLink(trx, actor, deps, { purpose: 'mailbox-setup', mailboxId: s.mailbox_id, tenantId, destination: s.reset_destination }, now);
        await trx.updateTable('batch_items').set({ setup_link_id: link.id, delivery_error: null }).where('batch_id', '=', batchId).where('row_no', '=', s.row_no).execute();
        await appendAudit(trx, actor, { action: 'mailbox.setup_link.reissue', targetType: 'mailbox', targetId: s.mailbox_id, tenantId, after: { setupLinkId: link.id, previousLinkId: s.setup_link_id, batchId, reason: 'undelivered' } }, now);
        const item = { row: Number(s.row_no), address: s.address, owner: { name: s.owner_name, email: '' }, resetDestination: s.reset_destination } as PlanItem;
        out.push({ item, mailboxId: s.mailbox_id, link });
      }
      return out;
    });
    await deliverLinks(deps, batchId, created);
  }
}

async function runApply(actor: Actor, deps: PortfolioDeps, batchId: string, tenantId: string, mode: ApplyMode, todo: PlanItem[], approvalRef: string | null): Promise<void> {
  await reissueUndelivered(actor, deps, batchId, tenantId);
  const held: Created[] = [];
  let done = Number((await deps.db.selectFrom('batches').select('done').where('id', '=', batchId).executeTakeFirstOrThrow()).done);
  let failed = 0;
  for (let i = 0; i < todo.length; i += CHUNK) {
    const chunk = todo.slice(i, i + CHUNK);
    let created: Created[] = [];
    try {
      created = await deps.db.transaction().execute(async (trx) => {
        const now = deps.now();
        const out: Created[] = [];
        for (const item of chunk) out.push(await insertRow(trx, actor, deps, batchId, tenantId, item, now));
        await trx.updateTable('batches').set({ done: done + chunk.length, updated_at: now }).where('id', '=', batchId).execute();
        return out;
      });
    } catch (err) {
      if (mode === 'all-or-nothing') {
        await compensate(actor, deps, batchId, tenantId, `all-or-nothing: row ${chunk[0]!.row}..${chunk[chunk.length - 1]!.row} failed: ${(err as Error).message}`);
        throw new AppError('Conflict', `a chunk failed (${(err as Error).message}); the batch was rolled back (all-or-nothing)`);
      }
      // valid-rows: one row per transaction for this chunk, recording the rows that fail.
      for (const item of chunk) {
        try {
          created.push(
            await deps.db.transaction().execute(async (trx) => {
              const now = deps.now();
              const c = await insertRow(trx, actor, deps, batchId, tenantId, item, now);
              await trx.updateTable('batches').set((eb) => ({ done: eb('done', '+', 1), updated_at: now })).where('id', '=', batchId).execute();
              return c;
            }),
          );
        } catch (rowErr) {
          failed++;
          await deps.db
            .insertInto('batch_items')
            .values({ batch_id: batchId, row_no: item.row, mailbox_id: null, address: item.address, status: 'failed', error: String((rowErr as Error).message).slice(0, 300), alias_ids: null, setup_link_id: null, destination: null, delivered_at: null, delivery_error: null, created_at: deps.now() })
            .onConflict((oc) => oc.columns(['batch_id', 'row_no']).doNothing())
            .execute();
          await deps.db.updateTable('batches').set((eb) => ({ done: eb('done', '+', 1) })).where('id', '=', batchId).execute();
        }
      }
    }
    done += chunk.length;
    if (mode === 'valid-rows') await deliverLinks(deps, batchId, created);
    else held.push(...created);
  }
  if (mode === 'all-or-nothing') await deliverLinks(deps, batchId, held);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('batches').set({ state: 'applied', applied_at: now, updated_at: now }).where('id', '=', batchId).execute();
    const report = await reportOf({ ...deps, db: trx }, batchId);
    await appendAudit(trx, actor, { action: 'batch.applied', targetType: 'batch', targetId: batchId, tenantId, before: { state: 'applying' }, after: { state: 'applied', mode, failedRows: failed, report, delivery: deps.mailer ? 'email' : 'pending: no mailer' }, approvalId: approvalRef }, now);
  });
}

/** Sends each new mailbox's setup link to its reset destination; records delivery per item. Links are never returned to the caller. */
async function deliverLinks(deps: PortfolioDeps, batchId: string, created: Created[]): Promise<void> {
  if (!created.length || !deps.mailer) return;
  const mailer = deps.mailer;
  const from = systemSender(deps);
  const results: Array<{ row: number; ok: boolean; error?: string }> = [];
  let next = 0;
  const work = async () => {
    while (next < created.length) {
      const c = created[next++]!;
      const msg = setupLinkMessage({ address: c.item.address, ownerName: c.item.owner.name, url: setupUrl(deps, c.link.token), expiresAt: iso(c.link.expiresAt)! });
      try {
        await mailer.send(from, c.item.resetDestination, msg.subject, msg.text);
        results.push({ row: c.item.row, ok: true });
      } catch (err) {
        results.push({ row: c.item.row, ok: false, error: String((err as Error)?.message ?? err).slice(0, 300) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELIVERY_CONCURRENCY, created.length) }, work));
  const now = deps.now();
  const ok = results.filter((r) => r.ok).map((r) => r.row);
  await deps.db.transaction().execute(async (trx) => {
    for (let i = 0; i < ok.length; i += 500) {
      await trx.updateTable('batch_items').set({ delivered_at: now, delivery_error: null }).where('batch_id', '=', batchId).where('row_no', 'in', ok.slice(i, i + 500)).execute();
    }
    for (const r of results.filter((x) => !x.ok)) {
      await trx.updateTable('batch_items').set({ delivery_error: r.error ?? 'failed' }).where('batch_id', '=', batchId).where('row_no', '=', r.row).execute();
    }
  });
}

// ---- rollback ----------------------------------------------------------------------------

async function itemsToRollBack(deps: PortfolioDeps, batchId: string) {
  return deps.db.selectFrom('batch_items').select(['row_no', 'mailbox_id', 'alias_ids', 'address']).where('batch_id', '=', batchId).where('status', '=', 'created').where('mailbox_id', 'is not', null).orderBy('row_no').execute();
}

/**
 * Disable first (suspended: no login, no delivery; unused setup links expire; sessions
 * revoked), then into the recycle bin (restorable for the configured days); the batch's aliases
 * go too. One audit event per mailbox and step, each naming the batch.
 */
async function compensate(actor: Actor, deps: PortfolioDeps, batchId: string, tenantId: string, reason: string): Promise<number> {
  const items = await itemsToRollBack(deps, batchId);
  const revoked: string[] = [];
  for (let i = 0; i < items.length; i += CHUNK) {
    const chunk = items.slice(i, i + CHUNK);
    const now = deps.now();
    await deps.db.transaction().execute(async (trx) => {
      const ids = chunk.map((c) => c.mailbox_id!);
      const live = await trx.selectFrom('mailboxes').select(['id', 'status']).where('id', 'in', ids).where('tenant_id', '=', tenantId).where('status', 'in', ['pending', 'active']).execute();
      if (live.length) {
        await trx
          .updateTable('mailboxes')
          .set((eb) => ({ status: 'suspended', credential_version: eb('credential_version', '+', 1), updated_at: now }))
          .where('id', 'in', live.map((l) => l.id))
          .execute();
      }
      await trx.updateTable('setup_tokens').set({ expires_at: now }).where('mailbox_id', 'in', ids).where('used_at', 'is', null).where('expires_at', '>', now).execute();
      for (const l of live) {
        await appendAudit(trx, actor, { action: 'mailbox.suspend', targetType: 'mailbox', targetId: l.id, tenantId, before: { status: l.status }, after: { status: 'suspended', sessionsRevoked: true, setupLinksExpired: true, batchId }, reason }, now);
        revoked.push(l.id);
      }
    });
  }
  for (const id of revoked) deps.revoker.notifyRevoked(id, 'batch rolled back');

  const purgeAfter = deps.now() + recycleBinDays(deps) * 86_400_000;
  let deleted = 0;
  for (let i = 0; i < items.length; i += CHUNK) {
    const chunk = items.slice(i, i + CHUNK);
    const now = deps.now();
    await deps.db.transaction().execute(async (trx) => {
      const ids = chunk.map((c) => c.mailbox_id!);
      const rows = await trx.selectFrom('mailboxes').select(['id', 'status']).where('id', 'in', ids).where('tenant_id', '=', tenantId).where('status', '!=', 'deleted').execute();
      for (const m of rows) {
        await trx
          .updateTable('mailboxes')
          .set((eb) => ({ status: 'deleted', status_before_delete: m.status, deleted_at: now, purge_after: purgeAfter, deleted_with: null, credential_version: eb('credential_version', '+', 1), updated_at: now }))
          .where('id', '=', m.id)
          .execute();
        await appendAudit(trx, actor, { action: 'mailbox.delete', targetType: 'mailbox', targetId: m.id, tenantId, before: { status: m.status }, after: { status: 'deleted', purgeAfter: iso(purgeAfter), batchId }, reason }, now);
        deleted++;
      }
      const aliasIds = chunk.flatMap((c) => (c.alias_ids ? (JSON.parse(c.alias_ids) as string[]) : []));
      for (let j = 0; j < aliasIds.length; j += 500) {
        const part = aliasIds.slice(j, j + 500);
        const live = await trx.selectFrom('aliases').select(['id', 'address']).where('id', 'in', part).where('status', '=', 'active').execute();
        if (!live.length) continue;
        await trx.updateTable('aliases').set({ status: 'deleted', updated_at: now }).where('id', 'in', live.map((a) => a.id)).execute();
        for (const a of live) await appendAudit(trx, actor, { action: 'alias.delete', targetType: 'alias', targetId: a.id, tenantId, before: { status: 'active' }, after: { status: 'deleted', batchId }, reason }, now);
      }
      await trx.updateTable('batch_items').set({ status: 'rolled-back' }).where('batch_id', '=', batchId).where('row_no', 'in', chunk.map((c) => c.row_no)).execute();
    });
  }
  return deleted;
}

export async function rollbackBatch(actor: Actor, deps: PortfolioDeps, batchId: string, input: { reason?: string } = {}): Promise<BatchView> {
  authorize(actor, 'mailboxes.suspend');
  authorize(actor, 'mailboxes.delete');
  const b = await batchRow(deps, actor, batchId);
  if (b.state === 'applying' && workers.has(b.id)) throw new AppError('Conflict', 'the batch is being applied; roll back once it has finished');
  if (b.state === 'rolled-back') return batchView(deps, b);
  const reason = cleanRef(input.reason, 'reason') ?? `rollback of batch ${b.id}`;
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('batches').set({ state: 'rolling-back', updated_at: now }).where('id', '=', b.id).execute();
    await appendAudit(trx, actor, { action: 'batch.rollback', targetType: 'batch', targetId: b.id, tenantId: b.tenant_id, before: { state: b.state }, after: { state: 'rolling-back' }, reason }, now);
  });
  const deleted = await compensate(actor, deps, b.id, b.tenant_id, `batch ${b.id}: ${reason}`);
  const end = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('batches').set({ state: 'rolled-back', rolled_back_at: end, updated_at: end }).where('id', '=', b.id).execute();
    await appendAudit(trx, actor, { action: 'batch.rolled_back', targetType: 'batch', targetId: b.id, tenantId: b.tenant_id, before: { state: 'rolling-back' }, after: { state: 'rolled-back', mailboxesDeleted: deleted, recycleBinDays: recycleBinDays(deps) }, reason }, end);
  });
  return batchView(deps, await batchRow(deps, actor, b.id));
}

// ---- verify ------------------------------------------------------------------------------

export interface VerifyResult {
  batch: BatchView;
  deliveryTest: {
    sampled: number;
    results: Array<{ address: string; routable: boolean; delivered: boolean | null; error?: string }>;
  };
}

/** The batch report plus a delivery test to a random sample of its live mailboxes (routing, then the store's ingest path). */
export async function verifyBatch(actor: Actor, deps: PortfolioDeps, batchId: string, input: { sample?: number } = {}): Promise<VerifyResult> {
  authorize(actor, 'mailboxes.create');
  const b = await batchRow(deps, actor, batchId);
  if (b.state !== 'applied') throw new AppError('Conflict', `batch ${b.id} is ${b.state}; verify an applied batch`);
  const n = Math.min(Math.max(input.sample ?? 3, 1), 20);
  const items = await deps.db
    .selectFrom('batch_items')
    .innerJoin('mailboxes', 'mailboxes.id', 'batch_items.mailbox_id')
    .select(['batch_items.mailbox_id', 'mailboxes.address'])
    .where('batch_items.batch_id', '=', b.id)
    .where('batch_items.status', '=', 'created')
    .where('mailboxes.status', 'in', ['pending', 'active'])
    .execute();
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomBytes(4).readUInt32BE(0) % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  const sample = items.slice(0, n);
  const router = new RecipientRouter(deps.db);
  const results: VerifyResult['deliveryTest']['results'] = [];
  for (const s of sample) {
    const route = await router.resolve(s.address, 1024);
    const routable = route.ok && route.mailboxes.some((m) => m.id === s.mailbox_id);
    if (!routable || !deps.mailIngest) {
      results.push({ address: s.address, routable, delivered: null, ...(routable ? {} : { error: route.ok ? 'routes elsewhere' : route.refusal }) });
      continue;
    }
    const raw = Buffer.from(
      [
        `From: Postern <${systemSender(deps)}>`,
        `To: <${s.address}>`,
        `Subject: Postern delivery test (batch ${b.id})`,
        `Date: ${new Date(deps.now()).toUTCString()}`,
        `Message-ID: <verify.${randomBytes(8).toString('hex')}@${deps.config.hostname}>`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'This message tests delivery to your new mailbox. You can delete it.',
        '',
      ].join('\r\n'),
    );
    try {
      await deps.mailIngest.ingest(raw, [{ mailboxId: s.mailbox_id!, folder: 'INBOX' }], { enforceQuota: true });
      results.push({ address: s.address, routable, delivered: true });
    } catch (err) {
      results.push({ address: s.address, routable, delivered: false, error: String((err as Error)?.message ?? err).slice(0, 200) });
    }
  }
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await appendAudit(trx, actor, { action: 'batch.verify', targetType: 'batch', targetId: b.id, tenantId: b.tenant_id, after: { sampled: sample.length, results } }, now);
  });
  return { batch: await batchView(deps, await batchRow(deps, actor, b.id)), deliveryTest: { sampled: sample.length, results } };
}
