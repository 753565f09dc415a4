/**
 * Aliases: an address of a hosted domain that delivers to one or more target addresses. A
 * target in a domain hosted here must be a mailbox or alias of the same tenant; external
 * targets are forwards and are recorded as such (creator, audit) for the forwarding reports
 * of the control plane.
 */
import type { Alias } from '../../db/tables/control.table.js';
import type { AliasStatus } from '../../db/tables/status.js';
import { normalizeLocalPart } from '../kernel/addresses.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { type Repos, repos } from '../../db/repos/index.js';
import type { AliasFilter } from '../../db/repos/aliases.js';
import { resolveTarget } from './targets.js';
import { iso, isUniqueViolation, pageOf } from '../kernel/util.js';
import { audit } from './unit.js';

export type { AliasFilter } from '../../db/repos/aliases.js';

export const MAX_ALIAS_TARGETS = 50;

export interface AliasView {
  id: string;
  tenantId: string;
  domainId: string;
  address: string;
  targets: string[];
  status: string;
  createdAt: string;
}

export function aliasView(a: Alias): AliasView {
  return { id: a.id, tenantId: a.tenant_id, domainId: a.domain_id, address: a.address, targets: JSON.parse(a.targets) as string[], status: a.status, createdAt: iso(a.created_at)! };
}

export async function createAlias(actor: Actor, deps: CoreDeps, domainId: string, input: { localPart: string; targets: string[] }): Promise<AliasView> {
  authorize(actor, 'forwarding.manage');
  const r = repos(deps.db, scopeOf(actor));
  const domain = await r.domains.get(domainId);
  if (domain.alias_of) throw invalid(`${domain.name} is an alias of another domain; create the alias in that domain`, { field: 'domainId' });
  const localPart = normalizeLocalPart(input.localPart);
  const address = `${localPart}@${domain.name}`;
  assertTargetCount(input.targets);
  const now = deps.now();
  const id = newId('als');
  try {
    return await r.transaction(async (t) => {
      if (await t.mailboxes.addressTaken(address)) throw new AppError('AlreadyExists', `${address} already exists`);
      const { targets, external } = await resolveTargets(t, domain.tenant_id, address, input.targets);
      await t.aliases.insert({ id, tenant_id: domain.tenant_id, domain_id: domain.id, local_part: localPart, address, targets, created_by: actor.principalId, created_at: now });
      await audit(t, actor, { action: 'alias.create', targetType: 'alias', targetId: id, tenantId: domain.tenant_id, after: { address, targets, externalTargets: external } }, now);
      return { id, tenantId: domain.tenant_id, domainId: domain.id, address, targets, status: 'active', createdAt: iso(now)! };
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('AlreadyExists', `${address} already exists`);
    throw err;
  }
}

function assertTargetCount(targets: unknown): void {
  if (!Array.isArray(targets) || targets.length === 0 || targets.length > MAX_ALIAS_TARGETS) {
    throw invalid(`targets must list 1 to ${MAX_ALIAS_TARGETS} addresses`, { field: 'targets' });
  }
}

/** Validates and de-duplicates targets: mailboxes or aliases of the tenant (any of its domains), or external forwards. */
async function resolveTargets(t: Repos, tenantId: string, address: string, raw: string[]): Promise<{ targets: string[]; external: string[] }> {
  const targets: string[] = [];
  const external: string[] = [];
  for (const [i, r] of raw.entries()) {
    const target = await resolveTarget(t, tenantId, r, `targets[${i}]`);
    if (target.address === address) throw invalid(`an alias cannot target itself (${address})`, { field: `targets[${i}]` });
    if (targets.includes(target.address)) continue;
    targets.push(target.address);
    if (target.kind === 'external') external.push(target.address);
  }
  return { targets, external };
}

/** Replaces an alias's targets and/or turns it off (`status: disabled`) or on. */
export async function updateAlias(actor: Actor, deps: CoreDeps, aliasId: string, input: { targets?: string[]; status?: 'active' | 'disabled'; reason?: string }): Promise<AliasView> {
  authorize(actor, 'forwarding.manage');
  const r = repos(deps.db, scopeOf(actor));
  const alias = await r.aliases.get(aliasId);
  const now = deps.now();
  await r.transaction(async (t) => {
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    const set: { targets?: string[]; status?: AliasStatus } = {};
    if (input.targets !== undefined) {
      assertTargetCount(input.targets);
      const { targets, external } = await resolveTargets(t, alias.tenant_id, alias.address, input.targets);
      const old = JSON.parse(alias.targets) as string[];
      if (JSON.stringify(old) !== JSON.stringify(targets)) {
        before.targets = old;
        after.targets = targets;
        after.externalTargets = external;
        set.targets = targets;
      }
    }
    if (input.status !== undefined && input.status !== alias.status) {
      before.status = alias.status;
      after.status = input.status;
      set.status = input.status;
    }
    if (!Object.keys(after).length) return;
    await t.aliases.update(alias.id, set, now);
    await audit(t, actor, { action: 'alias.update', targetType: 'alias', targetId: alias.id, tenantId: alias.tenant_id, before, after, reason: input.reason ?? null }, now);
  });
  return aliasView(await r.aliases.get(alias.id));
}

/** Deletes an alias; its address becomes free. The audit event keeps what it was (to recreate it). */
export async function deleteAlias(actor: Actor, deps: CoreDeps, aliasId: string, input: { reason?: string } = {}): Promise<void> {
  authorize(actor, 'forwarding.manage');
  const r = repos(deps.db, scopeOf(actor));
  const alias = await r.aliases.get(aliasId);
  const now = deps.now();
  await r.transaction(async (t) => {
    await t.aliases.delete(alias.id);
    await audit(
      t,
      actor,
      {
        action: 'alias.delete',
        targetType: 'alias',
        targetId: alias.id,
        tenantId: alias.tenant_id,
        before: { address: alias.address, targets: JSON.parse(alias.targets) as string[], status: alias.status },
        reason: input.reason ?? null,
      },
      now,
    );
  });
}

export async function listTenantAliases(actor: Actor, deps: CoreDeps, tenantId: string, page: { limit?: number; after?: string | null } = {}, filter: AliasFilter = {}): Promise<AliasView[]> {
  authorize(actor, 'forwarding.read');
  const r = repos(deps.db, scopeOf(actor));
  await r.tenants.get(tenantId);
  return (await r.aliases.listInTenant(tenantId, filter, pageOf(page))).map(aliasView);
}

export async function getAlias(actor: Actor, deps: CoreDeps, aliasId: string): Promise<AliasView> {
  authorize(actor, 'forwarding.read');
  return aliasView(await repos(deps.db, scopeOf(actor)).aliases.get(aliasId));
}

export async function listAliases(actor: Actor, deps: CoreDeps, domainId: string, page: { limit?: number; after?: string | null } = {}, filter: { q?: string } = {}): Promise<AliasView[]> {
  authorize(actor, 'forwarding.read');
  const r = repos(deps.db, scopeOf(actor));
  const domain = await r.domains.get(domainId);
  return (await r.aliases.listInTenant(domain.tenant_id, { domainId: domain.id, q: filter.q }, pageOf(page))).map(aliasView);
}
