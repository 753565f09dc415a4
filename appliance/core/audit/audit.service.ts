/**
 * Audit log use cases: read events (a tenant actor sees its tenant's only) and verify the
 * appliance-wide hash chain (platform actors).
 */
import type { AuditEvent } from '../../db/tables/control.table.js';
import { AUDIT_CHAIN_COLUMNS, type AuditVerification, verifyAuditChain } from './audit.js';
import type { CoreDeps } from '../deps.js';
import { repos } from '../../db/repos/index.js';
import type { AuditFilter, NamedKind } from '../../db/repos/audit.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { iso, pageOf } from '../kernel/util.js';
import { stringify } from 'csv-stringify/sync';

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
  /** Display names of the ids this event mentions (listings only): tenant, domain and token names, addresses. */
  names?: Record<string, string>;
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

/** The audit log's filters (the repository's) and paging. */
export interface AuditQuery extends AuditFilter {
  /** Events with an id above this one (ascending order). */
  after?: number;
  limit?: number;
}

/** The actor's audit repository: a tenant actor reads its tenant's events only. */
function auditOf(actor: Actor, deps: CoreDeps) {
  return repos(deps.db, scopeOf(actor)).audit;
}

export async function listAuditEvents(actor: Actor, deps: CoreDeps, query: AuditQuery = {}): Promise<AuditEventView[]> {
  authorize(actor, 'audit.read');
  const page = pageOf({ limit: query.limit });
  const rows = await auditOf(actor, deps).list(query, query.after, page.limit);
  const views = rows.map(auditEventView);
  const names = await displayNames(
    deps,
    views.flatMap((v) => [v.tenantId, v.actor.id, v.actor.tokenId, v.target.id]),
  );
  for (const v of views) {
    v.names = {};
    for (const id of [v.tenantId, v.actor.id, v.actor.tokenId, v.target.id]) if (id && names.has(id)) v.names[id] = names.get(id)!;
  }
  return views;
}

/** Adds `createdByName` (the creator's token or person name, or mailbox address) to listed items. */
export async function withCreatorNames<T extends { createdBy: string }>(deps: CoreDeps, items: T[]): Promise<Array<T & { createdByName?: string }>> {
  const names = await displayNames(
    deps,
    items.map((i) => i.createdBy),
  );
  return items.map((i) => (names.has(i.createdBy) ? { ...i, createdByName: names.get(i.createdBy)! } : i));
}

/**
 * What people call the objects behind ids: a tenant's, domain's, token's or person's name, a
 * mailbox's or alias's address. One query per kind of id present; ids it does not know are left
 * out (the console then shows the id). Used for listings a person reads (audit, recent changes).
 */
export async function displayNames(deps: CoreDeps, ids: Iterable<string | null | undefined>): Promise<Map<string, string>> {
  const by = new Map<NamedKind, Set<string>>();
  for (const id of ids) {
    const prefix = id ? (/^(tnt|dom|mbx|als|tok|prn)_[0-9a-f]+$/.exec(id)?.[1] as NamedKind | undefined) : undefined;
    if (!prefix) continue;
    if (!by.has(prefix)) by.set(prefix, new Set());
    by.get(prefix)!.add(id!);
  }
  const out = new Map<string, string>();
  // Labels of ids the reader already sees (in its events and listings): looked up across scopes.
  const audit = repos(deps.db, PLATFORM_SCOPE).audit;
  const found = await Promise.all([...by].map(([kind, set]) => audit.names(kind, [...set])));
  for (const rows of found) for (const r of rows) out.set(r.id, r.label);
  return out;
}

export const AUDIT_EXPORT_MAX = 100_000;

/** The export's columns: the chain's canonical columns, then the row's own hash. */
const CSV_COLUMNS = [...AUDIT_CHAIN_COLUMNS, 'hash'] as const;

/** A CSV cell: a leading = + - @ (or tab, CR) is neutralized so spreadsheets do not run it as a formula. */
function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

/**
 * Exports the matching events (at most AUDIT_EXPORT_MAX, oldest first) as JSON lines or CSV,
 * with each row's `prev_hash` and `hash`, so an export can be checked against the chain.
 */
export async function exportAuditEvents(actor: Actor, deps: CoreDeps, query: AuditQuery, format: 'jsonl' | 'csv'): Promise<{ body: string; events: number; truncated: boolean }> {
  authorize(actor, 'audit.read');
  const lines: string[] = [];
  const csvRows: string[][] = [[...CSV_COLUMNS]];
  const audit = auditOf(actor, deps);
  let after = query.after ?? 0;
  let events = 0;
  const PAGE = 1000;
  for (;;) {
    const rows = await audit.list(query, after, Math.min(PAGE, AUDIT_EXPORT_MAX - events));
    for (const r of rows) {
      if (format === 'csv') {
        csvRows.push(CSV_COLUMNS.map((c) => csvCell(c === 'at' ? iso(r.at) : c === 'id' ? Number(r.id) : r[c])));
      } else {
        lines.push(JSON.stringify({ ...auditEventView(r), prevHash: r.prev_hash, hash: r.hash }));
      }
      after = Number(r.id);
    }
    events += rows.length;
    if (rows.length < PAGE || events >= AUDIT_EXPORT_MAX) break;
  }
  const truncated = events >= AUDIT_EXPORT_MAX;
  // csv-stringify quotes a cell holding a comma, a quote or a line break (RFC 4180).
  if (format === 'csv') return { body: stringify(csvRows), events, truncated };
  return { body: lines.length ? `${lines.join('\n')}\n` : '', events, truncated };
}

export async function verifyAudit(actor: Actor, deps: CoreDeps): Promise<AuditVerification> {
  authorize(actor, 'audit.verify');
  return verifyAuditChain(deps.db);
}
