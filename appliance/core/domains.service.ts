/**
 * Hosted domains: creation with DKIM key pairs, the DNS records a domain needs, catch-all.
 */
import type { Domain } from '../db/tables/control.table.js';
import { normalizeDomainName } from './addresses.js';
import { appendAudit } from './audit.js';
import { type Actor, authorize } from './authz.js';
import type { CoreDeps } from './deps.js';
import { dkimTxtValue, generateDomainDkimKeys } from './dkim.js';
import { AppError, invalid } from './errors.js';
import { newId } from './ids.js';
import { Directory, scopedRepo } from './repo.js';
import { resolveTarget } from './targets.js';
import { iso, isUniqueViolation, pageOf } from './util.js';

export interface DomainView {
  id: string;
  tenantId: string;
  name: string;
  status: string;
  verification: string;
  catchAll: string | null;
  createdAt: string;
}

export interface DnsRecord {
  type: 'MX' | 'TXT';
  name: string;
  value: string;
  priority?: number;
}

export function domainView(d: Domain): DomainView {
  return { id: d.id, tenantId: d.tenant_id, name: d.name, status: d.status, verification: d.verification, catchAll: d.catch_all, createdAt: iso(d.created_at)! };
}

export async function createDomain(actor: Actor, deps: CoreDeps, tenantId: string, input: { name: string }): Promise<DomainView> {
  authorize(actor, 'domains.manage');
  const name = normalizeDomainName(input.name);
  const tenant = await scopedRepo(deps.db, actor).tenant(tenantId);
  if (await new Directory(deps.db).domainNameTaken(name)) throw new AppError('AlreadyExists', `${name} is already hosted on this appliance`);
  const now = deps.now();
  // Key generation is slow-ish: done before the transaction opens.
  const keys = await generateDomainDkimKeys(now);
  const id = newId('dom');
  try {
    await deps.db.transaction().execute(async (trx) => {
      if (await new Directory(trx).domainNameTaken(name)) throw new AppError('AlreadyExists', `${name} is already hosted on this appliance`);
      await trx.insertInto('domains').values({ id, tenant_id: tenant.id, name, catch_all: null, created_at: now, updated_at: now }).execute();
      await trx
        .insertInto('dkim_keys')
        .values(
          keys.map((k) => ({
            id: newId('dkm'),
            domain_id: id,
            selector: k.selector,
            algorithm: k.algorithm,
            private_key: k.privateKeyPem,
            public_key: k.publicKey,
            status: 'active',
            created_at: now,
            retired_at: null,
          })),
        )
        .execute();
      await appendAudit(
        trx,
        actor,
        {
          action: 'domain.create',
          targetType: 'domain',
          targetId: id,
          tenantId: tenant.id,
          after: { name, dkim: keys.map((k) => ({ selector: k.selector, algorithm: k.algorithm, publicKey: k.publicKey })) },
        },
        now,
      );
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('AlreadyExists', `${name} is already hosted on this appliance`);
    throw err;
  }
  return { id, tenantId: tenant.id, name, status: 'active', verification: 'pending', catchAll: null, createdAt: iso(now)! };
}

export async function getDomain(actor: Actor, deps: CoreDeps, domainId: string): Promise<DomainView> {
  authorize(actor, 'domains.read');
  return domainView(await scopedRepo(deps.db, actor).domain(domainId));
}

export async function listDomains(actor: Actor, deps: CoreDeps, tenantId: string, page: { limit?: number; after?: string | null } = {}): Promise<DomainView[]> {
  authorize(actor, 'domains.read');
  const repo = scopedRepo(deps.db, actor);
  await repo.tenant(tenantId);
  return (await repo.listDomains(tenantId, pageOf(page))).map(domainView);
}

/** MX, SPF, one DKIM TXT per live selector, DMARC (quarantine). */
export async function domainDnsRecords(actor: Actor, deps: CoreDeps, domainId: string): Promise<DnsRecord[]> {
  authorize(actor, 'domains.read');
  const domain = await scopedRepo(deps.db, actor).domain(domainId);
  const keys = await deps.db
    .selectFrom('dkim_keys')
    .select(['selector', 'algorithm', 'public_key'])
    .where('domain_id', '=', domain.id)
    .where('status', 'in', ['active', 'published'])
    .orderBy('created_at')
    .orderBy('selector')
    .execute();
  const host = deps.config.hostname;
  return [
    { type: 'MX', name: domain.name, value: host, priority: 10 },
    { type: 'TXT', name: domain.name, value: 'v=spf1 mx -all' },
    ...keys.map((k) => ({ type: 'TXT' as const, name: `${k.selector}._domainkey.${domain.name}`, value: dkimTxtValue(k.algorithm, k.public_key) })),
    { type: 'TXT', name: `_dmarc.${domain.name}`, value: `v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@${domain.name}` },
  ];
}

/**
 * Sets (or clears, with null) the address that receives mail for unknown local parts. The
 * target must be a mailbox or alias of the domain's tenant: a catch-all never forwards out.
 */
export async function setCatchAll(actor: Actor, deps: CoreDeps, domainId: string, target: string | null): Promise<DomainView> {
  authorize(actor, 'forwarding.manage');
  const domain = await scopedRepo(deps.db, actor).domain(domainId);
  const now = deps.now();
  let address: string | null = null;
  await deps.db.transaction().execute(async (trx) => {
    if (target !== null) {
      const resolved = await resolveTarget(trx, domain.tenant_id, target, 'target');
      if (resolved.kind === 'external') throw invalid(`catch-all target ${resolved.address} must be a mailbox or alias of this tenant`, { field: 'target' });
      address = resolved.address;
    }
    await trx.updateTable('domains').set({ catch_all: address, updated_at: now }).where('id', '=', domain.id).where('tenant_id', '=', domain.tenant_id).execute();
    await appendAudit(
      trx,
      actor,
      { action: address ? 'domain.catch_all.set' : 'domain.catch_all.clear', targetType: 'domain', targetId: domain.id, tenantId: domain.tenant_id, before: { catchAll: domain.catch_all }, after: { catchAll: address } },
      now,
    );
  });
  return domainView({ ...domain, catch_all: address, updated_at: now });
}
