/**
 * The spam policy model (issue 15): a tenant's junk and reject thresholds (rspamd scores),
 * greylisting, what to do when the scanner is down and whether owners manage their own lists;
 * a domain may override its tenant's policy; without a row the appliance defaults apply.
 */
import type { Config } from '../../config.js';
import type { SpamPolicyRow, SpamRepo } from '../../db/repos/spam.js';
import { iso } from '../kernel/util.js';

export type FailMode = 'tempfail' | 'accept';

export interface SpamPolicyValues {
  junkScore: number;
  rejectScore: number;
  greylisting: boolean;
  failMode: FailMode;
  ownerLists: boolean;
}

export interface SpamPolicyView extends SpamPolicyValues {
  scope: 'tenant' | 'domain' | 'default';
  tenantId: string;
  domainId: string | null;
  /** For a domain: whether it overrides its tenant's policy. */
  overridden: boolean;
  updatedBy: string | null;
  updatedAt: string | null;
}

export type SpamDefaults = Pick<Config['spam'], 'junkScore' | 'rejectScore' | 'greylisting' | 'failMode'>;

export function defaultSpamPolicy(d: SpamDefaults): SpamPolicyValues {
  return { junkScore: d.junkScore, rejectScore: d.rejectScore, greylisting: d.greylisting, failMode: d.failMode, ownerLists: true };
}

export function policyValues(row: Pick<SpamPolicyRow, 'junk_score' | 'reject_score' | 'greylisting' | 'fail_mode' | 'owner_lists'>): SpamPolicyValues {
  return {
    junkScore: Number(row.junk_score),
    rejectScore: Number(row.reject_score),
    greylisting: Number(row.greylisting) === 1,
    failMode: row.fail_mode === 'accept' ? 'accept' : 'tempfail',
    ownerLists: Number(row.owner_lists) === 1,
  };
}

/** The policy in force for a tenant (and, when given, one of its domains). */
export async function effectiveSpamPolicy(repo: SpamRepo, defaults: SpamDefaults, tenantId: string, domainId: string | null): Promise<SpamPolicyView> {
  const d = domainId ? await repo.policy('domain', domainId) : undefined;
  if (d && d.tenant_id === tenantId) return { ...policyValues(d), scope: 'domain', tenantId, domainId, overridden: true, updatedBy: d.updated_by, updatedAt: iso(d.updated_at) };
  const t = await repo.policy('tenant', tenantId);
  if (t) return { ...policyValues(t), scope: 'tenant', tenantId, domainId, overridden: false, updatedBy: t.updated_by, updatedAt: iso(t.updated_at) };
  return { ...defaultSpamPolicy(defaults), scope: 'default', tenantId, domainId, overridden: false, updatedBy: null, updatedAt: null };
}
