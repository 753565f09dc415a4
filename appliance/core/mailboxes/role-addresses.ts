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
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { newId } from '../kernel/ids.js';
import { scopedRepo } from '../../db/repo.js';
import { createDefaultFolders } from '../../mailstore/folders.js';
import { resolveTarget } from './targets.js';

export const ALWAYS_REQUIRED = ['postmaster', 'abuse'] as const;

/** The local parts a domain must answer for, given its DMARC/TLS-RPT report local part. */
export function requiredLocalParts(reportLocalPart: string): string[] {
  return [...new Set([...ALWAYS_REQUIRED, reportLocalPart])];
}

export type RoleTargetSource = 'tenant-choice' | 'tenant-contact' | 'operator' | 'appliance-postmaster';

/** The oldest operator's address (the platform's postmaster), or null when operators are tokens only. */
export async function operatorAddress(db: Kysely<DB>): Promise<string | null> {
  const row = await db.selectFrom('principals').select('email').where('tenant_id', 'is', null).where('status', '!=', 'disabled').orderBy('created_at').limit(1).executeTakeFirst();
  return row?.email ?? null;
}

/** Where a tenant's required addresses deliver by default, and why. */
export async function roleMailTarget(db: Kysely<DB>, deps: Pick<CoreDeps, 'config'>, tenantId: string): Promise<{ address: string; source: RoleTargetSource }> {
  const tenant = await db.selectFrom('tenants').select('role_mail_to').where('id', '=', tenantId).executeTakeFirst();
  if (tenant?.role_mail_to) return { address: tenant.role_mail_to, source: 'tenant-choice' };
  const admins = await db.selectFrom('principals').select('email').where('tenant_id', '=', tenantId).where('status', '!=', 'disabled').orderBy('created_at').limit(5).execute();
  for (const a of admins) {
    // An administrator whose address is hosted by another tenant would stack domains: skip it.
    if (await resolveTarget(db, tenantId, a.email, 'roleMailTo').then(() => true, () => false)) return { address: a.email.toLowerCase(), source: 'tenant-contact' };
  }
  const op = await operatorAddress(db);
  if (op && (await resolveTarget(db, tenantId, op, 'roleMailTo').then(() => true, () => false))) return { address: op.toLowerCase(), source: 'operator' };
  return { address: `postmaster@${deps.config.hostname}`.toLowerCase(), source: 'appliance-postmaster' };
}

/**
 * Creates the required aliases of a domain inside the caller's transaction; an address already
 * held by a mailbox or alias is left as it is. Returns what it made. `audit: 'own'` records one
 * `alias.create` per alias; `'caller'` leaves it to the caller's event (domain.create lists them).
 */
export async function ensureRequiredAddresses(
  trx: Transaction<DB>,
  actor: Actor,
  domain: { id: string; tenant_id: string; name: string },
  localParts: string[],
  target: string,
  now: number,
  audit: 'own' | 'caller' = 'own',
): Promise<string[]> {
  const made: string[] = [];
  for (const local of localParts) {
    const address = `${local}@${domain.name}`;
    const taken =
      (await trx.selectFrom('mailboxes').select('id').where('address', '=', address).executeTakeFirst()) ??
      (await trx.selectFrom('aliases').select('id').where('address', '=', address).executeTakeFirst());
    if (taken) continue;
    const id = newId('als');
    await trx
      .insertInto('aliases')
      .values({ id, tenant_id: domain.tenant_id, domain_id: domain.id, local_part: local, address, targets: JSON.stringify([target]), created_by: actor.principalId, created_at: now, updated_at: now })
      .execute();
    if (audit === 'own') await appendAudit(
      trx,
      actor,
      { action: 'alias.create', targetType: 'alias', targetId: id, tenantId: domain.tenant_id, after: { address, targets: [target], required: true }, reason: 'required address of every mail domain (RFC 5321 postmaster, RFC 2142 abuse, DMARC/TLS-RPT reports)' },
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
export async function requiredAddressesOf(db: Kysely<DB>, domain: { id: string; name: string }, reportLocalPart: string): Promise<RequiredAddressView[]> {
  const purposes: Record<string, string> = { postmaster: 'RFC 5321 §4.5.1: mail about mail problems', abuse: 'RFC 2142: abuse reports' };
  const out: RequiredAddressView[] = [];
  for (const local of requiredLocalParts(reportLocalPart)) {
    const address = `${local}@${domain.name}`;
    const purpose = purposes[local] ?? 'DMARC aggregate and TLS-RPT reports (the rua of the domain’s own records)';
    const mb = await db.selectFrom('mailboxes').select('address').where('address', '=', address).where('status', '!=', 'deleted').executeTakeFirst();
    if (mb) {
      out.push({ address, purpose, deliversTo: [mb.address], kind: 'mailbox' });
      continue;
    }
    const al = await db.selectFrom('aliases').select('targets').where('address', '=', address).where('status', '=', 'active').executeTakeFirst();
    out.push(al ? { address, purpose, deliversTo: JSON.parse(al.targets) as string[], kind: 'alias' } : { address, purpose, deliversTo: [], kind: 'missing' });
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
  const repo = scopedRepo(deps.db, actor);
  const tenant = await repo.tenant(tenantId);
  const chosen = input.target === null ? null : (await resolveTarget(deps.db, tenant.id, input.target, 'target')).address;
  const before = await roleMailTarget(deps.db, deps, tenant.id);
  const now = deps.now();
  const repointed: string[] = [];
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('tenants').set({ role_mail_to: chosen, updated_at: now }).where('id', '=', tenant.id).execute();
    await appendAudit(trx, actor, { action: 'tenant.required_addresses.set', targetType: 'tenant', targetId: tenant.id, tenantId: tenant.id, before: { roleMailTo: tenant.role_mail_to ?? null, effective: before.address }, after: { roleMailTo: chosen }, reason: input.reason ?? null }, now);
    const after = await roleMailTarget(trx, deps, tenant.id);
    const appliancePostmaster = `postmaster@${deps.config.hostname}`.toLowerCase();
    if (after.address === before.address && after.address === appliancePostmaster) return;
    const domains = await trx.selectFrom('domains').select(['id', 'name']).where('tenant_id', '=', tenant.id).where('status', '=', 'active').where('alias_of', 'is', null).execute();
    for (const d of domains) {
      const settings = await trx.selectFrom('domain_settings').select('settings').where('domain_id', '=', d.id).executeTakeFirst();
      const report = (settings ? (JSON.parse(settings.settings) as { dmarc?: { reportLocalPart?: string } }).dmarc?.reportLocalPart : undefined) ?? 'dmarc-reports';
      for (const local of requiredLocalParts(report)) {
        const al = await trx.selectFrom('aliases').select(['id', 'address', 'targets']).where('address', '=', `${local}@${d.name}`).where('tenant_id', '=', tenant.id).where('status', '=', 'active').executeTakeFirst();
        if (!al) continue;
        const targets = JSON.parse(al.targets) as string[];
        // Still at the old destination, or at the appliance's postmaster (the last default, which a
        // domain created before anyone had an address got): both are defaults, not hand-picked.
        if (targets.length !== 1 || (targets[0] !== before.address && targets[0] !== appliancePostmaster)) continue;
        await trx.updateTable('aliases').set({ targets: JSON.stringify([after.address]), updated_at: now }).where('id', '=', al.id).execute();
        await appendAudit(trx, actor, { action: 'alias.update', targetType: 'alias', targetId: al.id, tenantId: tenant.id, before: { targets }, after: { targets: [after.address] }, reason: 'required addresses follow the tenant’s choice' }, now);
        repointed.push(al.address);
      }
    }
  });
  const effective = await roleMailTarget(deps.db, deps, tenant.id);
  return { chosen, effective: effective.address, source: effective.source, repointed };
}

/** The tenant's current choice and the effective destination. */
export async function requiredAddressDestination(actor: Actor, deps: CoreDeps, tenantId: string): Promise<Omit<RequiredAddressDestination, 'repointed'>> {
  authorize(actor, 'domains.read');
  const tenant = await scopedRepo(deps.db, actor).tenant(tenantId);
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
  trx: Transaction<DB>,
  actor: Actor,
  deps: Pick<CoreDeps, 'config'>,
  domain: { id: string; tenant_id: string; name: string },
  now: number,
): Promise<boolean> {
  if (await operatorAddress(trx)) return false;
  const applianceTarget = `postmaster@${deps.config.hostname}`.toLowerCase();
  if (await trx.selectFrom('domains').select('id').where('name', '=', deps.config.hostname.toLowerCase()).executeTakeFirst()) return false;
  const address = `postmaster@${domain.name}`;
  const alias = await trx.selectFrom('aliases').select(['id', 'targets']).where('address', '=', address).where('tenant_id', '=', domain.tenant_id).where('status', '=', 'active').executeTakeFirst();
  if (!alias) return false;
  const targets = JSON.parse(alias.targets) as string[];
  if (targets.length !== 1 || targets[0]!.toLowerCase() !== applianceTarget) return false;
  const reason = 'no operator or tenant administrator has an address: postmaster@ is kept in a mailbox of its own (RFC 5321 §4.5.1)';
  await trx.deleteFrom('aliases').where('id', '=', alias.id).execute();
  await appendAudit(trx, actor, { action: 'alias.delete', targetType: 'alias', targetId: alias.id, tenantId: domain.tenant_id, before: { address, targets }, after: null, reason }, now);
  const id = newId('mbx');
  await trx
    .insertInto('mailboxes')
    .values({
      id,
      tenant_id: domain.tenant_id,
      domain_id: domain.id,
      local_part: 'postmaster',
      address,
      display_name: `Postmaster of ${domain.name}`,
      status: 'pending',
      quota_bytes: deps.config.defaultQuotaBytes,
      password_hash: null,
      owner_name: 'Appliance postmaster (the operator)',
      owner_email: applianceTarget,
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
    })
    .execute();
  await createDefaultFolders(trx, id, now);
  await appendAudit(
    trx,
    actor,
    { action: 'mailbox.create', targetType: 'mailbox', targetId: id, tenantId: domain.tenant_id, after: { address, status: 'pending', isRole: true, required: true, owner: { name: 'Appliance postmaster (the operator)', email: applianceTarget }, resetDestination: applianceTarget, credentialDelivery: 'reset link to the appliance postmaster' }, reason },
    now,
  );
  const siblings = await trx.selectFrom('aliases').select(['id', 'address', 'targets']).where('domain_id', '=', domain.id).where('status', '=', 'active').execute();
  for (const s of siblings) {
    const t = JSON.parse(s.targets) as string[];
    if (t.length !== 1 || t[0]!.toLowerCase() !== applianceTarget) continue;
    await trx.updateTable('aliases').set({ targets: JSON.stringify([address]), updated_at: now }).where('id', '=', s.id).execute();
    await appendAudit(trx, actor, { action: 'alias.update', targetType: 'alias', targetId: s.id, tenantId: domain.tenant_id, before: { targets: t }, after: { targets: [address] }, reason }, now);
  }
  return true;
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
  const backfilled = await deps.db
    .selectFrom('aliases')
    .select(['id', 'tenant_id', 'address', 'targets', 'created_at'])
    .where('created_by', '=', 'system:migration')
    // audit_target_idx (target_type, target_id) answers each lookup: boot stays fast on a long log.
    .where((eb) => eb.not(eb.exists(eb.selectFrom('audit_events').select('audit_events.id').where('audit_events.target_type', '=', 'alias').whereRef('audit_events.target_id', '=', 'aliases.id').where('audit_events.action', '=', 'alias.create'))))
    .execute();
  if (backfilled.length) {
    const now = deps.now();
    await deps.db.transaction().execute(async (trx) => {
      for (const a of backfilled) {
        await appendAudit(
          trx,
          actor,
          { action: 'alias.create', targetType: 'alias', targetId: a.id, tenantId: a.tenant_id, after: { address: a.address, targets: JSON.parse(a.targets) as string[], required: true, createdAt: new Date(Number(a.created_at)).toISOString(), createdBy: 'migration 0019_role_address_backfill' }, reason: 'required address created by migration 0019 (backfill); recorded at the next boot' },
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
  const d = await deps.db.selectFrom('domains').select(['id', 'tenant_id', 'name']).where('id', '=', domainId).where('status', '=', 'active').where('alias_of', 'is', null).executeTakeFirst();
  if (!d) return false;
  const leadsToAppliance = async (a: string) => {
    const row = await deps.db.selectFrom('aliases').select('targets').where('address', '=', a).where('domain_id', '=', d.id).where('status', '=', 'active').executeTakeFirst();
    return !!row && row.targets.toLowerCase().includes(`"postmaster@${deps.config.hostname.toLowerCase()}"`);
  };
  // Only for an address that itself leads to the appliance's postmaster (a required alias), and
  // only while the domain's postmaster@ does too: any other refusal stays a refusal, untouched.
  if (!(await leadsToAppliance(address.toLowerCase())) || !(await leadsToAppliance(`postmaster@${d.name}`))) return false;
  return deps.db.transaction().execute((trx) => postmasterFallback(trx, actor, deps, d, deps.now()));
}
