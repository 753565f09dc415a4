/**
 * Self-service password changes of mailbox owners (issue 6): with the current password (logged
 * in), with a one-time recovery code, or through a single-use link sent to the reset
 * destination. Each one revokes the mailbox's sessions; the recovery-code path also revokes
 * app passwords per the tenant policy (it is the "I lost my device" path). Owners are told.
 */
import { assertMailboxPassword } from '../templates/domain-policy.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import type { ResetRow } from '../../db/tables/resets.table.js';
import { repos } from '../../db/repos/index.js';
import { ownerMailbox } from './app-passwords.service.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, type ActorOrigin, makeActor } from '../kernel/authz.js';
import { AppError, invalid } from '../kernel/errors.js';
import { PLATFORM_SCOPE, tenantScope } from '../kernel/scope.js';
import { hashPassword } from './passwords.js';
import { type AccessDeps, loadPolicy } from './policies.js';
import { findRecoveryCode, remainingRecoveryCodes, replaceRecoveryCodes, useRecoveryCode } from './recovery-codes.js';
import { revokeMailboxAccess } from '../mailboxes/lifecycle.js';
import { notifyOwners, resetLinkMessage, sendQuietly } from './resets-common.js';
import { trxOf } from '../../db/repos/index.js';
import { issueSetupLink, setupUrl } from './setup-links.js';
import { assertSafeResetDestination } from '../mailboxes/targets.js';
import { iso } from '../kernel/util.js';
import { newId } from '../kernel/ids.js';

export async function checkCurrentPassword(deps: AccessDeps, m: Mailbox, password: string, origin: ActorOrigin | undefined): Promise<void> {
  if (!deps.credentials) throw new AppError('TempFailure', 'mailbox login is not available');
  const r = await deps.credentials.verifyLogin({ username: m.address, password: String(password ?? ''), protocol: 'web', remoteAddress: origin?.sourceIp ?? 'unknown' });
  if (!r.ok) {
    if (r.reason === 'throttled') throw new AppError('RateLimited', 'too many failed attempts; try again later', { retryAfterMs: r.retryAfterMs ?? 0 });
    throw new AppError('Unauthorized', 'the current password is wrong');
  }
  if (r.mailboxId !== m.id) throw new AppError('Unauthorized', 'the current password is wrong');
}

/** Logged-in owner: new password with the current one. Every session ends (log in again). */
export async function changeOwnPassword(actor: Actor, deps: AccessDeps, input: { currentPassword: string; newPassword: string }): Promise<void> {
  const m = await ownerMailbox(actor, deps);
  await checkCurrentPassword(deps, m, input.currentPassword, actor.origin);
  if (input.newPassword === input.currentPassword) throw invalid('the new password must differ from the current one', { field: 'newPassword' });
  await assertMailboxPassword(deps, m, input.newPassword);
  const hash = await hashPassword(input.newPassword);
  const now = deps.now();
  await repos(deps.db, tenantScope(m.tenant_id)).transaction(async (t) => {
    await t.resets.setPassword(m.id, hash, now);
    const rev = await revokeMailboxAccess(trxOf(t), m.id, now, { appPasswords: false });
    await appendAudit(
      trxOf(t),
      actor,
      {
        action: 'mailbox.password.change',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        after: { method: 'current-password', credentialSet: true, consoleSessionsRevoked: rev.consoleSessionsRevoked },
      },
      now,
    );
  });
  deps.revoker.notifyRevoked(m.id, 'password changed by the owner');
  await notifyOwners(deps, m, `Password of ${m.address} changed`, [`The owner changed the password of the mailbox ${m.address}. Open sessions were ended.`]);
}

/** Logged-in owner: ten new recovery codes (shown once), with the current password. */
export async function generateOwnRecoveryCodes(actor: Actor, deps: AccessDeps, input: { currentPassword: string }): Promise<{ recoveryCodes: string[] }> {
  const m = await ownerMailbox(actor, deps);
  await checkCurrentPassword(deps, m, input.currentPassword, actor.origin);
  return { recoveryCodes: await replaceRecoveryCodes(actor, deps, m) };
}

export async function ownRecoveryCodeStatus(actor: Actor, deps: AccessDeps): Promise<{ remaining: number }> {
  const m = await ownerMailbox(actor, deps);
  return { remaining: await remainingRecoveryCodes(deps, m.id) };
}

/** The mailbox an address names, in any tenant and status (public flows: the caller proves more afterwards), or undefined. */
async function mailboxByAddress(deps: AccessDeps, address: string): Promise<Mailbox | undefined> {
  const a = String(address ?? '')
    .trim()
    .toLowerCase();
  if (!a.includes('@') || a.length > 254) return undefined;
  return repos(deps.db, PLATFORM_SCOPE).mailboxes.findByAddress(a);
}

/** Public: a new password with a one-time recovery code (throttled like a login). */
export async function recoverWithCode(actor: Actor, deps: AccessDeps, input: { address: string; recoveryCode: string; newPassword: string }): Promise<void> {
  const account = `recovery:${String(input.address ?? '')
    .trim()
    .toLowerCase()}`;
  const ip = actor.origin?.sourceIp ?? 'unknown';
  const now = deps.now();
  const wait = await deps.loginThrottle.retryAfter(account, ip, now);
  if (wait > 0) throw new AppError('RateLimited', 'too many failed attempts; try again later', { retryAfterMs: wait });
  const fail = async (): Promise<never> => {
    await deps.loginThrottle.fail(account, ip, now);
    throw new AppError('Unauthorized', 'invalid address or recovery code');
  };
  const m = await mailboxByAddress(deps, input.address);
  if (!m || m.status !== 'active') return fail();
  const codeId = await findRecoveryCode(deps, m.id, input.recoveryCode);
  if (codeId === null) return fail();
  await assertMailboxPassword(deps, m, input.newPassword);
  const hash = await hashPassword(input.newPassword);
  const policy = await loadPolicy(deps.db, m.tenant_id);
  const owner = makeActor({ kind: 'mailbox-owner', tenantId: m.tenant_id, principalId: `mailbox:${m.id}`, permissions: [], origin: actor.origin });
  const rev = await repos(deps.db, tenantScope(m.tenant_id)).transaction(async (t) => {
    const trx = trxOf(t);
    if (!(await useRecoveryCode(trx, codeId, now))) throw new AppError('Unauthorized', 'invalid address or recovery code');
    await t.resets.setPassword(m.id, hash, now);
    const r = await revokeMailboxAccess(trx, m.id, now, { appPasswords: policy.resetRevokesAppPasswords });
    await appendAudit(
      trx,
      owner,
      {
        action: 'mailbox.password.recover',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        after: { method: 'recovery-code', credentialSet: true, appCredentialsRevoked: r.appPasswordsRevoked },
      },
      now,
    );
    return r;
  });
  await deps.loginThrottle.succeed(account, ip, now);
  deps.revoker.notifyRevoked(m.id, 'password recovered with a recovery code');
  await notifyOwners(deps, m, `Password of ${m.address} changed`, [
    `The password of the mailbox ${m.address} was set with a one-time recovery code.`,
    `Open sessions were ended${rev.appPasswordsRevoked ? ` and ${rev.appPasswordsRevoked} app password(s) revoked` : ''}.`,
  ]);
}

/**
 * Public: a single-use reset link to the mailbox's reset destination. Always answers the same
 * (no account enumeration); nothing is revoked until the link is used (anyone may ask).
 * Rate-limited per mailbox by the tenant policy and per client IP by the login throttle.
 */
export async function requestSelfResetLink(actor: Actor, deps: AccessDeps, input: { address: string }): Promise<void> {
  const ip = actor.origin?.sourceIp ?? 'unknown';
  const now = deps.now();
  const account = `reset-link:${String(input.address ?? '')
    .trim()
    .toLowerCase()}`;
  if ((await deps.loginThrottle.retryAfter(account, ip, now)) > 0) return;
  await deps.loginThrottle.fail(account, ip, now); // every request counts: a link request is cheap to ask and costly to spam
  const m = await mailboxByAddress(deps, input.address);
  if (!m || m.status !== 'active') return;
  const repo = repos(deps.db, tenantScope(m.tenant_id));
  if (await repo.offboarding.appliedId(m.id)) return;
  let destination: string;
  try {
    destination = await assertSafeResetDestination(deps.db, m.tenant_id, m.address, m.reset_destination);
  } catch {
    return; // an unsafe destination gets no link; an admin fixes it (emergency reset)
  }
  const policy = await loadPolicy(deps.db, m.tenant_id);
  if ((await repo.resets.countForMailboxSince(m.id, now - 3600_000)) >= policy.resetRatePerHour) return;
  const requester = makeActor({ kind: 'public', tenantId: m.tenant_id, principalId: `self-service:${ip}`, permissions: [], origin: actor.origin });
  const row: ResetRow = {
    id: newId('rst'),
    tenant_id: m.tenant_id,
    mailbox_id: m.id,
    kind: 'self',
    delivery: 'email',
    status: 'issued',
    reason: 'requested by the owner (self-service)',
    requested_by: requester.principalId,
    requested_at: now,
    verification_method: null,
    verification_evidence: null,
    destination,
    new_destination: null,
    requires_operator: 0,
    approved_by: null,
    approved_at: null,
    setup_link_id: null,
    delivery_state: null,
    completed_at: null,
  };
  const link = await repo.transaction(async (t) => {
    const trx = trxOf(t);
    await t.resets.expireLiveResetLinks(m.id, now);
    await t.resets.cancelIssued(m.id);
    const l = await issueSetupLink(trx, requester, deps, { purpose: 'reset', mailboxId: m.id, tenantId: m.tenant_id, destination }, now);
    await t.resets.insert({ ...row, setup_link_id: l.id });
    await appendAudit(trx, requester, { action: 'reset.request', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, after: { resetId: row.id, kind: 'self', delivery: 'email' } }, now);
    await appendAudit(
      trx,
      requester,
      {
        action: 'reset.issue',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        after: { resetId: row.id, kind: 'self', delivery: 'email', destination, linkExpiresAt: iso(l.expiresAt), sessionsRevoked: false },
      },
      now,
    );
    return l;
  });
  const msg = resetLinkMessage({ address: m.address, url: setupUrl(deps, link.token), expiresAt: iso(link.expiresAt)!, kind: 'self-service' });
  const state = await sendQuietly(deps, destination, msg.subject, msg.text);
  await repo.transaction(async (t) => {
    await t.resets.setDeliveryState(row.id, state);
    await appendAudit(
      trxOf(t),
      requester,
      { action: 'reset.delivery', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, after: { resetId: row.id, method: 'email', destination, state } },
      deps.now(),
    );
  });
}
