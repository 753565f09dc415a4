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
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, makeActor } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { hashPassword } from '../access/passwords.js';
import { assertFitsTenantPool } from './quota.js';
import { Directory, type MailboxFilter, scopedRepo } from '../../db/repo.js';
import { consumeSetupLink, findLiveSetupLink, issueSetupLink, setupUrl } from '../access/setup-links.js';
import { assertSafeResetDestination } from './targets.js';
import { cleanName, iso, isUniqueViolation, pageOf } from '../kernel/util.js';

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

export function mailboxView(m: Mailbox): MailboxView {
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

export async function createMailbox(actor: Actor, deps: CoreDeps, domainId: string, input: CreateMailboxInput): Promise<CreatedMailbox> {
  authorize(actor, 'mailboxes.create');
  if (input.credentialDelivery !== 'link') throw invalid('credentialDelivery must be "link"', { field: 'credentialDelivery' });
  const domain = await scopedRepo(deps.db, actor).domain(domainId);
  if (domain.alias_of) throw invalid(`${domain.name} is an alias of another domain; create the mailbox in that domain`, { field: 'domainId' });
  const localPart = normalizeLocalPart(input.localPart);
  const address = `${localPart}@${domain.name}`;
  const owner = person(input.owner, 'owner');
  const businessOwner = input.businessOwner ? person(input.businessOwner, 'businessOwner') : null;
  let displayName: string | null = null;
  if (input.displayName !== undefined) {
    displayName = cleanName(input.displayName, 200);
    if (displayName === null) throw invalid('displayName must be 1 to 200 characters', { field: 'displayName' });
  }
  const quotaBytes = input.quotaBytes ?? deps.config.defaultQuotaBytes;
  if (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0) throw invalid('quotaBytes must be a whole number of bytes', { field: 'quotaBytes' });
  const isRole = input.isRole ?? isRoleLocalPart(localPart);
  const now = deps.now();
  const id = newId('mbx');

  try {
    return await deps.db.transaction().execute(async (trx) => {
      if (await new Directory(trx).addressTaken(address)) throw new AppError('AlreadyExists', `${address} already exists`);
      await assertFitsTenantPool(trx, domain.tenant_id, quotaBytes);
      const resetDestination = await assertSafeResetDestination(trx, domain.tenant_id, address, input.resetDestination ?? owner.email);
      await trx
        .insertInto('mailboxes')
        .values({
          id,
          tenant_id: domain.tenant_id,
          domain_id: domain.id,
          local_part: localPart,
          address,
          display_name: displayName,
          status: 'pending',
          quota_bytes: quotaBytes,
          password_hash: null,
          owner_name: owner.name,
          owner_email: owner.email,
          business_owner_name: businessOwner?.name ?? null,
          business_owner_email: businessOwner?.email ?? null,
          reset_destination: resetDestination,
          is_role: isRole ? 1 : 0,
          created_at: now,
          updated_at: now,
        })
        .execute();
      await createDefaultFolders(trx, id, now);
      const link = await issueSetupLink(trx, actor, deps, { purpose: 'mailbox-setup', mailboxId: id, tenantId: domain.tenant_id, destination: null }, now);
      await appendAudit(
        trx,
        actor,
        {
          action: 'mailbox.create',
          targetType: 'mailbox',
          targetId: id,
          tenantId: domain.tenant_id,
          after: {
            address,
            status: 'pending',
            displayName,
            quotaBytes,
            isRole,
            owner,
            businessOwner,
            resetDestination,
            credentialDelivery: 'link',
            setupLinkId: link.id,
            setupLinkExpiresAt: iso(link.expiresAt),
          },
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
  return mailboxView(await scopedRepo(deps.db, actor).mailbox(mailboxId));
}

export async function listMailboxes(
  actor: Actor,
  deps: CoreDeps,
  domainId: string,
  page: { limit?: number; after?: string | null } = {},
  filter: MailboxFilter = {},
): Promise<MailboxView[]> {
  authorize(actor, 'mailboxes.read');
  const repo = scopedRepo(deps.db, actor);
  await repo.domain(domainId);
  return (await repo.listMailboxes(domainId, pageOf(page), filter)).map(mailboxView);
}

/** Every mailbox of a tenant, across its domains, filtered. */
export async function listTenantMailboxes(
  actor: Actor,
  deps: CoreDeps,
  tenantId: string,
  page: { limit?: number; after?: string | null } = {},
  filter: MailboxFilter = {},
): Promise<MailboxView[]> {
  authorize(actor, 'mailboxes.read');
  const repo = scopedRepo(deps.db, actor);
  await repo.tenant(tenantId);
  return (await repo.listTenantMailboxes(tenantId, filter, pageOf(page))).map(mailboxView);
}

/**
 * Completes a mailbox setup link: enforces the password policy, stores the hash, activates a
 * pending mailbox and bumps its credential version. The secret is the authority, so the actor
 * is public; the audit event names the link.
 */
export async function completeMailboxSetup(actor: Actor, deps: CoreDeps, token: string, password: string): Promise<void> {
  const link = await findLiveSetupLink(deps, token, 'mailbox-setup');
  const mailbox = link.mailbox_id
    ? await deps.db.selectFrom('mailboxes').selectAll().where('id', '=', link.mailbox_id).executeTakeFirst()
    : undefined;
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
  await deps.db.transaction().execute(async (trx) => {
    await consumeSetupLink(trx, link.id, now);
    const status = mailbox.status === 'pending' ? 'active' : mailbox.status;
    await trx
      .updateTable('mailboxes')
      .set((eb) => ({ password_hash: passwordHash, status, credential_version: eb('credential_version', '+', 1), updated_at: now }))
      .where('id', '=', mailbox.id)
      .where('tenant_id', '=', mailbox.tenant_id)
      .execute();
    await appendAudit(
      trx,
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
