/**
 * What every bulk use case shares: the batch as callers see it (state, progress, plan, report),
 * the background workers of this process, and the sizes of the short transactions (SQLite has
 * one writer). See bulk.service.ts for the pipeline.
 */
import type { Repos } from '../../db/repos/index.js';
import type { Batch } from '../../db/tables/portfolio.table.js';
import { optionalText } from '../kernel/text.js';
import { iso } from '../kernel/util.js';
import type { Plan } from './bulk-plan.js';

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

/** Rows per transaction when creating or rolling back. */
export const CHUNK = 250;
const MAX_REF = 200;

/** Workers of batches being applied in this process. */
export const workers = new Map<string, Promise<void>>();

/** A reference typed by a person (request id, approval reference, reason): trimmed, at most 200 characters, or null. */
export function refText(raw: string | undefined | null, field: string): string | null {
  return optionalText(raw, field, { max: MAX_REF });
}

export function publicPlan(p: Plan): PublicPlan {
  return {
    create: p.create.map((c) => ({ row: c.row, address: c.address, owner: c.owner.email, resetDestination: c.resetDestination, quotaBytes: c.quotaBytes, isRole: c.isRole, aliases: c.aliases })),
    refused: p.refused,
    needsApproval: p.needsApproval.map((n) => ({ row: n.row, address: n.address, reasons: n.reasons })),
    totals: p.totals,
  };
}

export async function reportOf(r: Repos, batchId: string): Promise<BatchReport> {
  const rows = await r.batches.reportRows(batchId);
  const rep: BatchReport = { created: 0, failed: 0, linksDelivered: 0, deliveryFailed: 0, linksUsed: 0, pending: 0, rolledBack: 0 };
  for (const i of rows) {
    if (i.status === 'failed') {
      rep.failed++;
      continue;
    }
    rep.created++;
    if (i.status === 'rolled-back') rep.rolledBack++;
    if (i.delivered_at !== null) rep.linksDelivered++;
    else if (i.delivery_error !== null) rep.deliveryFailed++;
    if (i.used_at !== null) rep.linksUsed++;
    else if (i.status === 'created') rep.pending++;
  }
  return rep;
}

export async function batchView(r: Repos, b: Batch): Promise<BatchView> {
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
    report: await reportOf(r, b.id),
    error: b.error,
    createdAt: iso(b.created_at)!,
    appliedAt: iso(b.applied_at),
    rolledBackAt: iso(b.rolled_back_at),
  };
}
