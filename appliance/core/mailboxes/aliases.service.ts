/**
 * Aliases: an address of a hosted domain that delivers to one or more target addresses. A
 * target in a domain hosted here must be a mailbox or alias of the same tenant; external
 * targets are forwards and are recorded as such (creator, audit) for the forwarding reports
 * of the control plane.
 */
import type { Alias } from '../../db/tables/control.table.js';
import { normalizeLocalPart } from '../kernel/addresses.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import { type AliasFilter, Directory, scopedRepo } from '../../db/repo.js';
import { resolveTarget } from './targets.js';
import { iso, isUniqueViolation, pageOf } from '../kernel/util.js';

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
  const domain = await scopedRepo(deps.db, actor).domain(domainId);
  if (domain.alias_of) throw invalid(`${domain.name} is an alias of another domain; create the alias in that domain`, { field: 'domainId' });
  const localPart = normalizeLocalPart(input.localPart);
  const address = `${localPart}@${domain.name}`;
  assertTargetCount(input.targets);
  const now = deps.now();
  const id = newId('als');
  try {
    return await deps.db.transaction().execute(async (trx) => {
      if (await new Directory(trx).addressTaken(address)) throw new AppError('AlreadyExists', `${address} already exists`);
      const { targets, external } = await resolveTargets(trx, domain.tenant_id, address, input.targets);
      await trx
        .insertInto('aliases')
        .values({ id, tenant_id: domain.tenant_id, domain_id: domain.id, local_part: localPart, address, targets: JSON.stringify(targets), created_by: actor.principalId, created_at: now, updated_at: now })
        .execute();
      await appendAudit(trx, actor, { action: 'alias.create', targetType: 'alias', targetId: id, tenantId: domain.tenant_id, after: { address, targets, externalTargets: external } }, now);
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
async function resolveTargets(trx: Transaction<DB>, tenantId: string, address: string, raw: string[]): Promise<{ targets: string[]; external: string[] }> {
  const targets: string[] = [];
  const external: string[] = [];
  for (const [i, r] of raw.entries()) {
    const t = await resolveTarget(trx, tenantId, r, `targets[${i}]`);
    if (t.address === address) throw invalid(`an alias cannot target itself (${address})`, { field: `targets[${i}]` });
    if (targets.includes(t.address)) continue;
    targets.push(t.address);
    if (t.kind === 'external') external.push(t.address);
  }
  return { targets, external };
}

/** Replaces an alias's targets and/or turns it off (`status: disabled`) or on. */
export async function updateAlias(actor: Actor, deps: CoreDeps, aliasId: string, input: { targets?: string[]; status?: 'active' | 'disabled'; reason?: string }): Promise<AliasView> {
  authorize(actor, 'forwarding.manage');
  const repo = scopedRepo(deps.db, actor);
  const alias = await repo.alias(aliasId);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    const set: { targets?: string; status?: string; updated_at: number } = { updated_at: now };
    if (input.targets !== undefined) {
      assertTargetCount(input.targets);
      const { targets, external } = await resolveTargets(trx, alias.tenant_id, alias.address, input.targets);
      const old = JSON.parse(alias.targets) as string[];
      if (JSON.stringify(old) !== JSON.stringify(targets)) {
        before.targets = old;
        after.targets = targets;
        after.externalTargets = external;
        set.targets = JSON.stringify(targets);
      }
    }
    if (input.status !== undefined && input.status !== alias.status) {
      before.status = alias.status;
      after.status = input.status;
      set.status = input.status;
    }
    if (!Object.keys(after).length) return;
    await trx.updateTable('aliases').set(set).where('id', '=', alias.id).where('tenant_id', '=', alias.tenant_id).execute();
    await appendAudit(trx, actor, { action: 'alias.update', targetType: 'alias', targetId: alias.id, tenantId: alias.tenant_id, before, after, reason: input.reason ?? null }, now);
  });
  return aliasView(await repo.alias(alias.id));
}

/** Deletes an alias; its address becomes free. The audit event keeps what it was (to recreate it). */
export async function deleteAlias(actor: Actor, deps: CoreDeps, aliasId: string, input: { reason?: string } = {}): Promise<void> {
  authorize(actor, 'forwarding.manage');
  const alias = await scopedRepo(deps.db, actor).alias(aliasId);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('aliases').where('id', '=', alias.id).where('tenant_id', '=', alias.tenant_id).execute();
    await appendAudit(
      trx,
      actor,
      { action: 'alias.delete', targetType: 'alias', targetId: alias.id, tenantId: alias.tenant_id, before: { address: alias.address, targets: JSON.parse(alias.targets) as string[], status: alias.status }, reason: input.reason ?? null },
      now,
    );
  });
}

export async function listTenantAliases(
  actor: Actor,
  deps: CoreDeps,
  tenantId: string,
  page: { limit?: number; after?: string | null } = {},
  filter: AliasFilter = {},
): Promise<AliasView[]> {
  authorize(actor, 'forwarding.read');
  const repo = scopedRepo(deps.db, actor);
  await repo.tenant(tenantId);
  return (await repo.listTenantAliases(tenantId, filter, pageOf(page))).map(aliasView);
}

export async function getAlias(actor: Actor, deps: CoreDeps, aliasId: string): Promise<AliasView> {
  authorize(actor, 'forwarding.read');
  return aliasView(await scopedRepo(deps.db, actor).alias(aliasId));
}

export async function listAliases(
  actor: Actor,
  deps: CoreDeps,
  domainId: string,
  page: { limit?: number; after?: string | null } = {},
  filter: { q?: string } = {},
): Promise<AliasView[]> {
  authorize(actor, 'forwarding.read');
  const repo = scopedRepo(deps.db, actor);
  const domain = await repo.domain(domainId);
  return (await repo.listTenantAliases(domain.tenant_id, { domainId: domain.id, q: filter.q }, pageOf(page))).map(aliasView);
}
