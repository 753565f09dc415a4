/**
 * Resets across a tenant (or, for a platform actor, every tenant): the second approver's queue
 * (`status: 'pending-approval'`) and the history of decided resets, without reading the audit
 * log. Newest first, paged by the last reset id of the previous page.
 *
 * `expired` is not stored: it is a pending emergency reset whose approval window has passed,
 * so the filters 'pending-approval' and 'expired' split the stored status by that window.
 */
import { displayNames } from '../audit/audit.service.js';
import { type Actor, authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { invalid } from '../kernel/errors.js';
import { scopedRepo } from '../../db/repo.js';
import { APPROVAL_WINDOW_MS, type ResetView, resetView } from './resets.service.js';
import { pageOf } from '../kernel/util.js';

export const RESET_STATUSES = ['pending-approval', 'issued', 'completed', 'cancelled', 'expired'] as const;
export type ResetStatus = (typeof RESET_STATUSES)[number];

export interface ResetListFilter {
  status?: ResetStatus;
  kind?: 'admin' | 'emergency' | 'self';
  limit?: number;
  after?: string | null;
}

export interface TenantResetView extends ResetView {
  tenantId: string;
  mailboxAddress: string;
}

/**
 * Resets of one tenant (`tenantId`), or of every tenant in the actor's scope (`null`: a tenant
 * actor sees its own, a platform actor all). Another tenant's id is NotFound.
 */
export async function listTenantResets(actor: Actor, deps: CoreDeps, tenantId: string | null, filter: ResetListFilter = {}): Promise<TenantResetView[]> {
  authorize(actor, 'mailboxes.read');
  const repo = scopedRepo(deps.db, actor);
  const scope = tenantId !== null ? (await repo.tenant(tenantId)).id : actor.tenantId;
  if (filter.status !== undefined && !(RESET_STATUSES as readonly string[]).includes(filter.status)) throw invalid('unknown status', { field: 'status' });
  const { limit, after } = pageOf(filter);
  const now = deps.now();
  const windowStart = now - APPROVAL_WINDOW_MS;

  let q = deps.db.selectFrom('resets as r').innerJoin('mailboxes as m', 'm.id', 'r.mailbox_id').selectAll('r').select('m.address as mailbox_address');
  if (scope !== null) q = q.where('r.tenant_id', '=', scope).where('m.tenant_id', '=', scope);
  if (filter.kind) q = q.where('r.kind', '=', filter.kind);
  if (filter.status === 'pending-approval') q = q.where('r.status', '=', 'pending-approval').where('r.requested_at', '>', windowStart);
  else if (filter.status === 'expired') q = q.where('r.status', '=', 'pending-approval').where('r.requested_at', '<=', windowStart);
  else if (filter.status) q = q.where('r.status', '=', filter.status);
  if (after) {
    const cursor = await deps.db.selectFrom('resets').select(['id', 'requested_at']).where('id', '=', after).executeTakeFirst();
    if (!cursor) throw invalid('unknown cursor', { field: 'after' });
    const at = Number(cursor.requested_at);
    q = q.where((eb) => eb.or([eb('r.requested_at', '<', at), eb.and([eb('r.requested_at', '=', at), eb('r.id', '<', cursor.id)])]));
  }
  const rows = await q.orderBy('r.requested_at', 'desc').orderBy('r.id', 'desc').limit(limit).execute();
  const names = await displayNames(deps, rows.flatMap((r) => [r.requested_by, r.approved_by]));
  return rows.map((r) => ({ ...resetView(r, now), tenantId: r.tenant_id, mailboxAddress: r.mailbox_address, names: namesOf(names, [r.requested_by, r.approved_by]) }));
}

/** The display names of `ids` that have one. */
export function namesOf(names: Map<string, string>, ids: Array<string | null>): Record<string, string> {
  return Object.fromEntries(ids.filter((id): id is string => !!id && names.has(id)).map((id) => [id, names.get(id)!]));
}
