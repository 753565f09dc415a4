/**
 * The tenant access policy (CONTROL-MODEL principles 3, 4 and 6) and the high-value flag of
 * mailboxes. Defaults are the safe ones: reset links go by email only, a reset revokes app
 * passwords too, three reset requests per mailbox and hour, an operator approves emergency
 * resets of high-value mailboxes, external forwarding is off.
 *
 * A tenant admin may tighten its policy; relaxing the operator approval of high-value emergency
 * resets takes a platform actor (otherwise the control would be the tenant's own to lift).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { AccessPolicyRow } from '../../db/tables/resets.table.js';
import { type Repos, repos } from '../../db/repos/index.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, isPlatformActor, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { type Mailer, systemSender } from '../delivery/mailer.js';
import { PLATFORM_SCOPE, tenantScope } from '../kernel/scope.js';
import { optionalText } from '../kernel/text.js';
import { trxOf } from '../../db/repos/index.js';
import { iso } from '../kernel/util.js';

/** Core deps of the access flows: without a mailer, email delivery is recorded as unavailable. */
export type AccessDeps = CoreDeps & { mailer?: Mailer | null };

/** The sender of the appliance's own messages. */
export const accessSender = systemSender;

export interface AccessPolicy {
  tenantId: string;
  /** true: POST …/resets may use delivery "link" (the link is returned to the caller). */
  resetLinkToCaller: boolean;
  resetRevokesAppPasswords: boolean;
  resetRatePerHour: number;
  /** Who approves an emergency reset of a high-value mailbox: an operator, or any second tenant principal. */
  emergencyHighValueApprover: 'operator' | 'tenant';
  externalForwarding: boolean;
  staleForwardDays: number;
  offboardingUndoDays: number;
  /** Mailbox owners may manage their own sharing (IMAP SETACL/DELETEACL), audited like an API change. */
  ownersManageSharing: boolean;
  updatedBy: string | null;
  updatedAt: string | null;
}

export const DEFAULT_POLICY: Omit<AccessPolicy, 'tenantId' | 'updatedBy' | 'updatedAt'> = Object.freeze({
  resetLinkToCaller: false,
  resetRevokesAppPasswords: true,
  resetRatePerHour: 3,
  emergencyHighValueApprover: 'operator' as const,
  externalForwarding: false,
  staleForwardDays: 90,
  offboardingUndoDays: 30,
  ownersManageSharing: false,
});

function policyView(tenantId: string, row: AccessPolicyRow | undefined): AccessPolicy {
  if (!row) return { tenantId, ...DEFAULT_POLICY, updatedBy: null, updatedAt: null };
  return {
    tenantId,
    resetLinkToCaller: Number(row.reset_link_to_caller) === 1,
    resetRevokesAppPasswords: Number(row.reset_revokes_app_passwords) === 1,
    resetRatePerHour: Number(row.reset_rate_per_hour),
    emergencyHighValueApprover: row.emergency_high_value === 'tenant' ? 'tenant' : 'operator',
    externalForwarding: Number(row.external_forwarding) === 1,
    staleForwardDays: Number(row.stale_forward_days),
    offboardingUndoDays: Number(row.offboarding_undo_days),
    ownersManageSharing: Number(row.owners_manage_sharing ?? 0) === 1,
    updatedBy: row.updated_by,
    updatedAt: iso(row.updated_at),
  };
}

/** The policy in force for a tenant (defaults when none was set). Not actor-first: callers have scoped the tenant. */
export async function loadPolicy(db: Kysely<DB>, tenantId: string): Promise<AccessPolicy> {
  return policyIn(repos(db, tenantScope(tenantId)), tenantId);
}

async function policyIn(r: Repos, tenantId: string): Promise<AccessPolicy> {
  return policyView(tenantId, await r.policies.policy(tenantId));
}

export async function getAccessPolicy(actor: Actor, deps: CoreDeps, tenantId: string): Promise<AccessPolicy> {
  authorize(actor, 'tenants.read');
  const r = repos(deps.db, scopeOf(actor));
  const tenant = await r.tenants.get(tenantId);
  return policyIn(r, tenant.id);
}

export type AccessPolicyPatch = Partial<Omit<AccessPolicy, 'tenantId' | 'updatedBy' | 'updatedAt'>> & { reason?: string };

export async function updateAccessPolicy(actor: Actor, deps: CoreDeps, tenantId: string, patch: AccessPolicyPatch): Promise<AccessPolicy> {
  authorize(actor, 'policies.manage');
  const r = repos(deps.db, scopeOf(actor));
  const tenant = await r.tenants.get(tenantId);
  const { reason: rawReason, ...changes } = patch;
  const reason = optionalText(rawReason, 'reason');
  const ranges: Array<[keyof typeof changes, number, number]> = [
    ['resetRatePerHour', 1, 100],
    ['staleForwardDays', 1, 3650],
    ['offboardingUndoDays', 0, 365],
  ];
  for (const [k, min, max] of ranges) {
    const v = changes[k];
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < min || (v as number) > max)) throw invalid(`${k} must be an integer from ${min} to ${max}`, { field: k });
  }
  const now = deps.now();
  return r.transaction(async (t) => {
    const before = await policyIn(t, tenant.id);
    if (before.emergencyHighValueApprover === 'operator' && changes.emergencyHighValueApprover === 'tenant' && !isPlatformActor(actor)) {
      throw new AppError('Forbidden', 'only an operator can let tenant principals approve emergency resets of high-value mailboxes');
    }
    const next = { ...before, ...changes };
    const row = {
      tenant_id: tenant.id,
      reset_link_to_caller: next.resetLinkToCaller ? 1 : 0,
      reset_revokes_app_passwords: next.resetRevokesAppPasswords ? 1 : 0,
      reset_rate_per_hour: next.resetRatePerHour,
      emergency_high_value: next.emergencyHighValueApprover,
      external_forwarding: next.externalForwarding ? 1 : 0,
      stale_forward_days: next.staleForwardDays,
      offboarding_undo_days: next.offboardingUndoDays,
      owners_manage_sharing: next.ownersManageSharing ? 1 : 0,
      updated_by: actor.principalId,
      updated_at: now,
    };
    await t.policies.savePolicy(row);
    const diff = (v: AccessPolicy) => {
      const { tenantId: _t, updatedAt: _u, updatedBy: _b, ...rest } = v;
      return rest;
    };
    await appendAudit(trxOf(t), actor, { action: 'tenant.access_policy.update', targetType: 'tenant', targetId: tenant.id, tenantId: tenant.id, before: diff(before), after: diff(next), reason }, now);
    return policyView(tenant.id, row);
  });
}

/** Not actor-first: the caller has found the mailbox in its actor's scope. */
export async function isHighValue(db: Kysely<DB>, mailboxId: string): Promise<boolean> {
  const row = await repos(db, PLATFORM_SCOPE).policies.mailboxFlags(mailboxId);
  return !!row && Number(row.high_value) === 1;
}

export interface HighValueView {
  mailboxId: string;
  highValue: boolean;
  reason: string | null;
  updatedBy: string | null;
  updatedAt: string | null;
}

export async function getHighValue(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<HighValueView> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const row = await r.policies.mailboxFlags(m.id);
  return { mailboxId: m.id, highValue: !!row && Number(row.high_value) === 1, reason: row?.reason ?? null, updatedBy: row?.updated_by ?? null, updatedAt: iso(row?.updated_at ?? null) };
}

/** Flags (or unflags) a mailbox as high-value; unflagging takes a platform actor when the policy needs operator approval. */
export async function setHighValue(actor: Actor, deps: CoreDeps, mailboxId: string, input: { highValue: boolean; reason?: string }): Promise<HighValueView> {
  authorize(actor, 'policies.manage');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const now = deps.now();
  const reason = optionalText(input.reason, 'reason');
  await r.transaction(async (t) => {
    const before = await t.policies.mailboxFlags(m.id);
    const was = !!before && Number(before.high_value) === 1;
    if (was && !input.highValue && !isPlatformActor(actor)) {
      const policy = await policyIn(t, m.tenant_id);
      if (policy.emergencyHighValueApprover === 'operator') throw new AppError('Forbidden', 'only an operator can lift the high-value flag while emergency resets of it need operator approval');
    }
    const row = { mailbox_id: m.id, tenant_id: m.tenant_id, high_value: input.highValue ? 1 : 0, reason, updated_by: actor.principalId, updated_at: now };
    await t.policies.saveMailboxFlags(row);
    await appendAudit(
      trxOf(t),
      actor,
      { action: 'mailbox.high_value.set', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: { highValue: was }, after: { highValue: input.highValue }, reason },
      now,
    );
  });
  return getHighValue(actor, deps, m.id);
}

/** Forwarding governance: refuses a forward to an external address when the tenant's policy has external forwarding off. */
export async function assertExternalForwardingAllowed(db: Kysely<DB>, tenantId: string): Promise<void> {
  const policy = await loadPolicy(db, tenantId);
  if (!policy.externalForwarding) {
    throw new AppError('Forbidden', 'external forwarding is off by the tenant access policy (PUT /api/v1/tenants/{tenantId}/access-policy {externalForwarding: true})', {
      policy: 'externalForwarding',
    });
  }
}
