/**
 * Mailboxes and their ownership records. A mailbox is created `pending` (it receives mail at
 * once) with a single-use setup link for its owner; no administrator ever chooses or learns
 * its password. The owner of record is mandatory, the business owner optional, and the reset
 * destination (default: the owner's email) is validated by assertSafeResetDestination.
 */
import { assertMailboxPassword } from '../templates/domain-policy.js';
import { createDefaultFolders } from '../../mailstore/folders.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import { isRoleLocalPart, normalizeLocalPart, parseAddress } from '../kernel/addresses.js';
import { type Actor, authorize, makeActor } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { hashPassword } from '../access/passwords.js';
import { assertFitsTenantPool } from './quota.js';
import { repos } from '../../db/repos/index.js';
import type { MailboxFilter, MailboxViewRow } from '../../db/repos/mailboxes.js';
import { consumeSetupLink, findLiveSetupLink, issueSetupLink, setupUrl } from '../access/setup-links.js';
import { assertSafeResetDestination } from './targets.js';
import { cleanName, iso, isUniqueViolation, pageOf } from '../kernel/util.js';
import { scopeOf } from '../kernel/authz.js';
import { PLATFORM_SCOPE, tenantScope } from '../kernel/scope.js';
import { planTransition, statusAfter } from './lifecycle.js';
import { audit } from './unit.js';
import { keptPage, pageKey } from './list-pages.js';
import { trxOf } from '../../db/repos/index.js';

export type { MailboxFilter } from '../../db/repos/mailboxes.js';

export interface Person {
  name: string;
  email: string;
}

export interface CreateMailboxInput {
  localPart: string;
  displayName?: string;
  quotaBytes?: number;
  owner: Person;
  businessOwner?: Person;
  resetDestination?: string;
  credentialDelivery: 'link';
  /** A role/shared account (info@, support@…); defaults from the local part. */
  isRole?: boolean;
}

export interface MailboxView {
  id: string;
  tenantId: string;
  domainId: string;
  address: string;
  displayName: string | null;
  status: string;
  quotaBytes: number;
  usedBytes: number;
  messageCount: number;
  isRole: boolean;
  owner: Person;
  businessOwner: Person | null;
  resetDestination: string;
  createdAt: string;
  updatedAt: string;
}

export interface CreatedMailbox {
  id: string;
  address: string;
  setup: { token: string; url: string; expiresAt: string };
}

/** The fields of a mailbox that changes record in the audit before/after, and rollback restores. */
export interface MailboxState {
  status: string;
  displayName: string | null;
  quotaBytes: number;
  isRole: boolean;
  owner: Person;
  businessOwner: Person | null;
  resetDestination: string;
}

export function mailboxState(m: Mailbox): MailboxState {
  const v = mailboxView(m);
  return { status: v.status, displayName: v.displayName, quotaBytes: v.quotaBytes, isRole: v.isRole, owner: v.owner, businessOwner: v.businessOwner, resetDestination: v.resetDestination };
}

export function mailboxView(m: MailboxViewRow): MailboxView {
  return {
    id: m.id,
    tenantId: m.tenant_id,
    domainId: m.domain_id,
    address: m.address,
    displayName: m.display_name,
    status: m.status,
    quotaBytes: Number(m.quota_bytes),
    usedBytes: Number(m.used_bytes),
    messageCount: Number(m.message_count),
    isRole: Number(m.is_role) === 1,
    owner: { name: m.owner_name, email: m.owner_email },
    businessOwner: m.business_owner_email ? { name: m.business_owner_name ?? '', email: m.business_owner_email } : null,
    resetDestination: m.reset_destination,
    createdAt: iso(m.created_at)!,
    updatedAt: iso(m.updated_at)!,
  };
}

export function person(input: Person, field: string): Person {
  const name = cleanName(input.name, 200);
  if (name === null) throw invalid(`${field}.name must be 1 to 200 characters`, { field: `${field}.name` });
  return { name, email: parseAddress(input.email, `${field}.email`).address };
}

/** The validated input of a new mailbox. */
interface NewMailboxPlan {
  localPart: string;
  address: string;
  owner: Person;
  businessOwner: Person | null;
  displayName: string | null;
  quotaBytes: number;
  isRole: boolean;
}

function planNewMailbox(deps: CoreDeps, domainName: string, input: CreateMailboxInput): NewMailboxPlan {
  const localPart = normalizeLocalPart(input.localPart);
  const owner = person(input.owner, 'owner');
  const businessOwner = input.businessOwner ? person(input.businessOwner, 'businessOwner') : null;
  let displayName: string | null = null;
  if (input.displayName !== undefined) {
    displayName = cleanName(input.displayName, 200);
    if (displayName === null) throw invalid('displayName must be 1 to 200 characters', { field: 'displayName' });
  }
  const quotaBytes = input.quotaBytes ?? deps.config.defaultQuotaBytes;
  if (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0) throw invalid('quotaBytes must be a whole number of bytes', { field: 'quotaBytes' });
  return { localPart, address: `${localPart}@${domainName}`, owner, businessOwner, displayName, quotaBytes, isRole: input.isRole ?? isRoleLocalPart(localPart) };
}

export async function createMailbox(actor: Actor, deps: CoreDeps, domainId: string, input: CreateMailboxInput): Promise<CreatedMailbox> {
  authorize(actor, 'mailboxes.create');
  if (input.credentialDelivery !== 'link') throw invalid('credentialDelivery must be "link"', { field: 'credentialDelivery' });
  const r = repos(deps.db, scopeOf(actor));
  const domain = await r.domains.get(domainId);
  if (domain.alias_of) throw invalid(`${domain.name} is an alias of another domain; create the mailbox in that domain`, { field: 'domainId' });
  const p = planNewMailbox(deps, domain.name, input);
  const { address } = p;
  const status = statusAfter(planTransition('create', null));
  const now = deps.now();
  const id = newId('mbx');

  try {
    return await r.transaction(async (t) => {
      if (await t.mailboxes.addressTaken(address)) throw new AppError('AlreadyExists', `${address} already exists`);
      await assertFitsTenantPool(t, domain.tenant_id, p.quotaBytes);
      const resetDestination = await assertSafeResetDestination(t, domain.tenant_id, address, input.resetDestination ?? p.owner.email);
      await t.mailboxes.insert({
        id,
        tenant_id: domain.tenant_id,
        domain_id: domain.id,
        local_part: p.localPart,
        address,
        display_name: p.displayName,
        status,
        quota_bytes: p.quotaBytes,
        password_hash: null,
        owner_name: p.owner.name,
        owner_email: p.owner.email,
        business_owner_name: p.businessOwner?.name ?? null,
        business_owner_email: p.businessOwner?.email ?? null,
        reset_destination: resetDestination,
        is_role: p.isRole ? 1 : 0,
        created_at: now,
        updated_at: now,
      });
      await createDefaultFolders(trxOf(t), id, now);
      const link = await issueSetupLink(trxOf(t), actor, deps, { purpose: 'mailbox-setup', mailboxId: id, tenantId: domain.tenant_id, destination: null }, now);
      const after = { address, status, displayName: p.displayName, quotaBytes: p.quotaBytes, isRole: p.isRole, owner: p.owner, businessOwner: p.businessOwner, resetDestination };
      await audit(
        t,
        actor,
        {
          action: 'mailbox.create',
          targetType: 'mailbox',
          targetId: id,
          tenantId: domain.tenant_id,
          after: { ...after, credentialDelivery: 'link', setupLinkId: link.id, setupLinkExpiresAt: iso(link.expiresAt) },
        },
        now,
      );
      return { id, address, setup: { token: link.token, url: setupUrl(deps, link.token), expiresAt: iso(link.expiresAt)! } };
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('AlreadyExists', `${address} already exists`);
    throw err;
  }
}

export async function getMailbox(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<MailboxView> {
  authorize(actor, 'mailboxes.read');
  return mailboxView(await repos(deps.db, scopeOf(actor)).mailboxes.get(mailboxId));
}

export async function listMailboxes(actor: Actor, deps: CoreDeps, domainId: string, page: { limit?: number; after?: string | null } = {}, filter: MailboxFilter = {}): Promise<MailboxView[]> {
  authorize(actor, 'mailboxes.read');
  const { mailboxes, domains } = repos(deps.db, scopeOf(actor));
  await domains.get(domainId);
  return (await mailboxes.listInDomain(domainId, pageOf(page), filter)).map(mailboxView);
}

/** Every mailbox of a tenant, across its domains, filtered. */
export async function listTenantMailboxes(actor: Actor, deps: CoreDeps, tenantId: string, page: { limit?: number; after?: string | null } = {}, filter: MailboxFilter = {}): Promise<MailboxView[]> {
  authorize(actor, 'mailboxes.read');
  const scope = scopeOf(actor);
  const { mailboxes, tenants } = repos(deps.db, scope);
  const p = pageOf(page);
  const f = { domainId: filter.domainId, status: filter.status, isRole: filter.isRole, q: filter.q, sort: filter.sort };
  // kept until a write to mailboxes or tenants (list-pages.ts), per scope and query, after the authorization above
  const views = await keptPage(deps.db, pageKey(scope.tenantId, tenantId, p, f), async () => {
    // The tenant check and the page in one turn (one message to a reader thread, not two in a row):
    // both are scoped to the actor, and no row is answered unless the tenant check passed.
    const [, rows] = await Promise.all([tenants.get(tenantId), mailboxes.viewsInTenant(tenantId, f, p)]);
    return rows.map(mailboxView);
  });
  return views as MailboxView[];
}

/**
 * Completes a mailbox setup link: enforces the password policy, stores the hash, activates a
 * pending mailbox and bumps its credential version. The secret is the authority, so the actor
 * is public; the audit event names the link.
 */
export async function completeMailboxSetup(actor: Actor, deps: CoreDeps, token: string, password: string): Promise<void> {
  const link = await findLiveSetupLink(deps, token, 'mailbox-setup');
  // The link's secret is the authority: its mailbox is found wherever it is.
  const mailbox = link.mailbox_id ? await repos(deps.db, PLATFORM_SCOPE).mailboxes.find(link.mailbox_id) : undefined;
  if (!mailbox) throw new AppError('NotFound', 'setup link not found');
  if (mailbox.status !== 'pending' && mailbox.status !== 'active') {
    throw new AppError('Gone', `this setup link can no longer be used: the mailbox is ${mailbox.status}`);
  }
  await assertMailboxPassword(deps, mailbox, password);
  const passwordHash = await hashPassword(password);
  const linkActor = makeActor({
    kind: 'public',
    tenantId: mailbox.tenant_id,
    principalId: `setup-link:${link.id}`,
    permissions: [],
    origin: actor.origin,
  });
  const now = deps.now();
  // A pending mailbox is activated; an active one only gets its new password.
  const status = mailbox.status === 'pending' ? statusAfter(planTransition('activate', mailbox)) : 'active';
  await repos(deps.db, tenantScope(mailbox.tenant_id)).transaction(async (t) => {
    await consumeSetupLink(trxOf(t), link.id, now);
    await t.mailboxes.setPassword(mailbox.id, passwordHash, status, now);
    await audit(
      t,
      linkActor,
      {
        action: 'mailbox.setup.complete',
        targetType: 'mailbox',
        targetId: mailbox.id,
        tenantId: mailbox.tenant_id,
        before: { status: mailbox.status },
        after: { status, credentialSet: true, setupLinkId: link.id },
      },
      now,
    );
  });
}
