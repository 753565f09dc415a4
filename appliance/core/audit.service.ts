/**
 * Audit log use cases: read events (a tenant actor sees its tenant's only) and verify the
 * appliance-wide hash chain (platform actors).
 */
import type { AuditEvent } from '../db/tables/control.table.js';
import { type AuditVerification, verifyAuditChain } from './audit.js';
import { type Actor, authorize } from './authz.js';
import type { CoreDeps } from './deps.js';
import { scopeOf } from './repo.js';
import { iso, pageOf } from './util.js';

export interface AuditEventView {
  id: number;
  at: string;
  tenantId: string | null;
  actor: { type: string; id: string | null; tokenId: string | null };
  sourceIp: string | null;
  userAgent: string | null;
  action: string;
  target: { type: string; id: string | null };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  reason: string | null;
  requestId: string | null;
  approvalId: string | null;
}

function parse(json: string | null): Record<string, unknown> | null {
  if (json === null) return null;
  try {
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export function auditEventView(e: AuditEvent): AuditEventView {
  return {
    id: Number(e.id),
    at: iso(e.at)!,
    tenantId: e.tenant_id,
    actor: { type: e.actor_type, id: e.actor_id, tokenId: e.token_id },
    sourceIp: e.source_ip,
    userAgent: e.user_agent,
    action: e.action,
    target: { type: e.target_type, id: e.target_id },
    before: parse(e.before),
    after: parse(e.after),
    reason: e.reason,
    requestId: e.request_id,
    approvalId: e.approval_id,
  };
}

export interface AuditQuery {
  tenantId?: string;
  targetType?: string;
  targetId?: string;
  action?: string;
  /** Events with an id above this one (ascending order). */
  after?: number;
  limit?: number;
}

export async function listAuditEvents(actor: Actor, deps: CoreDeps, query: AuditQuery = {}): Promise<AuditEventView[]> {
  authorize(actor, 'audit.read');
  const scope = scopeOf(actor);
  const page = pageOf({ limit: query.limit });
  let q = deps.db.selectFrom('audit_events').selectAll();
  if (scope.tenantId !== null) q = q.where('tenant_id', '=', scope.tenantId);
  if (query.tenantId) q = q.where('tenant_id', '=', query.tenantId);
  if (query.targetType) q = q.where('target_type', '=', query.targetType);
  if (query.targetId) q = q.where('target_id', '=', query.targetId);
  if (query.action) q = q.where('action', '=', query.action);
  if (query.after !== undefined) q = q.where('id', '>', query.after);
  const rows = await q.orderBy('id').limit(page.limit).execute();
  return rows.map(auditEventView);
}

export async function verifyAudit(actor: Actor, deps: CoreDeps): Promise<AuditVerification> {
  authorize(actor, 'audit.verify');
  return verifyAuditChain(deps.db);
}
