/**
 * Operators name things: a tenant by its name, a domain by its name, a mailbox by its address.
 * These turn such a name (or an id, which is accepted too) into the API object.
 */
import { call, type Ctx, RefusedError, UsageError } from './context.js';

export interface TenantRef {
  id: string;
  name: string;
}
export interface DomainRef {
  id: string;
  name: string;
  tenantId: string;
}
export interface MailboxRef {
  id: string;
  address: string;
  tenantId: string;
  domainId: string;
}

const q = encodeURIComponent;

function notFound(what: string): RefusedError {
  return new RefusedError(`${what} not found (or not visible to this token)`, 404, null);
}

/** Every page of a list endpoint (pages of 500, by `after` = the last id). */
export async function listAll<T extends { id: string }>(ctx: Ctx, url: string): Promise<T[]> {
  const all: T[] = [];
  const sep = url.includes('?') ? '&' : '?';
  let after = '';
  for (;;) {
    const page = await call<T[]>(ctx, 'GET', `${url}${sep}limit=500${after ? `&after=${q(after)}` : ''}`);
    all.push(...page);
    if (page.length < 500) return all;
    after = page[page.length - 1]!.id;
  }
}

export async function tenantNames(ctx: Ctx): Promise<Map<string, string>> {
  return new Map((await listAll<TenantRef>(ctx, '/tenants')).map((t) => [t.id, t.name]));
}

export async function findTenant(ctx: Ctx, ref: string): Promise<TenantRef> {
  if (/^tnt_[0-9a-f]+$/.test(ref)) return call<TenantRef>(ctx, 'GET', `/tenants/${q(ref)}`);
  const hits = (await listAll<TenantRef>(ctx, `/tenants?q=${q(ref)}`)).filter((t) => t.name.toLowerCase() === ref.toLowerCase());
  if (hits.length === 0) throw notFound(`tenant "${ref}"`);
  if (hits.length > 1) throw new UsageError(`several tenants are named "${ref}": use one of their ids (${hits.map((t) => t.id).join(', ')})`);
  return hits[0]!;
}

export async function findDomain(ctx: Ctx, ref: string): Promise<DomainRef> {
  if (/^dom_[0-9a-f]+$/.test(ref)) return call<DomainRef>(ctx, 'GET', `/domains/${q(ref)}`);
  const name = ref.toLowerCase().replace(/\.$/, '');
  for (const t of await listAll<TenantRef>(ctx, '/tenants')) {
    const hit = (await call<DomainRef[]>(ctx, 'GET', `/tenants/${q(t.id)}/domains?q=${q(name)}&limit=500`)).find((d) => d.name === name);
    if (hit) return hit;
  }
  throw notFound(`domain ${ref}`);
}

export async function findMailbox(ctx: Ctx, ref: string): Promise<MailboxRef> {
  if (/^mbx_[0-9a-f]+$/.test(ref)) return call<MailboxRef>(ctx, 'GET', `/mailboxes/${q(ref)}`);
  const at = ref.lastIndexOf('@');
  if (at < 1) throw new UsageError(`"${ref}" is not a mailbox address (local@domain)`);
  const address = ref.toLowerCase();
  const domain = await findDomain(ctx, address.slice(at + 1)).catch((err) => {
    if (err instanceof RefusedError && err.status === 404) throw notFound(`mailbox ${ref}`);
    throw err;
  });
  const hit = (await call<MailboxRef[]>(ctx, 'GET', `/domains/${q(domain.id)}/mailboxes?q=${q(address.slice(0, at))}&limit=500`)).find((m) => m.address.toLowerCase() === address);
  if (!hit) throw notFound(`mailbox ${ref}`);
  return hit;
}
