/**
 * A domain's timeline: what an operator needs at 2 AM to see what changed — DNS snapshots
 * (those where the domain's DNS state changed), template and settings changes, and the
 * control-plane events of the domain and of its mailboxes and aliases, newest first.
 */
import type { Actor } from '../kernel/authz.js';
import { authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import type { CheckedRecord } from '../templates/dns-check.js';
import { displayNames } from '../audit/audit.service.js';
import { scopedRepo } from '../../db/repo.js';
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
  const domain = await scopedRepo(deps.db, actor).domain(domainId);
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 500);

  const snaps = await deps.db.selectFrom('dns_snapshots').selectAll().where('domain_id', '=', domain.id).orderBy('id', 'desc').limit(500).execute();
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

  const events = await deps.db
    .selectFrom('audit_events')
    .select(['id', 'at', 'action', 'actor_type', 'actor_id', 'target_type', 'target_id', 'after', 'reason'])
    .where('tenant_id', '=', domain.tenant_id)
    .where((eb) =>
      eb.or([
        eb.and([eb('target_type', '=', 'domain'), eb('target_id', '=', domain.id)]),
        eb.and([eb('target_type', '=', 'mailbox'), eb('target_id', 'in', eb.selectFrom('mailboxes').select('mailboxes.id').where('domain_id', '=', domain.id))]),
        eb.and([eb('target_type', '=', 'alias'), eb('target_id', 'in', eb.selectFrom('aliases').select('aliases.id').where('domain_id', '=', domain.id))]),
      ]),
    )
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  for (const e of events) {
    const template = TEMPLATE_ACTIONS.has(e.action);
    const after = e.after ? (JSON.parse(e.after) as Record<string, unknown>) : null;
    const tpl = template && after?.template ? (after.template as { id: string; version: number }) : null;
    entries.push({
      at: iso(e.at)!,
      kind: template ? 'template' : 'event',
      summary: tpl ? `${e.action}: ${tpl.id} v${tpl.version}` : `${e.action}${e.reason ? ` (${e.reason})` : ''}`,
      ref: Number(e.id),
      actor: e.actor_id,
      target: { type: e.target_type, id: e.target_id },
      ...(template && after ? { details: after } : {}),
    });
  }
  const names = await displayNames(deps, entries.flatMap((e) => [e.actor, e.target?.id]));
  for (const e of entries) {
    const mine = [e.actor, e.target?.id].filter((id): id is string => !!id && names.has(id));
    if (mine.length) e.names = Object.fromEntries(mine.map((id) => [id, names.get(id)!]));
  }
  entries.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : b.ref - a.ref));
  return { domainId: domain.id, domain: domain.name, entries: entries.slice(0, limit) };
}
