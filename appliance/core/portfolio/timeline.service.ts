/**
 * A domain's timeline: what an operator needs at 2 AM to see what changed — DNS snapshots
 * (those where the domain's DNS state changed), template and settings changes, and the
 * control-plane events of the domain and of its mailboxes and aliases, newest first.
 */
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import type { CheckedRecord } from '../templates/dns-check.js';
import { displayNames } from '../audit/audit.service.js';
import { repos } from '../../db/repos/index.js';
import type { DnsSnapshot } from '../../db/tables/portfolio.table.js';
import { iso } from '../kernel/util.js';

export interface TimelineEntry {
  at: string;
  kind: 'dns' | 'template' | 'event';
  summary: string;
  /** dns: the snapshot id; template/event: the audit event id. */
  ref: number;
  actor?: string | null;
  target?: { type: string; id: string | null };
  /** Display names of `actor` and `target.id` (token or person name, mailbox or alias address). */
  names?: Record<string, string>;
  details?: Record<string, unknown>;
}

const TEMPLATE_ACTIONS = new Set(['domain.template.apply', 'domain.settings.update']);

export async function domainTimeline(actor: Actor, deps: CoreDeps, domainId: string, opts: { limit?: number } = {}): Promise<{ domainId: string; domain: string; entries: TimelineEntry[] }> {
  authorize(actor, 'domains.read');
  authorize(actor, 'audit.read');
  const r = repos(deps.db, scopeOf(actor));
  const domain = await r.domains.get(domainId);
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 500);
  const entries: TimelineEntry[] = dnsEntries(await r.dns.history(domain.id, { limit: 500 }));
  const events = await r.audit.ofDomain(domain.tenant_id, domain.id, limit);
  entries.push(...events.map(eventEntry));
  const names = await displayNames(
    deps,
    entries.flatMap((e) => [e.actor, e.target?.id]),
  );
  for (const e of entries) {
    const mine = [e.actor, e.target?.id].filter((id): id is string => !!id && names.has(id));
    if (mine.length) e.names = Object.fromEntries(mine.map((id) => [id, names.get(id)!]));
  }
  entries.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : b.ref - a.ref));
  return { domainId: domain.id, domain: domain.name, entries: entries.slice(0, limit) };
}

/** The snapshots where the domain's DNS state changed (status or failing records), oldest first. */
function dnsEntries(snaps: DnsSnapshot[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  const problemsOf = (records: CheckedRecord[]) => records.filter((r) => r.status !== 'ok').map((r) => `${r.type} ${r.name}: ${r.status}`);
  const chronological = [...snaps].reverse();
  let prevKey: string | null = null;
  for (const s of chronological) {
    const problems = problemsOf(JSON.parse(s.records) as CheckedRecord[]);
    const key = `${s.status}|${problems.join(',')}`;
    if (key !== prevKey) {
      entries.push({
        at: iso(s.checked_at)!,
        kind: 'dns',
        summary: problems.length ? `DNS ${s.status}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '…' : ''}` : 'DNS ok: every record matches',
        ref: Number(s.id),
        details: { status: s.status, problems, template: s.template_id ? { id: s.template_id, version: Number(s.template_version) } : null },
      });
    }
    prevKey = key;
  }
  return entries;
}

function eventEntry(e: { id: number; at: number; action: string; actor_id: string | null; target_type: string; target_id: string | null; after: string | null; reason: string | null }): TimelineEntry {
  const template = TEMPLATE_ACTIONS.has(e.action);
  const after = e.after ? (JSON.parse(e.after) as Record<string, unknown>) : null;
  const tpl = template && after?.template ? (after.template as { id: string; version: number }) : null;
  return {
    at: iso(e.at)!,
    kind: template ? 'template' : 'event',
    summary: tpl ? `${e.action}: ${tpl.id} v${tpl.version}` : `${e.action}${e.reason ? ` (${e.reason})` : ''}`,
    ref: Number(e.id),
    actor: e.actor_id,
    target: { type: e.target_type, id: e.target_id },
    ...(template && after ? { details: after } : {}),
  };
}
