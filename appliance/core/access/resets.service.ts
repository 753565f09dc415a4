/**
 * Admin-initiated and emergency resets (CONTROL-MODEL principle 4). The admin never sees or sets
 * a password: a reset issues a single-use, expiring link (setup link purpose `reset`) to the
 * mailbox's reset destination by email; the link is returned to the caller only where the
 * tenant's policy allows it. An emergency reset (the destination is lost or compromised) records
 * the identity verification and waits for a second principal holding resets.approve (never the
 * requester; an operator for high-value mailboxes when the policy says so); only then is a link
 * issued to the new, validated destination.
 *
 * Issuing revokes the mailbox's sessions (and app passwords, per policy) at once; completing
 * sets the password and revokes again. The owner of record and the business owner are told.
 * Audit events: reset.request, reset.approve, reset.issue, reset.delivery, reset.complete.
 */
import { displayNames } from '../audit/audit.service.js';
import { assertMailboxPassword } from '../templates/domain-policy.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import type { ResetRow } from '../../db/tables/resets.table.js';
import { type Repos, repos } from '../../db/repos/index.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, isPlatformActor, makeActor, scopeOf } from '../kernel/authz.js';
import { PLATFORM_SCOPE, tenantScope } from '../kernel/scope.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid, notFound } from '../kernel/errors.js';
import { sha256Hex, newId } from '../kernel/ids.js';
import { optionalText, requiredText } from '../kernel/text.js';
import { hashPassword } from './passwords.js';
import { type AccessDeps, type AccessPolicy, isHighValue, loadPolicy } from './policies.js';
import { planTransition, revokeMailboxAccess } from '../mailboxes/lifecycle.js';
import { notifyOwners } from './resets-common.js';
import { deliver, issue } from './resets-issue.js';
import { trxOf } from '../../db/repos/index.js';
import { consumeSetupLink, findLiveSetupLink, setupUrl } from './setup-links.js';
import { assertSafeResetDestination } from '../mailboxes/targets.js';
import { iso } from '../kernel/util.js';

export type ResetKind = 'admin' | 'emergency' | 'self';
export type ResetDelivery = 'email' | 'link';
export const VERIFICATION_METHODS = ['video-call', 'in-person', 'callback-known-number', 'id-document', 'manager-confirmation', 'other'] as const;
export type VerificationMethod = (typeof VERIFICATION_METHODS)[number];

/** An emergency request waits this long for its approval. */
export const APPROVAL_WINDOW_MS = 24 * 3600_000;
/** Reset requests one principal may make per hour (all mailboxes). */
const REQUESTER_RATE_PER_HOUR = 30;

export interface ResetView {
  id: string;
  mailboxId: string;
  kind: ResetKind;
  delivery: ResetDelivery;
  status: string;
  reason: string | null;
  requestedBy: string;
  requestedAt: string;
  verification: { method: string; evidence: string } | null;
  destination: string | null;
  newResetDestination: string | null;
  requiresOperatorApproval: boolean;
  approvedBy: string | null;
  approvedAt: string | null;
  deliveryState: string | null;
  completedAt: string | null;
  /** Only where a link delivery was issued in this very call (shown once). */
  setup?: { token: string; url: string; expiresAt: string };
  /** Display names of requestedBy / approvedBy (lists only). */
  names?: Record<string, string>;
}

export function resetView(r: ResetRow, now: number): ResetView {
  const expired = r.status === 'pending-approval' && Number(r.requested_at) + APPROVAL_WINDOW_MS <= now;
  return {
    id: r.id,
    mailboxId: r.mailbox_id,
    kind: r.kind as ResetKind,
    delivery: r.delivery as ResetDelivery,
    status: expired ? 'expired' : r.status,
    reason: r.reason,
    requestedBy: r.requested_by,
    requestedAt: iso(r.requested_at)!,
    verification: r.verification_method ? { method: r.verification_method, evidence: r.verification_evidence ?? '' } : null,
    destination: r.destination,
    newResetDestination: r.new_destination,
    requiresOperatorApproval: Number(r.requires_operator) === 1,
    approvedBy: r.approved_by,
    approvedAt: iso(r.approved_at),
    deliveryState: r.delivery_state,
    completedAt: iso(r.completed_at),
  };
}

function resetId(): string {
  return newId('rst');
}

async function assertResettable(r: Repos, m: Mailbox): Promise<void> {
  if (m.status !== 'active' && m.status !== 'pending') {
    throw new AppError('Conflict', `a ${m.status} mailbox cannot be reset${m.status === 'suspended' ? '; resume it first' : ''}`, { status: m.status });
  }
  const off = await r.offboarding.appliedId(m.id);
  if (off) throw new AppError('Conflict', 'this mailbox was offboarded; undo the offboarding before resetting it', { offboardingId: off });
}

async function assertRate(r: Repos, m: Mailbox, requester: string, policy: AccessPolicy, now: number): Promise<void> {
  const since = now - 3600_000;
  const perMailbox = await r.resets.requestTimesSince(m.id, since);
  if (perMailbox.length >= policy.resetRatePerHour) {
    const retryAfterMs = perMailbox[0]! + 3600_000 - now;
    throw new AppError('RateLimited', `at most ${policy.resetRatePerHour} reset requests per mailbox and hour`, { retryAfterMs });
  }
  const perRequester = await r.resets.countByRequesterSince(requester, since);
  if (perRequester >= REQUESTER_RATE_PER_HOUR) throw new AppError('RateLimited', `at most ${REQUESTER_RATE_PER_HOUR} reset requests per requester and hour`, { retryAfterMs: 3600_000 });
}

async function safeDestination(deps: CoreDeps, m: Mailbox, raw: string, field: string): Promise<string> {
  try {
    return await assertSafeResetDestination(deps.db, m.tenant_id, m.address, raw);
  } catch (err) {
    if (err instanceof AppError) throw new AppError(err.code, err.message, { ...err.details, field });
    throw err;
  }
}

export interface CreateResetInput {
  kind: 'admin' | 'emergency';
  delivery?: ResetDelivery;
  reason: string;
  verification?: { method: string; evidence: string };
  newResetDestination?: string;
}

/** What createReset knows before it branches on the kind. */
interface NewReset {
  r: Repos;
  m: Mailbox;
  base: ResetRow;
  policy: AccessPolicy;
  now: number;
}

/** Admin reset: the link goes to the recorded reset destination at once (or to the caller, per policy). */
async function createAdminReset(actor: Actor, deps: AccessDeps, input: CreateResetInput, n: NewReset): Promise<ResetView> {
  const { r, m, base, policy, now } = n;
  if (input.verification !== undefined || input.newResetDestination !== undefined) {
    throw invalid('verification and newResetDestination belong to emergency resets; an admin reset goes to the recorded reset destination', {
      field: input.verification ? 'verification' : 'newResetDestination',
    });
  }
  let destination: string;
  try {
    destination = await safeDestination(deps, m, m.reset_destination, 'resetDestination');
  } catch (err) {
    if (err instanceof AppError) throw new AppError('Conflict', `${err.message}; fix the reset destination or use an emergency reset`, err.details);
    throw err;
  }
  const row: ResetRow = { ...base, status: 'issued', destination };
  const issued = await r.transaction(async (t) => {
    await t.resets.insert(row);
    await appendAudit(
      trxOf(t),
      actor,
      { action: 'reset.request', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, after: { resetId: row.id, kind: 'admin', delivery: row.delivery }, reason: row.reason },
      now,
    );
    return issue(t, actor, deps, row, m, destination, policy, true, now);
  });
  await deliver(actor, deps, row, m, issued, destination);
  const v = resetView((await r.resets.get(row.id))!, deps.now());
  if (row.delivery === 'link') v.setup = { token: issued.link.token, url: setupUrl(deps, issued.link.token), expiresAt: iso(issued.link.expiresAt)! };
  return v;
}

/** Emergency reset: verification recorded now, approval by a second principal, then the link. */
async function createEmergencyReset(actor: Actor, deps: AccessDeps, input: CreateResetInput, n: NewReset): Promise<ResetView> {
  const { r, m, base, policy, now } = n;
  const v = input.verification;
  if (!v) throw invalid('an emergency reset needs the identity verification: {method, evidence}', { field: 'verification' });
  if (!(VERIFICATION_METHODS as readonly string[]).includes(v.method)) throw invalid(`verification.method must be one of ${VERIFICATION_METHODS.join(', ')}`, { field: 'verification.method' });
  const evidence = requiredText(v.evidence, 'verification.evidence', { min: 10, max: 2000 });
  if (!input.newResetDestination) throw invalid('an emergency reset needs newResetDestination: the old destination is lost or compromised', { field: 'newResetDestination' });
  const newDestination = await safeDestination(deps, m, input.newResetDestination, 'newResetDestination');
  if (newDestination === m.reset_destination.toLowerCase()) throw invalid('newResetDestination is the current destination; use an admin reset', { field: 'newResetDestination' });
  const requiresOperator = (await isHighValue(deps.db, m.id)) && policy.emergencyHighValueApprover === 'operator';
  const row: ResetRow = { ...base, verification_method: v.method, verification_evidence: evidence, new_destination: newDestination, requires_operator: requiresOperator ? 1 : 0 };
  await r.transaction(async (t) => {
    await t.resets.insert(row);
    const after = {
      resetId: row.id,
      kind: 'emergency',
      delivery: row.delivery,
      verification: { method: v.method, evidence },
      newResetDestination: newDestination,
      requiresOperatorApproval: requiresOperator,
    };
    await appendAudit(trxOf(t), actor, { action: 'reset.request', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, after, reason: row.reason, approvalId: row.id }, now);
  });
  await notifyOwners(deps, m, `Emergency reset requested for ${m.address}`, [
    `An emergency password reset of the mailbox ${m.address} was requested by ${actor.principalId} and awaits a second approver.`,
    `Reason given: ${row.reason}`,
    `If approved, the reset link goes to a new destination: ${newDestination}.`,
  ]);
  return resetView(row, now);
}

export async function createReset(actor: Actor, deps: AccessDeps, mailboxId: string, input: CreateResetInput): Promise<ResetView> {
  authorize(actor, 'resets.initiate');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const reason = requiredText(input.reason, 'reason');
  await assertResettable(r, m);
  const policy = await loadPolicy(deps.db, m.tenant_id);
  const delivery: ResetDelivery = input.delivery ?? 'email';
  if (delivery === 'link' && !policy.resetLinkToCaller) {
    throw new AppError('Forbidden', 'the tenant policy delivers reset links by email to the reset destination only', { policy: 'resetLinkToCaller' });
  }
  const now = deps.now();
  await assertRate(r, m, actor.principalId, policy, now);
  const base: ResetRow = {
    id: resetId(),
    tenant_id: m.tenant_id,
    mailbox_id: m.id,
    kind: input.kind,
    delivery,
    status: 'pending-approval',
    reason,
    requested_by: actor.principalId,
    requested_at: now,
    verification_method: null,
    verification_evidence: null,
    destination: null,
    new_destination: null,
    requires_operator: 0,
    approved_by: null,
    approved_at: null,
    setup_link_id: null,
    delivery_state: null,
    completed_at: null,
  };
  const n: NewReset = { r, m, base, policy, now };
  return input.kind === 'admin' ? createAdminReset(actor, deps, input, n) : createEmergencyReset(actor, deps, input, n);
}

/** A reset whose mailbox is in the actor's scope (another tenant's, or of a deleted mailbox, is NotFound). */
async function resetInScope(actor: Actor, deps: CoreDeps, id: string): Promise<{ r: ResetRow; m: Mailbox; repo: Repos }> {
  const repo = repos(deps.db, scopeOf(actor));
  const r = await repo.resets.get(id);
  if (!r) throw notFound('reset');
  let m: Mailbox;
  try {
    m = await repo.mailboxes.get(r.mailbox_id);
  } catch (err) {
    if (err instanceof AppError && err.code === 'NotFound') throw notFound('reset');
    throw err;
  }
  if (m.tenant_id !== r.tenant_id) throw notFound('reset');
  return { r, m, repo };
}

export async function getReset(actor: Actor, deps: CoreDeps, id: string): Promise<ResetView> {
  authorize(actor, 'mailboxes.read');
  const { r } = await resetInScope(actor, deps, id);
  return resetView(r, deps.now());
}

export async function listResets(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<ResetView[]> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const rows = await r.resets.listForMailbox(m.id, 100);
  const now = deps.now();
  const names = await displayNames(
    deps,
    rows.flatMap((x) => [x.requested_by, x.approved_by]),
  );
  return rows.map((x) => ({ ...resetView(x, now), names: Object.fromEntries([x.requested_by, x.approved_by].filter((id): id is string => !!id && names.has(id)).map((id) => [id, names.get(id)!])) }));
}

/** The second principal approves an emergency reset: the destination changes and the link is issued. */
export async function approveReset(actor: Actor, deps: AccessDeps, id: string, input: { note?: string } = {}): Promise<ResetView> {
  authorize(actor, 'resets.approve');
  const { r, m, repo } = await resetInScope(actor, deps, id);
  const now = deps.now();
  const view = resetView(r, now);
  if (view.status !== 'pending-approval') throw new AppError('Conflict', `this reset is ${view.status}; only a pending emergency reset can be approved`, { status: view.status });
  if (actor.principalId === r.requested_by) throw new AppError('Forbidden', 'the requester cannot approve their own emergency reset; a second principal must');
  if (Number(r.requires_operator) === 1 && !isPlatformActor(actor)) {
    throw new AppError('Forbidden', 'this mailbox is flagged high-value: the tenant policy requires an operator to approve its emergency reset');
  }
  await assertResettable(repo, m);
  const destination = await safeDestination(deps, m, r.new_destination ?? '', 'newResetDestination');
  const policy = await loadPolicy(deps.db, m.tenant_id);
  const note = optionalText(input.note, 'note');
  const issued = await repo.transaction(async (t) => {
    if (!(await t.resets.approve(r.id, actor.principalId, now))) throw new AppError('Conflict', 'this reset was decided meanwhile');
    const trx = trxOf(t);
    await appendAudit(
      trx,
      actor,
      {
        action: 'reset.approve',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        after: { resetId: r.id, requestedBy: r.requested_by, verificationMethod: r.verification_method },
        reason: note,
        approvalId: r.id,
      },
      now,
    );
    await t.resets.setResetDestination(m.id, destination, now);
    await appendAudit(
      trx,
      actor,
      {
        action: 'mailbox.reset_destination.change',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        before: { resetDestination: m.reset_destination },
        after: { resetDestination: destination },
        reason: `emergency reset ${r.id}`,
        approvalId: r.id,
      },
      now,
    );
    return issue(t, actor, deps, { ...r, approved_by: actor.principalId, approved_at: now }, m, destination, policy, true, now);
  });
  await deliver(actor, deps, r, { ...m, reset_destination: destination }, issued, destination);
  const v = resetView((await repo.resets.get(r.id))!, deps.now());
  if (r.delivery === 'link') v.setup = { token: issued.link.token, url: setupUrl(deps, issued.link.token), expiresAt: iso(issued.link.expiresAt)! };
  return v;
}

/** Cancels a pending or issued (not yet completed) reset: the link stops working. */
export async function cancelReset(actor: Actor, deps: CoreDeps, id: string, input: { reason?: string } = {}): Promise<ResetView> {
  authorize(actor, 'resets.initiate');
  const { r, m, repo } = await resetInScope(actor, deps, id);
  const now = deps.now();
  const status = resetView(r, now).status;
  if (status !== 'pending-approval' && status !== 'issued') throw new AppError('Conflict', `this reset is ${status}`, { status });
  const reason = optionalText(input.reason, 'reason');
  await repo.transaction(async (t) => {
    await t.resets.cancel(r.id);
    if (r.setup_link_id) await t.resets.expireLink(r.setup_link_id, now);
    await appendAudit(
      trxOf(t),
      actor,
      {
        action: 'reset.cancel',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        before: { resetId: r.id, status },
        after: { status: 'cancelled' },
        reason,
        approvalId: r.kind === 'emergency' ? r.id : null,
      },
      now,
    );
  });
  return resetView({ ...r, status: 'cancelled' }, now);
}

/** True when `token` is (or was) a reset link; the setup route hands those to completeReset. */
export async function isResetLink(deps: CoreDeps, token: string): Promise<boolean> {
  if (typeof token !== 'string' || token.length < 10 || token.length > 200) return false;
  return (await repos(deps.db, PLATFORM_SCOPE).resets.linkPurpose(sha256Hex(token))) === 'reset';
}

/**
 * Completes a reset link (POST /api/v1/setup/{token}): the new password under the policy,
 * credential version bumped, sessions (and app passwords, per policy) revoked, the reset
 * marked completed, reset.complete audited, the owners told. The secret is the authority: the
 * mailbox is found by the link (platform scope), then everything happens in its tenant's scope.
 */
export async function completeReset(actor: Actor, deps: AccessDeps, token: string, password: string): Promise<void> {
  const link = await findLiveSetupLink(deps, token, 'reset');
  const m = link.mailbox_id ? await repos(deps.db, PLATFORM_SCOPE).mailboxes.find(link.mailbox_id) : undefined;
  if (!m) throw new AppError('NotFound', 'setup link not found');
  if (m.status !== 'pending' && m.status !== 'active') throw new AppError('Gone', `this reset link can no longer be used: the mailbox is ${m.status}`);
  const repo = repos(deps.db, tenantScope(m.tenant_id));
  const r = await repo.resets.byLink(link.id);
  if (r && r.status !== 'issued') throw new AppError('Gone', `this reset was ${r.status}`);
  await assertMailboxPassword(deps, m, password);
  const passwordHash = await hashPassword(password);
  const policy = await loadPolicy(deps.db, m.tenant_id);
  const linkActor = makeActor({ kind: 'public', tenantId: m.tenant_id, principalId: `setup-link:${link.id}`, permissions: [], origin: actor.origin });
  const now = deps.now();
  // A pending mailbox becomes active with its first password (the lifecycle's `activate`).
  const activation = m.status === 'pending' ? planTransition('activate', m) : null;
  const status = activation && activation.to !== 'gone' ? activation.to : m.status;
  const revocation = await repo.transaction(async (t) => {
    const trx = trxOf(t);
    await consumeSetupLink(trx, link.id, now);
    await t.resets.setPassword(m.id, passwordHash, now, status);
    const rev = await revokeMailboxAccess(trx, m.id, now, { appPasswords: policy.resetRevokesAppPasswords });
    if (r) await t.resets.complete(r.id, now);
    await appendAudit(
      trx,
      linkActor,
      {
        action: 'reset.complete',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        before: { status: m.status },
        after: { status, credentialSet: true, resetId: r?.id ?? null, kind: r?.kind ?? null, setupLinkId: link.id, sessionsRevoked: true, appCredentialsRevoked: rev.appPasswordsRevoked },
        approvalId: r?.kind === 'emergency' ? r.id : null,
      },
      now,
    );
    return rev;
  });
  deps.revoker.notifyRevoked(m.id, 'password reset completed');
  await notifyOwners(deps, m, `Password of ${m.address} changed`, [
    `The password of the mailbox ${m.address} was set through a reset link.`,
    `Open sessions were ended${revocation.appPasswordsRevoked ? ` and ${revocation.appPasswordsRevoked} app password(s) revoked` : ''}.`,
  ]);
}
