/**
 * Aliases: an address of a hosted domain that delivers to one or more target addresses. A
 * target in a domain hosted here must be a mailbox or alias of the same tenant; external
 * targets are forwards and are recorded as such (creator, audit) for the forwarding reports
 * of the control plane.
 */
import type { Alias } from '../db/tables/control.table.js';
import { normalizeLocalPart } from './addresses.js';
import { appendAudit } from './audit.js';
import { type Actor, authorize } from './authz.js';
import type { CoreDeps } from './deps.js';
import { AppError, invalid } from './errors.js';
import { newId } from './ids.js';
import { Directory, scopedRepo } from './repo.js';
import { resolveTarget } from './targets.js';
import { iso, isUniqueViolation, pageOf } from './util.js';

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
  const localPart = normalizeLocalPart(input.localPart);
  const address = `${localPart}@${domain.name}`;
  if (!Array.isArray(input.targets) || input.targets.length === 0 || input.targets.length > MAX_ALIAS_TARGETS) {
    throw invalid(`targets must list 1 to ${MAX_ALIAS_TARGETS} addresses`, { field: 'targets' });
  }
  const now = deps.now();
  const id = newId('als');
  try {
    return await deps.db.transaction().execute(async (trx) => {
      if (await new Directory(trx).addressTaken(address)) throw new AppError('AlreadyExists', `${address} already exists`);
      const targets: string[] = [];
      const external: string[] = [];
      for (const [i, raw] of input.targets.entries()) {
        const t = await resolveTarget(trx, domain.tenant_id, raw, `targets[${i}]`);
        if (t.address === address) throw invalid(`an alias cannot target itself (${address})`, { field: `targets[${i}]` });
        if (targets.includes(t.address)) continue;
        targets.push(t.address);
        if (t.kind === 'external') external.push(t.address);
      }
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

export async function getAlias(actor: Actor, deps: CoreDeps, aliasId: string): Promise<AliasView> {
  authorize(actor, 'forwarding.read');
  return aliasView(await scopedRepo(deps.db, actor).alias(aliasId));
}

export async function listAliases(actor: Actor, deps: CoreDeps, domainId: string, page: { limit?: number; after?: string | null } = {}): Promise<AliasView[]> {
  authorize(actor, 'forwarding.read');
  const repo = scopedRepo(deps.db, actor);
  await repo.domain(domainId);
  return (await repo.listAliases(domainId, pageOf(page))).map(aliasView);
}
