/**
 * Mailbox owners' TOTP for their self-service console login, built on the same TOTP module as
 * the principals' (totp.ts): enrol (a pending secret and its otpauth:// URI), confirm with a
 * current code, and from then on the owner login needs a code, or one of the owner's one-time
 * recovery codes (recovery-codes.ts, the same codes that recover a forgotten password). A code
 * is accepted once (the last accepted step is stored). The owner turns it off with the current
 * password and a code; an admin holding resets.initiate clears it when the device is lost.
 * IMAP and SMTP are unaffected (their clients use app passwords).
 */
import { type Repos, repos } from '../../db/repos/index.js';
import { sealSecret } from './secret-box.js';
import { ownerMailbox } from './app-passwords.service.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid, notFound } from '../kernel/errors.js';
import { tenantScope } from '../kernel/scope.js';
import { optionalText } from '../kernel/text.js';
import { trxOf } from '../../db/repos/index.js';
import type { AccessDeps } from './policies.js';
import { checkCurrentPassword } from './resets-self.service.js';
import { newTotpSecret, recoveryCodeHash, totpUri, verifyTotp } from './totp.js';
import { iso } from '../kernel/util.js';

export interface OwnerTotpStatus {
  enabled: boolean;
  enabledAt: string | null;
}

/** The owner's mailbox and repositories in its tenant's scope. */
async function own(actor: Actor, deps: CoreDeps) {
  const m = await ownerMailbox(actor, deps);
  return { m, r: repos(deps.db, tenantScope(m.tenant_id)) };
}

export async function ownTotpStatus(actor: Actor, deps: CoreDeps): Promise<OwnerTotpStatus> {
  const { m, r } = await own(actor, deps);
  const t = await r.ownerSecurity.totp(m.id);
  return { enabled: Boolean(t?.secret), enabledAt: iso(t?.enabled_at ?? null) };
}

/** Starts enrolment: a new pending secret and its otpauth:// URI (for a QR code). */
export async function beginOwnTotp(actor: Actor, deps: CoreDeps): Promise<{ secret: string; otpauthUri: string }> {
  const { m, r } = await own(actor, deps);
  const t = await r.ownerSecurity.totp(m.id);
  if (t?.secret) throw new AppError('Conflict', 'TOTP is already on; turn it off first');
  const secret = newTotpSecret();
  await r.ownerSecurity.setPendingTotp(m.tenant_id, m.id, sealSecret(secret), deps.now());
  return { secret, otpauthUri: totpUri(secret, m.address) };
}

/** Confirms enrolment with a current code; from now on the owner login needs a code. */
export async function confirmOwnTotp(actor: Actor, deps: CoreDeps, code: string): Promise<OwnerTotpStatus> {
  const { m, r } = await own(actor, deps);
  const t = await r.ownerSecurity.totp(m.id);
  if (t?.secret) throw new AppError('Conflict', 'TOTP is already on');
  if (!t?.pending_secret) throw new AppError('Conflict', 'start the enrolment first');
  const pending = t.pending_secret;
  const now = deps.now();
  const step = await verifyTotp(pending, String(code ?? ''), now);
  if (step === null) throw invalid('the code does not match; check the time on the device and try again', { field: 'code' });
  await r.transaction(async (tx) => {
    await tx.ownerSecurity.confirmTotp(m.id, pending, step, now);
    await appendAudit(trxOf(tx), actor, { action: 'mailbox.owner.totp.enrol', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, after: { totpEnabled: true } }, now);
  });
  return { enabled: true, enabledAt: iso(now) };
}

/** The owner turns TOTP off with the current password and a current code (or a recovery code). */
export async function disableOwnTotp(actor: Actor, deps: AccessDeps, input: { currentPassword: string; code?: string; recoveryCode?: string }): Promise<OwnerTotpStatus> {
  const { m, r } = await own(actor, deps);
  await checkCurrentPassword(deps, m, input.currentPassword, actor.origin);
  const t = await r.ownerSecurity.totp(m.id);
  if (!t?.secret) throw new AppError('Conflict', 'TOTP is not on');
  const now = deps.now();
  const second = await checkSecondFactor(r, m.id, t, input, now);
  if (!second) throw new AppError('Unauthorized', 'a current TOTP code (or a recovery code) is required', { field: 'code' });
  await r.transaction(async (tx) => {
    await second.commit(tx);
    await tx.ownerSecurity.deleteTotp(m.id);
    await appendAudit(
      trxOf(tx),
      actor,
      {
        action: 'mailbox.owner.totp.disable',
        targetType: 'mailbox',
        targetId: m.id,
        tenantId: m.tenant_id,
        before: { totpEnabled: true },
        after: { totpEnabled: false, confirmedWith: second.method },
      },
      now,
    );
  });
  return { enabled: false, enabledAt: null };
}

/** An admin clears an owner's TOTP (lost device): the next owner login needs the password only. */
export async function resetOwnerTotp(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason?: string } = {}): Promise<OwnerTotpStatus> {
  authorize(actor, 'resets.initiate');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const t = await r.ownerSecurity.totp(m.id);
  if (!t?.secret && !t?.pending_secret) throw notFound('owner TOTP');
  const reason = optionalText(input.reason, 'reason');
  const now = deps.now();
  await r.transaction(async (tx) => {
    await tx.ownerSecurity.deleteTotp(m.id);
    await appendAudit(
      trxOf(tx),
      actor,
      { action: 'mailbox.owner.totp.reset', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: { totpEnabled: Boolean(t.secret) }, after: { totpEnabled: false }, reason },
      now,
    );
  });
  return { enabled: false, enabledAt: null };
}

/** Whether an owner has TOTP on (admins' view of the mailbox). */
export async function getOwnerTotp(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<OwnerTotpStatus> {
  authorize(actor, 'mailboxes.read');
  const r = repos(deps.db, scopeOf(actor));
  const m = await r.mailboxes.get(mailboxId);
  const t = await r.ownerSecurity.totp(m.id);
  return { enabled: Boolean(t?.secret), enabledAt: iso(t?.enabled_at ?? null) };
}

export interface SecondFactor {
  method: 'totp' | 'recovery-code';
  /** Records the use (the step, or the spent recovery code) with the caller's transaction's repositories. */
  commit(t: Repos): Promise<void>;
}

/** `r`: repositories in the mailbox's tenant scope. */
async function checkSecondFactor(
  r: Repos,
  mailboxId: string,
  totp: { secret: string | null; last_step: number | null },
  input: { code?: string; totp?: string; recoveryCode?: string },
  now: number,
): Promise<SecondFactor | null> {
  const code = input.code ?? input.totp;
  if (code && totp.secret) {
    const step = await verifyTotp(totp.secret, code, now);
    if (step === null || (totp.last_step !== null && step <= Number(totp.last_step))) return null;
    return {
      method: 'totp',
      async commit(t) {
        if (!(await t.ownerSecurity.advanceTotpStep(mailboxId, step))) throw new AppError('Unauthorized', 'invalid or already used TOTP code');
      },
    };
  }
  if (input.recoveryCode) {
    const id = await r.ownerSecurity.unusedRecoveryCode(mailboxId, recoveryCodeHash(input.recoveryCode));
    if (id === null) return null;
    return {
      method: 'recovery-code',
      async commit(t) {
        if (!(await t.ownerSecurity.useRecoveryCode(id, now))) throw new AppError('Unauthorized', 'invalid or already used recovery code');
      },
    };
  }
  return null;
}

/**
 * The owner login's second step (sessions.service loginMailboxOwner), with repositories in the
 * mailbox's tenant scope: null when the owner has no TOTP; otherwise the checked factor, or
 * Unauthorized with `totpRequired`.
 */
export async function ownerLoginSecondFactor(r: Repos, mailboxId: string, input: { totp?: string; recoveryCode?: string }, now: number): Promise<SecondFactor | null> {
  const t = await r.ownerSecurity.totp(mailboxId);
  if (!t?.secret) return null;
  if (!input.totp && !input.recoveryCode) throw new AppError('Unauthorized', 'a TOTP code (or a recovery code) is required', { totpRequired: true });
  const f = await checkSecondFactor(r, mailboxId, t, input, now);
  if (!f) throw new AppError('Unauthorized', input.totp ? 'invalid or already used TOTP code' : 'invalid or already used recovery code', { totpRequired: true });
  return f;
}
