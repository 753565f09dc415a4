/**
 * Forwarding governance report (CONTROL-MODEL principle 6): every forward of a tenant by age,
 * creator, destination type and last use, flagging external and stale ones (unused for the
 * policy's `staleForwardDays`) and those that expired by themselves.
 */
import { withCreatorNames } from '../audit/audit.service.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { loadPolicy } from '../access/policies.js';
import { repos } from '../../db/repos/index.js';
import { iso } from '../kernel/util.js';

export interface ForwardReportItem {
  id: string;
  mailboxId: string;
  mailbox: string;
  target: string;
  destinationType: 'external' | 'internal';
  status: string;
  createdBy: string;
  reason: string | null;
  createdAt: string;
  ageDays: number;
  expiresAt: string | null;
  lastUsedAt: string | null;
  flags: Array<'external' | 'stale' | 'expired' | 'no-expiry'>;
}

export interface ForwardReport {
  tenantId: string;
  staleAfterDays: number;
  externalForwardingAllowed: boolean;
  summary: { total: number; active: number; external: number; stale: number; expired: number };
  forwards: ForwardReportItem[];
}

const DAY = 86_400_000;

export async function forwardingReport(actor: Actor, deps: CoreDeps, tenantId: string): Promise<ForwardReport> {
  authorize(actor, 'forwarding.read');
  const r = repos(deps.db, scopeOf(actor));
  const tenant = { id: await r.stats.existingTenantId(tenantId) };
  const policy = await loadPolicy(deps.db, tenant.id);
  const now = deps.now();
  const rows = await r.stats.forwardsForReport(tenant.id);
  const forwards = rows.map((f): ForwardReportItem => {
    const expired = f.status === 'expired' || (f.expires_at !== null && Number(f.expires_at) <= now);
    const external = Number(f.external) === 1;
    const lastActivity = Number(f.last_used_at ?? f.created_at);
    const flags: ForwardReportItem['flags'] = [];
    if (external) flags.push('external');
    if (!expired && now - lastActivity > policy.staleForwardDays * DAY) flags.push('stale');
    if (expired) flags.push('expired');
    if (f.expires_at === null && !expired) flags.push('no-expiry');
    return {
      id: f.id,
      mailboxId: f.mailbox_id,
      mailbox: f.mailbox_address,
      target: f.target,
      destinationType: external ? 'external' : 'internal',
      status: expired ? 'expired' : f.status,
      createdBy: f.created_by,
      reason: f.reason,
      createdAt: iso(f.created_at)!,
      ageDays: Math.floor((now - Number(f.created_at)) / DAY),
      expiresAt: iso(f.expires_at),
      lastUsedAt: iso(f.last_used_at),
      flags,
    };
  });
  return {
    tenantId: tenant.id,
    staleAfterDays: policy.staleForwardDays,
    externalForwardingAllowed: policy.externalForwarding,
    summary: {
      total: forwards.length,
      active: forwards.filter((f) => f.status === 'active').length,
      external: forwards.filter((f) => f.flags.includes('external')).length,
      stale: forwards.filter((f) => f.flags.includes('stale')).length,
      expired: forwards.filter((f) => f.flags.includes('expired')).length,
    },
    forwards: await withCreatorNames(deps, forwards),
  };
}
