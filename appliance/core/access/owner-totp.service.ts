/**
 * Mailbox owners' TOTP for their self-service console login, built on the same TOTP module as
 * the principals' (totp.ts): enrol (a pending secret and its otpauth:// URI), confirm with a
 * current code, and from then on the owner login needs a code, or one of the owner's one-time
 * recovery codes (recovery-codes.ts, the same codes that recover a forgotten password). A code
 * is accepted once (the last accepted step is stored). The owner turns it off with the current
 * password and a code; an admin holding resets.initiate clears it when the device is lost.
 * IMAP and SMTP are unaffected (their clients use app passwords).
 */
import type { Transaction } from 'kysely';
import { sealSecret } from './secret-box.js';
import type { DB } from '../../db/schema.js';
import { ownerMailbox } from './app-passwords.service.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid, notFound } from '../kernel/errors.js';
import type { AccessDeps } from './policies.js';
import { findRecoveryCode, useRecoveryCode } from './recovery-codes.js';
import { scopedRepo } from '../../db/repo.js';
import { checkCurrentPassword } from './resets-self.service.js';
import { newTotpSecret, totpUri, verifyTotp } from './totp.js';
import { iso } from '../kernel/util.js';

export interface OwnerTotpStatus {
  enabled: boolean;
  enabledAt: string | null;
}

async function row(db: CoreDeps['db'], mailboxId: string) {
  return db.selectFrom('mailbox_totp').selectAll().where('mailbox_id', '=', mailboxId).executeTakeFirst();
}

export async function ownTotpStatus(actor: Actor, deps: CoreDeps): Promise<OwnerTotpStatus> {
  const m = await ownerMailbox(actor, deps);
  const r = await row(deps.db, m.id);
  return { enabled: Boolean(r?.secret), enabledAt: iso(r?.enabled_at ?? null) };
}

/** Starts enrolment: a new pending secret and its otpauth:// URI (for a QR code). */
export async function beginOwnTotp(actor: Actor, deps: CoreDeps): Promise<{ secret: string; otpauthUri: string }> {
  const m = await ownerMailbox(actor, deps);
  const r = await row(deps.db, m.id);
  if (r?.secret) throw new AppError('Conflict', 'TOTP is already on; turn it off first');
  const secret = newTotpSecret();
  const now = deps.now();
  await deps.db
    .insertInto('mailbox_totp')
    .values({ mailbox_id: m.id, tenant_id: m.tenant_id, secret: null, pending_secret: sealSecret(secret), enabled_at: null, last_step: null, updated_at: now })
    .onConflict((oc) => oc.column('mailbox_id').doUpdateSet({ pending_secret: sealSecret(secret), updated_at: now }))
    .execute();
  return { secret, otpauthUri: totpUri(secret, m.address) };
}

/** Confirms enrolment with a current code; from now on the owner login needs a code. */
export async function confirmOwnTotp(actor: Actor, deps: CoreDeps, code: string): Promise<OwnerTotpStatus> {
  const m = await ownerMailbox(actor, deps);
  const r = await row(deps.db, m.id);
  if (r?.secret) throw new AppError('Conflict', 'TOTP is already on');
  if (!r?.pending_secret) throw new AppError('Conflict', 'start the enrolment first');
  const now = deps.now();
  const step = await verifyTotp(r.pending_secret, String(code ?? ''), now);
  if (step === null) throw invalid('the code does not match; check the time on the device and try again', { field: 'code' });
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('mailbox_totp').set({ secret: r.pending_secret, pending_secret: null, enabled_at: now, last_step: step, updated_at: now }).where('mailbox_id', '=', m.id).where('secret', 'is', null).execute();
    await appendAudit(trx, actor, { action: 'mailbox.owner.totp.enrol', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, after: { totpEnabled: true } }, now);
  });
  return { enabled: true, enabledAt: iso(now) };
}

/** The owner turns TOTP off with the current password and a current code (or a recovery code). */
export async function disableOwnTotp(actor: Actor, deps: AccessDeps, input: { currentPassword: string; code?: string; recoveryCode?: string }): Promise<OwnerTotpStatus> {
  const m = await ownerMailbox(actor, deps);
  await checkCurrentPassword(deps, m, input.currentPassword, actor.origin);
  const r = await row(deps.db, m.id);
  if (!r?.secret) throw new AppError('Conflict', 'TOTP is not on');
  const now = deps.now();
  const second = await checkSecondFactor(deps, m.id, r, input, now);
  if (!second) throw new AppError('Unauthorized', 'a current TOTP code (or a recovery code) is required', { field: 'code' });
  await deps.db.transaction().execute(async (trx) => {
    await second.commit(trx);
    await trx.deleteFrom('mailbox_totp').where('mailbox_id', '=', m.id).execute();
    await appendAudit(trx, actor, { action: 'mailbox.owner.totp.disable', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: { totpEnabled: true }, after: { totpEnabled: false, confirmedWith: second.method } }, now);
  });
  return { enabled: false, enabledAt: null };
}

/** An admin clears an owner's TOTP (lost device): the next owner login needs the password only. */
export async function resetOwnerTotp(actor: Actor, deps: CoreDeps, mailboxId: string, input: { reason?: string } = {}): Promise<OwnerTotpStatus> {
  authorize(actor, 'resets.initiate');
  const m = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const r = await row(deps.db, m.id);
  if (!r?.secret && !r?.pending_secret) throw notFound('owner TOTP');
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('mailbox_totp').where('mailbox_id', '=', m.id).execute();
    await appendAudit(trx, actor, { action: 'mailbox.owner.totp.reset', targetType: 'mailbox', targetId: m.id, tenantId: m.tenant_id, before: { totpEnabled: Boolean(r.secret) }, after: { totpEnabled: false }, reason: input.reason?.trim() || null }, now);
  });
  return { enabled: false, enabledAt: null };
}

/** Whether an owner has TOTP on (admins' view of the mailbox). */
export async function getOwnerTotp(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<OwnerTotpStatus> {
  authorize(actor, 'mailboxes.read');
  const m = await scopedRepo(deps.db, actor).mailbox(mailboxId);
  const r = await row(deps.db, m.id);
  return { enabled: Boolean(r?.secret), enabledAt: iso(r?.enabled_at ?? null) };
}

interface SecondFactor {
  method: 'totp' | 'recovery-code';
  /** Records the use (the step, or the spent recovery code) in the caller's transaction. */
  commit(trx: Transaction<DB>): Promise<void>;
}

async function checkSecondFactor(
  deps: CoreDeps,
  mailboxId: string,
  r: { secret: string | null; last_step: number | null },
  input: { code?: string; totp?: string; recoveryCode?: string },
  now: number,
): Promise<SecondFactor | null> {
  const code = input.code ?? input.totp;
  if (code && r.secret) {
    const step = await verifyTotp(r.secret, code, now);
    if (step === null || (r.last_step !== null && step <= Number(r.last_step))) return null;
    return {
      method: 'totp',
      async commit(trx) {
        const res = await trx.updateTable('mailbox_totp').set({ last_step: step }).where('mailbox_id', '=', mailboxId).where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)])).executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) throw new AppError('Unauthorized', 'invalid or already used TOTP code');
      },
    };
  }
  if (input.recoveryCode) {
    const id = await findRecoveryCode(deps, mailboxId, input.recoveryCode);
    if (id === null) return null;
    return {
      method: 'recovery-code',
      async commit(trx) {
        if (!(await useRecoveryCode(trx, id, now))) throw new AppError('Unauthorized', 'invalid or already used recovery code');
      },
    };
  }
  return null;
}

/**
 * The owner login's second step (sessions.service loginMailboxOwner): null when the owner has
 * no TOTP; otherwise the checked factor, or Unauthorized with `totpRequired`.
 */
export async function ownerLoginSecondFactor(deps: CoreDeps, mailboxId: string, input: { totp?: string; recoveryCode?: string }, now: number): Promise<SecondFactor | null> {
  const r = await row(deps.db, mailboxId);
  if (!r?.secret) return null;
  if (!input.totp && !input.recoveryCode) throw new AppError('Unauthorized', 'a TOTP code (or a recovery code) is required', { totpRequired: true });
  const f = await checkSecondFactor(deps, mailboxId, r, input, now);
  if (!f) throw new AppError('Unauthorized', input.totp ? 'invalid or already used TOTP code' : 'invalid or already used recovery code', { totpRequired: true });
  return f;
}
