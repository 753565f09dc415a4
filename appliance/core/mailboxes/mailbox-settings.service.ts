/**
 * Changes to a mailbox's settings and ownership record: PATCH (display name, quota, role flag,
 * reset destination, business owner), the explicit ownership transfer (old owner, new owner,
 * approver) and rollback to the state before an audited change. Every change writes its audit
 * event with the changed fields before and after, which is what rollback reads back.
 */
import { type Repos, repos } from '../../db/repos/index.js';
import type { MailboxSettingsSet } from '../../db/repos/mailboxes.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { optionalText, requiredText } from '../kernel/text.js';
import { resumeMailbox, suspendMailbox } from './mailbox-lifecycle.service.js';
import { type MailboxState, type MailboxView, mailboxState, mailboxView, type Person, person } from './mailboxes.service.js';
import { assertFitsTenantPool } from './quota.js';
import { assertSafeResetDestination } from './targets.js';
import { cleanName } from '../kernel/util.js';
import { audit } from './unit.js';

export interface UpdateMailboxInput {
  displayName?: string | null;
  quotaBytes?: number;
  isRole?: boolean;
  resetDestination?: string;
  businessOwner?: Person | null;
  reason?: string;
}

/** The settings a change may set (status changes go through suspend/resume/delete). */
type Settable = Omit<MailboxState, 'status'>;
const SETTABLE_KEYS = ['displayName', 'quotaBytes', 'isRole', 'owner', 'businessOwner', 'resetDestination'] as const satisfies ReadonlyArray<keyof Settable>;

/** A required reason: missing says so; otherwise the one text rule. */
function requiredReason(raw: string | undefined | null): string {
  if (!(raw ?? '').trim().length) throw invalid('reason is required', { field: 'reason' });
  return requiredText(raw, 'reason');
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Validates `next` against the rules of the ownership record; returns only the fields that change. */
async function validateChange(t: Repos, m: Mailbox, next: Partial<Settable>): Promise<Partial<Settable>> {
  const current = mailboxState(m);
  const changed: Partial<Settable> = {};
  for (const key of SETTABLE_KEYS) {
    if (next[key] !== undefined && !same(next[key], current[key])) (changed as Record<string, unknown>)[key] = next[key];
  }
  if (changed.displayName !== undefined && changed.displayName !== null) {
    const name = cleanName(changed.displayName, 200);
    if (name === null) throw invalid('displayName must be 1 to 200 characters', { field: 'displayName' });
    changed.displayName = name;
  }
  if (changed.quotaBytes !== undefined) {
    if (!Number.isSafeInteger(changed.quotaBytes) || changed.quotaBytes < 0) throw invalid('quotaBytes must be a whole number of bytes', { field: 'quotaBytes' });
    await assertFitsTenantPool(t, m.tenant_id, changed.quotaBytes, m.id);
  }
  if (changed.owner) changed.owner = person(changed.owner, 'owner');
  if (changed.businessOwner) changed.businessOwner = person(changed.businessOwner, 'businessOwner');
  if (changed.isRole === true) {
    // A role account may not be anyone's reset destination: refuse rather than leave a dangerous one behind.
    const dependents = await t.mailboxes.resetDependents(m.tenant_id, m.address, 10);
    if (dependents.length) {
      throw new AppError('Conflict', `${m.address} is the reset destination of ${dependents.join(', ')}; re-point those first`, { dependents });
    }
  }
  const resetRaw = changed.resetDestination ?? (changed.isRole !== undefined || changed.owner ? current.resetDestination : undefined);
  if (resetRaw !== undefined) {
    const validated = await assertSafeResetDestination(t, m.tenant_id, m.address, resetRaw);
    if (validated !== current.resetDestination) changed.resetDestination = validated;
  }
  return changed;
}

async function writeChange(t: Repos, m: Mailbox, changed: Partial<Settable>, now: number, revoke: boolean): Promise<void> {
  const set: MailboxSettingsSet = {};
  if (changed.displayName !== undefined) set.display_name = changed.displayName;
  if (changed.quotaBytes !== undefined) set.quota_bytes = changed.quotaBytes;
  if (changed.isRole !== undefined) set.is_role = changed.isRole ? 1 : 0;
  if (changed.owner) {
    set.owner_name = changed.owner.name;
    set.owner_email = changed.owner.email;
  }
  if (changed.businessOwner !== undefined) {
    set.business_owner_name = changed.businessOwner?.name ?? null;
    set.business_owner_email = changed.businessOwner?.email ?? null;
  }
  if (changed.resetDestination !== undefined) set.reset_destination = changed.resetDestination;
  if (!(await t.mailboxes.updateSettings(m.id, m.updated_at, set, now, revoke))) throw new AppError('Conflict', 'the mailbox changed meanwhile; read it again and retry');
}

function beforeOf(m: Mailbox, changed: Partial<Settable>): Record<string, unknown> {
  const current = mailboxState(m) as unknown as Record<string, unknown>;
  return Object.fromEntries(Object.keys(changed).map((k) => [k, current[k]]));
}

export async function updateMailbox(actor: Actor, deps: CoreDeps, mailboxId: string, input: UpdateMailboxInput): Promise<MailboxView> {
  authorize(actor, 'mailboxes.manage');
  const reason = optionalText(input.reason, 'reason');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const now = deps.now();
  await r.transaction(async (t) => {
    const changed = await validateChange(t, m, {
      displayName: input.displayName,
      quotaBytes: input.quotaBytes,
      isRole: input.isRole,
      resetDestination: input.resetDestination,
      businessOwner: input.businessOwner,
    });
    if (!Object.keys(changed).length) return;
    await writeChange(t, m, changed, now, false);
    await audit(
      t,
      actor,
      { action: 'mailbox.update', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: beforeOf(m, changed), after: changed as Record<string, unknown>, reason },
      now,
    );
  });
  return mailboxView(await r.mailboxes.get(m.id));
}

export interface TransferOwnershipInput {
  newOwner: Person;
  /** The person who approved the transfer (the business owner, usually); never the new owner. */
  approvedBy: Person;
  /** A reference to the approval (ticket, request id), recorded as the event's approval id. */
  approvalReference?: string;
  reason: string;
  /** Default: the new owner's address when the reset destination was the old owner's, else unchanged. */
  resetDestination?: string;
  /** End open sessions and cached logins (default true): whoever held the password keeps nothing open. */
  revokeSessions?: boolean;
}

/** Hands a mailbox to a new owner of record, as one audited operation naming old owner, new owner and approver. */
export async function transferOwnership(actor: Actor, deps: CoreDeps, mailboxId: string, input: TransferOwnershipInput): Promise<MailboxView> {
  authorize(actor, 'mailboxes.manage');
  const reason = requiredReason(input.reason);
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const newOwner = person(input.newOwner, 'newOwner');
  const approver = person(input.approvedBy, 'approvedBy');
  if (approver.email === newOwner.email) throw invalid('the approver must be someone other than the new owner', { field: 'approvedBy' });
  if (newOwner.email === m.owner_email && newOwner.name === m.owner_name) throw invalid('the new owner is already the owner of record', { field: 'newOwner' });
  const approvalRef = input.approvalReference === undefined ? null : cleanName(input.approvalReference, 200);
  if (input.approvalReference !== undefined && approvalRef === null) throw invalid('approvalReference must be 1 to 200 characters', { field: 'approvalReference' });
  const revoke = input.revokeSessions ?? true;
  const now = deps.now();
  await r.transaction(async (t) => {
    const resetDestination = input.resetDestination ?? (m.reset_destination === m.owner_email ? newOwner.email : m.reset_destination);
    const changed = await validateChange(t, m, { owner: newOwner, resetDestination });
    await writeChange(t, m, changed, now, revoke);
    await audit(
      t,
      actor,
      {
        action: 'mailbox.ownership.transfer',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        before: { owner: { name: m.owner_name, email: m.owner_email }, resetDestination: m.reset_destination },
        after: { owner: newOwner, resetDestination: changed.resetDestination ?? m.reset_destination, approvedBy: approver, sessionsRevoked: revoke },
        reason,
        approvalId: approvalRef,
      },
      now,
    );
  });
  if (revoke) deps.revoker.notifyRevoked(m.id, 'mailbox ownership transferred');
  return mailboxView(await r.mailboxes.get(m.id));
}

/** The settings an audit event's `before` can restore, or null when it restores nothing. */
export function restorableFrom(before: Record<string, unknown> | null): Partial<MailboxState> | null {
  if (!before) return null;
  const out: Record<string, unknown> = {};
  for (const key of [...SETTABLE_KEYS, 'status'] as const) if (key in before) out[key] = before[key];
  return Object.keys(out).length ? (out as Partial<MailboxState>) : null;
}

/**
 * Puts the mailbox back to the state recorded before audit event `eventId` (settings and
 * ownership fields, and suspended/active status), validated like any change and audited as
 * `mailbox.rollback` pointing at the event.
 */
export async function rollbackMailbox(actor: Actor, deps: CoreDeps, mailboxId: string, input: { eventId: number; reason?: string }): Promise<MailboxView> {
  authorize(actor, 'mailboxes.manage');
  const reason = optionalText(input.reason, 'reason');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const event = await r.mailboxes.auditEventOf(m, input.eventId);
  if (!event) throw new AppError('NotFound', `audit event ${input.eventId} of this mailbox not found`);
  let before: Record<string, unknown> | null = null;
  try {
    before = event.before ? (JSON.parse(event.before) as Record<string, unknown>) : null;
  } catch {
    before = null;
  }
  const target = restorableFrom(before);
  if (!target) throw invalid(`event ${event.id} (${event.action}) recorded no state to roll back to`, { field: 'eventId' });
  const { status, ...settings } = target;
  if (status === 'suspended' && m.status !== 'suspended') authorize(actor, 'mailboxes.suspend');
  if (status !== undefined && status !== 'suspended' && m.status === 'suspended') authorize(actor, 'mailboxes.suspend');
  const now = deps.now();
  let revoke = false;
  await r.transaction(async (t) => {
    const changed = await validateChange(t, m, settings);
    if (!Object.keys(changed).length) return;
    revoke = changed.owner !== undefined;
    await writeChange(t, m, changed, now, revoke);
    await audit(
      t,
      actor,
      { action: 'mailbox.rollback', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: beforeOf(m, changed), after: { ...changed, rolledBackEventId: Number(event.id) }, reason },
      now,
    );
  });
  if (revoke) deps.revoker.notifyRevoked(m.id, 'mailbox ownership rolled back');
  const reasonText = reason ?? `rollback of audit event ${event.id}`;
  if (status === 'suspended' && m.status !== 'suspended') return suspendMailbox(actor, deps, m.id, { reason: reasonText });
  if (status !== undefined && status !== 'suspended' && m.status === 'suspended') return resumeMailbox(actor, deps, m.id, { reason: reasonText });
  return mailboxView(await r.mailboxes.get(m.id));
}
