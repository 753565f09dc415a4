/**
 * Addresses every hosted mail domain must have: postmaster@ (RFC 5321 §4.5.1), abuse@
 * (RFC 2142) and the report address the domain's own DMARC (rua) and TLS-RPT records publish.
 * They are created with the domain as aliases, so a tenant can see and re-point them like any
 * other alias, and incoming DMARC aggregate and TLS-RPT reports are simply stored where they lead.
 *
 * Where they deliver (the first that exists):
 * 1. the tenant's choice (`tenants.role_mail_to`: a mailbox or alias of the tenant, or an
 *    outside address);
 * 2. the tenant's contact: its oldest administrator who is not disabled (the person who
 *    answers for the tenant's domains);
 * 3. the operator's address: the oldest operator who is not disabled (the appliance's
 *    postmaster, who answers for the platform);
 * 4. postmaster@<appliance host name>, which the router hands to that operator as well.
 */
import type { Transaction } from 'kysely';
import { type Executor, type Repos, repos } from '../../db/repos/index.js';
import type { DB } from '../../db/schema.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { newId } from '../kernel/ids.js';
import { PLATFORM_SCOPE, tenantScope } from '../kernel/scope.js';
import { createDefaultFolders } from '../../mailstore/folders.js';
import { resolveTarget } from './targets.js';
import { audit, executorOf } from './unit.js';
import { trxOf } from '../../db/repos/index.js';
import { planTransition, statusAfter } from './lifecycle.js';

export const ALWAYS_REQUIRED = ['postmaster', 'abuse'] as const;

/** The local parts a domain must answer for, given its DMARC/TLS-RPT report local part. */
export function requiredLocalParts(reportLocalPart: string): string[] {
  return [...new Set([...ALWAYS_REQUIRED, reportLocalPart])];
}

export type RoleTargetSource = 'tenant-choice' | 'tenant-contact' | 'operator' | 'appliance-postmaster';

/** The oldest operator's address (the platform's postmaster), or null when operators are tokens only. */
export async function operatorAddress(db: Executor | Repos): Promise<string | null> {
  return repos(executorOf(db), PLATFORM_SCOPE).aliases.operatorAddress();
}

/** Where a tenant's required addresses deliver by default, and why. */
export async function roleMailTarget(db: Executor | Repos, deps: Pick<CoreDeps, 'config'>, tenantId: string): Promise<{ address: string; source: RoleTargetSource }> {
  const { aliases } = repos(executorOf(db), tenantScope(tenantId));
  const chosen = await aliases.tenantRoleMailTo(tenantId);
  if (chosen) return { address: chosen, source: 'tenant-choice' };
  for (const email of await aliases.tenantAdminEmails(tenantId, 5)) {
    // An administrator whose address is hosted by another tenant would stack domains: skip it.
    if (
      await resolveTarget(db, tenantId, email, 'roleMailTo').then(
        () => true,
        () => false,
      )
    )
      return { address: email.toLowerCase(), source: 'tenant-contact' };
  }
  const op = await operatorAddress(db);
  if (
    op &&
    (await resolveTarget(db, tenantId, op, 'roleMailTo').then(
      () => true,
      () => false,
    ))
  )
    return { address: op.toLowerCase(), source: 'operator' };
  return { address: `postmaster@${deps.config.hostname}`.toLowerCase(), source: 'appliance-postmaster' };
}

/**
 * Creates the required aliases of a domain inside the caller's transaction; an address already
 * held by a mailbox or alias is left as it is. Returns what it made. `audit: 'own'` records one
 * `alias.create` per alias; `'caller'` leaves it to the caller's event (domain.create lists them).
 */
export async function ensureRequiredAddresses(
  trx: Transaction<DB> | Repos,
  actor: Actor,
  domain: { id: string; tenant_id: string; name: string },
  localParts: string[],
  target: string,
  now: number,
  auditBy: 'own' | 'caller' = 'own',
): Promise<string[]> {
  const t = repos(executorOf(trx), tenantScope(domain.tenant_id));
  const made: string[] = [];
  for (const local of localParts) {
    const address = `${local}@${domain.name}`;
    if (await t.mailboxes.addressTaken(address)) continue;
    const id = newId('als');
    await t.aliases.insert({ id, tenant_id: domain.tenant_id, domain_id: domain.id, local_part: local, address, targets: [target], created_by: actor.principalId, created_at: now });
    if (auditBy === 'own')
      await audit(
        t,
        actor,
        {
          action: 'alias.create',
          targetType: 'alias',
          targetId: id,
          tenantId: domain.tenant_id,
          after: { address, targets: [target], required: true },
          reason: 'required address of every mail domain (RFC 5321 postmaster, RFC 2142 abuse, DMARC/TLS-RPT reports)',
        },
        now,
      );
    made.push(address);
  }
  return made;
}

export interface RequiredAddressView {
  address: string;
  /** Why the domain must have it. */
  purpose: string;
  /** Where it delivers now (alias targets, or the mailbox itself); empty when missing. */
  deliversTo: string[];
  kind: 'alias' | 'mailbox' | 'missing';
}

/** The required addresses of a domain and where each delivers (for the domain view). */
export async function requiredAddressesOf(db: Executor | Repos, domain: { id: string; name: string }, reportLocalPart: string): Promise<RequiredAddressView[]> {
  const r = repos(executorOf(db), PLATFORM_SCOPE);
  const purposes: Record<string, string> = { postmaster: 'RFC 5321 §4.5.1: mail about mail problems', abuse: 'RFC 2142: abuse reports' };
  const out: RequiredAddressView[] = [];
  for (const local of requiredLocalParts(reportLocalPart)) {
    const address = `${local}@${domain.name}`;
    const purpose = purposes[local] ?? 'DMARC aggregate and TLS-RPT reports (the rua of the domain’s own records)';
    const mb = await r.mailboxes.byAddress(address);
    if (mb) {
      out.push({ address, purpose, deliversTo: [mb.address], kind: 'mailbox' });
      continue;
    }
    const al = await r.aliases.activeByAddress(address);
    out.push(al ? { address, purpose, deliversTo: al.targets, kind: 'alias' } : { address, purpose, deliversTo: [], kind: 'missing' });
  }
  return out;
}

export interface RequiredAddressDestination {
  /** The tenant's choice, or null (the default applies). */
  chosen: string | null;
  /** Where the required addresses of new domains deliver now, and why. */
  effective: string;
  source: RoleTargetSource;
  /** Required aliases re-pointed by this change. */
  repointed: string[];
}

/**
 * Sets (or clears, with null) where the tenant's required addresses deliver: a mailbox or alias
 * of the tenant, or an outside address. Every required alias of the tenant's domains that still
 * delivers to the previous destination, or to the appliance's postmaster (the last default),
 * follows (aliases re-pointed by hand stay as they are).
 * One audit event for the choice and one per re-pointed alias, in one transaction.
 */
export async function setRequiredAddressDestination(actor: Actor, deps: CoreDeps, tenantId: string, input: { target: string | null; reason?: string }): Promise<RequiredAddressDestination> {
  authorize(actor, 'domains.manage');
  const r = repos(deps.db, scopeOf(actor));
  const tenant = await r.tenants.get(tenantId);
  const chosen = input.target === null ? null : (await resolveTarget(deps.db, tenant.id, input.target, 'target')).address;
  const before = await roleMailTarget(deps.db, deps, tenant.id);
  const now = deps.now();
  let repointed: string[] = [];
  await r.transaction(async (t) => {
    await t.aliases.setTenantRoleMailTo(tenant.id, chosen, now);
    await audit(
      t,
      actor,
      {
        action: 'tenant.required_addresses.set',
        targetType: 'tenant',
        targetId: tenant.id,
        tenantId: tenant.id,
        before: { roleMailTo: tenant.role_mail_to ?? null, effective: before.address },
        after: { roleMailTo: chosen },
        reason: input.reason ?? null,
      },
      now,
    );
    const after = await roleMailTarget(t, deps, tenant.id);
    const appliancePostmaster = `postmaster@${deps.config.hostname}`.toLowerCase();
    if (after.address === before.address && after.address === appliancePostmaster) return;
    repointed = await repointRequiredAliases(t, actor, tenant.id, [before.address, appliancePostmaster], after.address, now);
  });
  const effective = await roleMailTarget(deps.db, deps, tenant.id);
  return { chosen, effective: effective.address, source: effective.source, repointed };
}

/**
 * Re-points every required alias of the tenant's domains that still delivers to one of the
 * `defaults` alone (the old destination, or the appliance's postmaster, the last default, which a
 * domain created before anyone had an address got): both are defaults, not hand-picked. Audited
 * one event per alias; returns their addresses.
 */
async function repointRequiredAliases(t: Repos, actor: Actor, tenantId: string, defaults: string[], to: string, now: number): Promise<string[]> {
  const repointed: string[] = [];
  for (const d of await t.aliases.activePrimaryDomains(tenantId)) {
    for (const local of requiredLocalParts(await t.aliases.reportLocalPart(d.id))) {
      const al = await t.aliases.activeByAddress(`${local}@${d.name}`);
      if (!al || al.targets.length !== 1 || !defaults.includes(al.targets[0]!)) continue;
      await t.aliases.update(al.id, { targets: [to] }, now);
      await audit(
        t,
        actor,
        { action: 'alias.update', targetType: 'alias', targetId: al.id, tenantId, before: { targets: al.targets }, after: { targets: [to] }, reason: 'required addresses follow the tenant’s choice' },
        now,
      );
      repointed.push(al.address);
    }
  }
  return repointed;
}

/** The tenant's current choice and the effective destination. */
export async function requiredAddressDestination(actor: Actor, deps: CoreDeps, tenantId: string): Promise<Omit<RequiredAddressDestination, 'repointed'>> {
  authorize(actor, 'domains.read');
  const tenant = await repos(deps.db, scopeOf(actor)).tenants.get(tenantId);
  const effective = await roleMailTarget(deps.db, deps, tenant.id);
  return { chosen: tenant.role_mail_to ?? null, effective: effective.address, source: effective.source };
}

/**
 * RFC 5321 §4.5.1 wants postmaster@ accepted even on an appliance with nobody to forward to:
 * only a bootstrap token, no operator person with an address, no tenant administrator. Then the
 * required aliases would lead to postmaster@<appliance host>, which reaches no one, and mail is
 * refused. In that case the domain's postmaster@ becomes a real role mailbox of the tenant (its
 * mail is kept, nothing bounces) and the domain's other required aliases that led nowhere
 * deliver into it. Its owner of record is the appliance's postmaster: a reset link for it goes
 * to postmaster@<appliance host>, which reaches the operator as soon as the operator has an
 * address; a tenant admin can transfer its ownership or re-point the addresses any time.
 * Runs in the caller's transaction; audited (alias.delete, mailbox.create, alias.update).
 * Returns whether it made the mailbox.
 */
export async function postmasterFallback(
  trx: Transaction<DB> | Repos,
  actor: Actor,
  deps: Pick<CoreDeps, 'config'>,
  domain: { id: string; tenant_id: string; name: string },
  now: number,
): Promise<boolean> {
  const t = repos(executorOf(trx), tenantScope(domain.tenant_id));
  if (await operatorAddress(t)) return false;
  const applianceTarget = `postmaster@${deps.config.hostname}`.toLowerCase();
  if (await t.aliases.domainNameHosted(deps.config.hostname.toLowerCase())) return false;
  const address = `postmaster@${domain.name}`;
  const alias = await t.aliases.activeByAddress(address);
  if (!alias) return false;
  if (alias.targets.length !== 1 || alias.targets[0]!.toLowerCase() !== applianceTarget) return false;
  const reason = 'no operator or tenant administrator has an address: postmaster@ is kept in a mailbox of its own (RFC 5321 §4.5.1)';
  await t.aliases.delete(alias.id);
  await audit(t, actor, { action: 'alias.delete', targetType: 'alias', targetId: alias.id, tenantId: domain.tenant_id, before: { address, targets: alias.targets }, after: null, reason }, now);
  await createPostmasterMailbox(t, actor, deps, domain, now, reason);
  for (const s of await t.aliases.activeInDomain(domain.id)) {
    if (s.targets.length !== 1 || s.targets[0]!.toLowerCase() !== applianceTarget) continue;
    await t.aliases.update(s.id, { targets: [address] }, now);
    await audit(t, actor, { action: 'alias.update', targetType: 'alias', targetId: s.id, tenantId: domain.tenant_id, before: { targets: s.targets }, after: { targets: [address] }, reason }, now);
  }
  return true;
}

/** The postmaster@ role mailbox of postmasterFallback, owned by the appliance's postmaster. */
async function createPostmasterMailbox(t: Repos, actor: Actor, deps: Pick<CoreDeps, 'config'>, domain: { id: string; tenant_id: string; name: string }, now: number, reason: string): Promise<void> {
  const applianceTarget = `postmaster@${deps.config.hostname}`.toLowerCase();
  const address = `postmaster@${domain.name}`;
  const owner = { name: 'Appliance postmaster (the operator)', email: applianceTarget };
  const status = statusAfter(planTransition('create', null));
  const id = newId('mbx');
  await t.mailboxes.insert({
    id,
    tenant_id: domain.tenant_id,
    domain_id: domain.id,
    local_part: 'postmaster',
    address,
    display_name: `Postmaster of ${domain.name}`,
    status,
    quota_bytes: deps.config.defaultQuotaBytes,
    password_hash: null,
    owner_name: owner.name,
    owner_email: owner.email,
    business_owner_name: null,
    business_owner_email: null,
    reset_destination: applianceTarget,
    is_role: 1,
    deleted_at: null,
    purge_after: null,
    status_before_delete: null,
    deleted_with: null,
    created_at: now,
    updated_at: now,
  });
  await createDefaultFolders(trxOf(t), id, now);
  await audit(
    t,
    actor,
    {
      action: 'mailbox.create',
      targetType: 'mailbox',
      targetId: id,
      tenantId: domain.tenant_id,
      after: { address, status, isRole: true, required: true, owner, resetDestination: applianceTarget, credentialDelivery: 'reset link to the appliance postmaster' },
      reason,
    },
    now,
  );
}

export interface RequiredAddressReconciliation {
  /** Aliases migration 0019 created without audit events, now audited. */
  auditedBackfill: number;
}

/**
 * At boot, after migrations: migration 0019 created required aliases without audit events
 * (a frozen migration cannot use the audit chain code, which may change later): each one that
 * still has no audit event gets its `alias.create`, by the system actor, saying so; Idempotent.
 */
export async function reconcileRequiredAddresses(actor: Actor, deps: Pick<CoreDeps, 'db' | 'config' | 'now'>): Promise<RequiredAddressReconciliation> {
  const result: RequiredAddressReconciliation = { auditedBackfill: 0 };
  const r = repos(deps.db, PLATFORM_SCOPE);
  const backfilled = await r.aliases.unauditedBackfill();
  if (backfilled.length) {
    const now = deps.now();
    await r.transaction(async (t) => {
      for (const a of backfilled) {
        await audit(
          t,
          actor,
          {
            action: 'alias.create',
            targetType: 'alias',
            targetId: a.id,
            tenantId: a.tenant_id,
            after: { address: a.address, targets: a.targets, required: true, createdAt: new Date(a.created_at).toISOString(), createdBy: 'migration 0019_role_address_backfill' },
            reason: 'required address created by migration 0019 (backfill); recorded at the next boot',
          },
          now,
        );
      }
    });
    result.auditedBackfill = backfilled.length;
  }
  return result;
}

/**
 * The router's hook for a refused recipient of a hosted domain: when its postmaster@ leads
 * nowhere (see postmasterFallback), make the mailbox now, so the message is accepted and kept.
 * Cheap when it does not apply (one or two indexed reads); only ever called on a refusal.
 */
export async function postmasterFallbackFor(actor: Actor, deps: Pick<CoreDeps, 'db' | 'config' | 'now'>, domainId: string, address: string): Promise<boolean> {
  const r = repos(deps.db, PLATFORM_SCOPE);
  const d = await r.aliases.activePrimaryDomain(domainId);
  if (!d) return false;
  const leadsToAppliance = async (a: string) => {
    const row = await r.aliases.activeByAddress(a, d.id);
    return !!row && row.targets.some((x) => x.toLowerCase() === `postmaster@${deps.config.hostname.toLowerCase()}`);
  };
  // Only for an address that itself leads to the appliance's postmaster (a required alias), and
  // only while the domain's postmaster@ does too: any other refusal stays a refusal, untouched.
  if (!(await leadsToAppliance(address.toLowerCase())) || !(await leadsToAppliance(`postmaster@${d.name}`))) return false;
  return r.transaction((t) => postmasterFallback(t, actor, deps, d, deps.now()));
}
