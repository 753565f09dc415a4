/**
 * Resets across a tenant (or, for a platform actor, every tenant): the second approver's queue
 * (`status: 'pending-approval'`) and the history of decided resets, without reading the audit
 * log. Newest first, paged by the last reset id of the previous page.
 *
 * `expired` is not stored: it is a pending emergency reset whose approval window has passed,
 * so the filters 'pending-approval' and 'expired' split the stored status by that window.
 */
import { displayNames } from '../audit/audit.service.js';
import { repos } from '../../db/repos/index.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { invalid } from '../kernel/errors.js';
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
  const storeAll = repos(deps.db, scopeOf(actor));
  const store = storeAll.resets;
  // A named tenant must be in the actor's scope; null: every tenant the scope covers.
  const only = tenantId !== null ? (await storeAll.tenants.get(tenantId)).id : null;
  if (filter.status !== undefined && !(RESET_STATUSES as readonly string[]).includes(filter.status)) throw invalid('unknown status', { field: 'status' });
  const { limit, after } = pageOf(filter);
  const now = deps.now();
  const cursor = after ? await store.cursor(after) : null;
  if (after && !cursor) throw invalid('unknown cursor', { field: 'after' });
  const rows = await store.queue({ tenantId: only, kind: filter.kind, status: filter.status, windowStart: now - APPROVAL_WINDOW_MS, after: cursor, limit });
  const names = await displayNames(
    deps,
    rows.flatMap((r) => [r.requested_by, r.approved_by]),
  );
  return rows.map((r) => ({ ...resetView(r, now), tenantId: r.tenant_id, mailboxAddress: r.mailbox_address, names: namesOf(names, [r.requested_by, r.approved_by]) }));
}

/** The display names of `ids` that have one. */
export function namesOf(names: Map<string, string>, ids: Array<string | null>): Record<string, string> {
  return Object.fromEntries(ids.filter((id): id is string => !!id && names.has(id)).map((id) => [id, names.get(id)!]));
}
