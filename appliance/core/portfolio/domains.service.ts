/**
 * Hosted domains: creation with DKIM key pairs, the DNS records a domain needs, catch-all.
 */
import { assertDomainAllowsCatchAll } from '../templates/domain-policy.js';
import type { ExpectedType } from '../templates/dns-check.js';
import { domainExpectedRecords } from '../templates/dns-check.service.js';
import type { Domain } from '../../db/tables/control.table.js';
import { normalizeDomainName } from '../kernel/addresses.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { generateDomainDkimKeys } from '../templates/dkim.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { repos } from '../../db/repos/index.js';
import type { DomainFilter, DomainsRepo } from '../../db/repos/domains.js';
import { ensureRequiredAddresses, type RequiredAddressView, requiredAddressesOf, requiredLocalParts, roleMailTarget } from '../mailboxes/role-addresses.js';
import { effectiveDomainSettings } from '../templates/templates.service.js';
import { resolveTarget } from '../mailboxes/targets.js';
import { platformDefaultSettings } from '../templates/templates.js';
import { iso, isUniqueViolation, pageOf } from '../kernel/util.js';

export interface DomainView {
  id: string;
  tenantId: string;
  name: string;
  status: string;
  verification: string;
  catchAll: string | null;
  /** The id of the domain this one is an alias of (mail to local@this goes to local@that), or null. */
  aliasOf: string | null;
  createdAt: string;
}

export interface DnsRecord {
  type: ExpectedType;
  name: string;
  value: string;
  priority?: number;
  /** Why the record cannot be published as is (value empty when no DNS server may carry it). */
  unpublishable?: string;
}

export function domainView(d: Domain): DomainView {
  return { id: d.id, tenantId: d.tenant_id, name: d.name, status: d.status, verification: d.verification, catchAll: d.catch_all, aliasOf: d.alias_of ?? null, createdAt: iso(d.created_at)! };
}

/**
 * Checks that `domain` may become an alias of `targetId`: same tenant (the scoped repository
 * answers 404 otherwise, and the target must be of the domain's tenant), not itself, the target
 * not an alias (no chains), the domain neither an alias target nor holding addresses of its own.
 */
async function assertAliasable(domains: DomainsRepo, domain: { id: string; tenant_id: string; name: string }, targetId: string): Promise<string> {
  if (targetId === domain.id) throw invalid('a domain cannot be an alias of itself', { field: 'aliasOf' });
  const target = await domains.get(targetId).catch(() => null);
  if (!target || target.tenant_id !== domain.tenant_id) throw invalid('aliasOf must be another domain of the same tenant', { field: 'aliasOf' });
  if (target.alias_of) throw invalid(`${target.name} is itself an alias; point at the primary domain`, { field: 'aliasOf' });
  const pointing = await domains.aliasPointingAt(domain.id);
  if (pointing) throw new AppError('Conflict', `${pointing} is an alias of ${domain.name}; a domain alias cannot have aliases`);
  const own = await domains.firstOwnAddress(domain.id);
  if (own) throw new AppError('Conflict', `${domain.name} still has addresses of its own (${own}); a domain alias has none`);
  return target.id;
}

export async function createDomain(actor: Actor, deps: CoreDeps, tenantId: string, input: { name: string; aliasOf?: string }): Promise<DomainView> {
  authorize(actor, 'domains.manage');
  const name = normalizeDomainName(input.name);
  const scope = scopeOf(actor);
  const r = repos(deps.db, scope);
  const tenant = await r.tenants.get(tenantId);
  const aliasOf = input.aliasOf === undefined ? null : await assertAliasable(r.domains, { id: '', tenant_id: tenant.id, name }, input.aliasOf);
  if (await r.domains.nameTaken(name)) throw new AppError('AlreadyExists', `${name} is already hosted on this appliance`);
  const now = deps.now();
  // Key generation is slow-ish: done before the transaction opens.
  const keys = await generateDomainDkimKeys(now);
  // A primary domain gets the addresses every mail domain must have, delivered where the tenant chose.
  const roleTarget = aliasOf === null ? await roleMailTarget(deps.db, deps, tenant.id) : null;
  const id = newId('dom');
  try {
    await deps.db.transaction().execute(async (trx) => {
      const t = repos(trx, scope);
      if (await t.domains.nameTaken(name)) throw new AppError('AlreadyExists', `${name} is already hosted on this appliance`);
      await t.domains.insert({ id, tenant_id: tenant.id, name, alias_of: aliasOf, now });
      await t.dkim.insertActive(
        id,
        keys.map((k) => ({ id: newId('dkm'), ...k })),
        now,
      );
      const required = roleTarget
        ? await ensureRequiredAddresses(
            trx,
            actor,
            { id, tenant_id: tenant.id, name },
            requiredLocalParts(platformDefaultSettings(deps.config.defaultQuotaBytes).dmarc.reportLocalPart),
            roleTarget.address,
            now,
            'caller',
          )
        : [];
      await appendAudit(
        trx,
        actor,
        {
          action: 'domain.create',
          targetType: 'domain',
          targetId: id,
          tenantId: tenant.id,
          after: {
            name,
            aliasOf,
            dkim: keys.map((k) => ({ selector: k.selector, algorithm: k.algorithm, publicKey: k.publicKey })),
            ...(required.length ? { requiredAddresses: required.map((address) => ({ address, targets: [roleTarget!.address], source: roleTarget!.source })) } : {}),
          },
        },
        now,
      );
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('AlreadyExists', `${name} is already hosted on this appliance`);
    throw err;
  }
  return { id, tenantId: tenant.id, name, status: 'active', verification: 'pending', catchAll: null, aliasOf, createdAt: iso(now)! };
}

export async function getDomain(actor: Actor, deps: CoreDeps, domainId: string): Promise<DomainView & { requiredAddresses?: RequiredAddressView[] }> {
  authorize(actor, 'domains.read');
  const d = await repos(deps.db, scopeOf(actor)).domains.get(domainId);
  if (d.alias_of) return domainView(d);
  const eff = await effectiveDomainSettings(deps, d.id);
  return { ...domainView(d), requiredAddresses: await requiredAddressesOf(deps.db, d, eff.settings.dmarc.reportLocalPart) };
}

export async function listDomains(actor: Actor, deps: CoreDeps, tenantId: string, page: { limit?: number; after?: string | null } = {}, filter: DomainFilter = {}): Promise<DomainView[]> {
  authorize(actor, 'domains.read');
  const r = repos(deps.db, scopeOf(actor));
  await r.tenants.get(tenantId);
  return (await r.domains.list(tenantId, pageOf(page), filter)).map(domainView);
}

/** Changes a domain: `aliasOf` makes it an alias of another domain of the tenant (null: a primary domain again). */
export async function updateDomain(actor: Actor, deps: CoreDeps, domainId: string, input: { aliasOf?: string | null; reason?: string }): Promise<DomainView> {
  authorize(actor, 'domains.manage');
  const scope = scopeOf(actor);
  const domains = repos(deps.db, scope).domains;
  const domain = await domains.get(domainId);
  if (input.aliasOf === undefined || input.aliasOf === domain.alias_of) return domainView(domain);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const t = repos(trx, scope).domains;
    const aliasOf = input.aliasOf === null ? null : await assertAliasable(t, domain, input.aliasOf!);
    await t.setAliasOf(domain.id, aliasOf, now);
    await appendAudit(
      trx,
      actor,
      { action: 'domain.update', targetType: 'domain', targetId: domain.id, tenantId: domain.tenant_id, before: { aliasOf: domain.alias_of }, after: { aliasOf }, reason: input.reason ?? null },
      now,
    );
  });
  return domainView(await domains.get(domain.id));
}

/** MX, SPF, one DKIM TXT per live selector, DMARC (quarantine). */
export async function domainDnsRecords(actor: Actor, deps: CoreDeps, domainId: string): Promise<DnsRecord[]> {
  // One source of truth: the records the domain's template expects (also what DNS checks compare).
  const expected = await domainExpectedRecords(actor, deps, domainId);
  return expected.records.map((r) => {
    const note = r.unpublishable ? { unpublishable: r.unpublishable } : {};
    if (r.broken) return { type: r.type, name: r.name, value: '', ...note } as DnsRecord;
    if (r.type !== 'MX') return { type: r.type, name: r.name, value: r.value, ...note } as DnsRecord;
    const [priority, host] = r.value.split(/\s+/) as [string, string];
    return { type: 'MX', name: r.name, value: host, priority: Number(priority), ...note } as DnsRecord;
  });
}

/**
 * Sets (or clears, with null) the address that receives mail for unknown local parts. The
 * target must be a mailbox or alias of the domain's tenant: a catch-all never forwards out.
 */
export async function setCatchAll(actor: Actor, deps: CoreDeps, domainId: string, target: string | null): Promise<DomainView> {
  authorize(actor, 'forwarding.manage');
  const scope = scopeOf(actor);
  const domain = await repos(deps.db, scope).domains.get(domainId);
  if (domain.alias_of && target !== null) throw invalid(`${domain.name} is a domain alias: the catch-all of its primary domain applies`, { field: 'target' });
  if (target !== null) await assertDomainAllowsCatchAll(deps, domain.id);
  const now = deps.now();
  let address: string | null = null;
  await deps.db.transaction().execute(async (trx) => {
    if (target !== null) {
      const resolved = await resolveTarget(trx, domain.tenant_id, target, 'target');
      if (resolved.kind === 'external') throw invalid(`catch-all target ${resolved.address} must be a mailbox or alias of this tenant`, { field: 'target' });
      address = resolved.address;
    }
    await repos(trx, scope).domains.setCatchAll(domain.id, address, now);
    await appendAudit(
      trx,
      actor,
      {
        action: address ? 'domain.catch_all.set' : 'domain.catch_all.clear',
        targetType: 'domain',
        targetId: domain.id,
        tenantId: domain.tenant_id,
        before: { catchAll: domain.catch_all },
        after: { catchAll: address },
      },
      now,
    );
  });
  return domainView({ ...domain, catch_all: address, updated_at: now });
}
