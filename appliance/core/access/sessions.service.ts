/**
 * Web sessions of the console. Principals (operators, tenant admins) log in with password and
 * TOTP (or a one-time recovery code); until they have enrolled TOTP their session may only
 * enrol it. Mailbox owners log in to the self-service area with their mailbox credentials
 * through the one credential module (protocol 'web'); their session ends as soon as the
 * mailbox's credentials change or it is suspended.
 *
 * The session secret travels in an httpOnly cookie; a second secret, the CSRF token, must come
 * back in the `x-csrf-token` header of every state-changing request. Only the sha256 of each is
 * stored. Sessions expire after SESSION_IDLE_MS without use and SESSION_MAX_MS in any case.
 */
import { randomBytes } from 'node:crypto';
import type { Principal, WebSession } from '../../db/tables/principals.table.js';
import { type Repos, repos } from '../../db/repos/index.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, type ActorOrigin, makeActor, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId, sha256Hex } from '../kernel/ids.js';
import { PLATFORM_SCOPE, tenantScope } from '../kernel/scope.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { principalActor, type PrincipalView, principalView } from './principals.service.js';
import { newRecoveryCodes, newTotpSecret, recoveryCodeHash, totpUri, verifyTotp } from './totp.js';
import { ownerLoginSecondFactor } from './owner-totp.service.js';
import { rowScope } from './access-scope.js';
import { trxOf } from '../../db/repos/index.js';
import { iso } from '../kernel/util.js';
import { sealSecret } from './secret-box.js';
import type { WebSessionMfa } from '../../db/tables/status.js';

export const SESSION_COOKIE = 'postern_session';
export const CSRF_COOKIE = 'postern_csrf';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_MAX_MS = 12 * 3600_000;
const LAST_SEEN_RESOLUTION_MS = 60_000;

export interface IssuedSession {
  /** Cookie value (secret). */
  token: string;
  /** Echo in the x-csrf-token header of state-changing requests. */
  csrfToken: string;
  expiresAt: string;
}

export interface PrincipalLogin {
  session: IssuedSession;
  principal: PrincipalView;
  /** 'enrol': TOTP must be enrolled before anything else. */
  mfa: 'ok' | 'enrol';
}

const secret = () => randomBytes(32).toString('base64url');

let dummyHash: Promise<string> | null = null;

/**
 * Refuses a source that has been failing; slows (never refuses) attempts the wider network or an
 * attacked account make suspect, so the right password from a clean source always gets through.
 */
async function throttled(deps: CoreDeps, account: string, ip: string, opts: { delay: boolean } = { delay: true }): Promise<void> {
  const d = await deps.loginThrottle.check(account, ip, deps.now());
  if (d.action === 'refuse') {
    deps.metrics.throttle(d.scope, 'refused');
    throw new AppError('RateLimited', 'too many failed logins; try again later', { retryAfterMs: d.retryAfterMs });
  }
  if (d.action === 'delay' && opts.delay) {
    deps.metrics.throttle(d.scope, 'delayed');
    await new Promise((r) => setTimeout(r, d.delayMs));
  }
}

/** One answer for every failure of a principal login: a wrong password and a missing or wrong code look alike. */
const PRINCIPAL_LOGIN_FAILED = 'invalid email, password or code';

/** Stores a new session (inside the login's transaction) and returns its secrets, once. */
async function createSession(
  t: Repos,
  row: { kind: 'principal' | 'mailbox'; principalId: string | null; mailboxId: string | null; tenantId: string | null; credentialVersion: number; mfa: WebSessionMfa },
  origin: ActorOrigin | undefined,
  now: number,
): Promise<IssuedSession> {
  const token = secret();
  const csrfToken = secret();
  const expiresAt = now + SESSION_MAX_MS;
  await t.sessions.insert({
    id: newId('ses'),
    token_hash: sha256Hex(token),
    csrf_hash: sha256Hex(csrfToken),
    kind: row.kind,
    principal_id: row.principalId,
    mailbox_id: row.mailboxId,
    tenant_id: row.tenantId,
    credential_version: row.credentialVersion,
    mfa: row.mfa,
    source_ip: origin?.sourceIp ?? null,
    user_agent: origin?.userAgent ?? null,
    created_at: now,
    last_seen_at: now,
    expires_at: expiresAt,
    revoked_at: null,
  });
  return { token, csrfToken, expiresAt: iso(expiresAt)! };
}

/** A principal's second factor, checked: how they logged in, and what to record (null: wrong or missing). */
interface PrincipalFactor {
  method: string;
  step: number | null;
  recoveryId: number | null;
}

async function principalSecondFactor(r: Repos, p: Principal, input: { totp?: string; recoveryCode?: string }, now: number): Promise<PrincipalFactor | null> {
  if (!p.totp_secret) return { method: 'password', step: null, recoveryId: null };
  if (input.totp) {
    const step = await verifyTotp(p.totp_secret, input.totp, now);
    if (step === null || (p.totp_last_step !== null && step <= Number(p.totp_last_step))) return null;
    return { method: 'password+totp', step, recoveryId: null };
  }
  if (input.recoveryCode) {
    const recoveryId = await r.principals.unusedRecoveryCode(p.id, recoveryCodeHash(input.recoveryCode));
    if (recoveryId === null) return null;
    return { method: 'password+recovery-code', step: null, recoveryId };
  }
  return null;
}

/**
 * Password + TOTP (or a recovery code) login of an operator or tenant admin. Every failure,
 * including a missing second factor, counts against the account and the client IP.
 */
export async function loginPrincipal(deps: CoreDeps, input: { email: string; password: string; totp?: string; recoveryCode?: string }, origin: ActorOrigin = {}): Promise<PrincipalLogin> {
  const email = String(input.email ?? '')
    .trim()
    .toLowerCase();
  const ip = origin.sourceIp ?? 'unknown';
  await throttled(deps, email, ip);
  const now = deps.now();
  const fail = async (): Promise<never> => {
    await deps.loginThrottle.fail(email, ip, now);
    throw new AppError('Unauthorized', PRINCIPAL_LOGIN_FAILED);
  };
  // Before login there is no actor: the account is looked up across tenants by its email.
  const p = await repos(deps.db, PLATFORM_SCOPE).principals.byEmail(email);
  if (!p || !p.password_hash) {
    dummyHash ??= hashPassword('postern-dummy-password');
    await verifyPassword(String(input.password ?? ''), await dummyHash);
    return fail();
  }
  if (!(await verifyPassword(String(input.password ?? ''), p.password_hash))) return fail();
  if (p.status !== 'active') return fail();
  const actor = principalActor(p, origin);
  const r = repos(deps.db, scopeOf(actor));
  const factor = await principalSecondFactor(r, p, input, now);
  if (!factor) return fail();
  await deps.loginThrottle.succeed(email, ip, now);
  const mfa = p.totp_secret ? 'ok' : 'enrol';
  const session = await r.transaction(async (t) => {
    if (factor.recoveryId !== null && !(await t.principals.useRecoveryCode(factor.recoveryId, now))) throw new AppError('Unauthorized', 'invalid or already used recovery code');
    await t.principals.recordLogin(p.id, now, factor.step);
    const s = await createSession(t, { kind: 'principal', principalId: p.id, mailboxId: null, tenantId: p.tenant_id, credentialVersion: Number(p.credential_version), mfa }, origin, now);
    await appendAudit(trxOf(t), actor, { action: 'principal.login', targetType: 'principal', targetId: p.id, tenantId: p.tenant_id, after: { method: factor.method, mfa } }, now);
    return s;
  });
  return { session, principal: principalView({ ...p, last_login_at: now }), mfa };
}

/** Wrong password, disabled mailbox, missing or wrong second factor: one answer. */
const OWNER_LOGIN_FAILED = 'invalid address, password or code';

/** Self-service login of a mailbox owner with the mailbox's own credentials (protocol 'web'). */
export async function loginMailboxOwner(
  deps: CoreDeps,
  input: { address: string; password: string; totp?: string; recoveryCode?: string },
  origin: ActorOrigin = {},
): Promise<{ session: IssuedSession; mailboxId: string; address: string }> {
  if (!deps.credentials) throw new AppError('TempFailure', 'mailbox login is not available');
  // The second factor's failures count like the password's (the same account and source).
  const account = String(input.address ?? '')
    .trim()
    .toLowerCase();
  const ip = origin.sourceIp ?? 'unknown';
  // The credential module delays suspect attempts itself: refuse here, do not delay twice.
  await throttled(deps, account, ip, { delay: false });
  const result = await deps.credentials.verifyLogin({ username: String(input.address ?? ''), password: String(input.password ?? ''), protocol: 'web', remoteAddress: origin.sourceIp ?? 'unknown' });
  if (!result.ok) {
    if (result.reason === 'throttled') throw new AppError('RateLimited', 'too many failed logins; try again later', { retryAfterMs: result.retryAfterMs ?? 0 });
    throw new AppError('Unauthorized', OWNER_LOGIN_FAILED);
  }
  const now = deps.now();
  const r = repos(deps.db, tenantScope(result.tenantId));
  let second;
  try {
    second = await ownerLoginSecondFactor(r, result.mailboxId, input, now);
  } catch (err) {
    await deps.loginThrottle.fail(account, ip, now);
    if (err instanceof AppError && err.code === 'Unauthorized') throw new AppError('Unauthorized', OWNER_LOGIN_FAILED);
    throw err;
  }
  await deps.loginThrottle.succeed(account, ip, now);
  const actor = makeActor({ kind: 'mailbox-owner', tenantId: result.tenantId, principalId: `mailbox:${result.mailboxId}`, permissions: [], origin });
  const session = await r.transaction(async (t) => {
    await second?.commit(t);
    const mfa = second ? 'ok' : 'none';
    const s = await createSession(t, { kind: 'mailbox', principalId: null, mailboxId: result.mailboxId, tenantId: result.tenantId, credentialVersion: result.credentialVersion, mfa }, origin, now);
    await appendAudit(
      trxOf(t),
      actor,
      {
        action: 'mailbox.owner.login',
        targetType: 'mailbox',
        targetId: result.mailboxId,
        tenantId: result.tenantId,
        after: { protocol: 'web', method: second ? `password+${second.method}` : 'password' },
      },
      now,
    );
    return s;
  });
  return { session, mailboxId: result.mailboxId, address: result.address };
}

export type SessionAuth = { ok: true; session: WebSession; actor: Actor; principal: Principal | null } | { ok: false; reason: 'unknown' | 'expired' | 'revoked' | 'csrf' };

/**
 * Resolves a session cookie. `csrfToken` must be given (and match) for state-changing requests;
 * pass `checkCsrf: false` for safe methods only.
 */
export async function authenticateSession(deps: CoreDeps, token: string, opts: { checkCsrf: boolean; csrfToken?: string | null; origin?: ActorOrigin }): Promise<SessionAuth> {
  if (typeof token !== 'string' || token.length < 20 || token.length > 200) return { ok: false, reason: 'unknown' };
  // The cookie is the authority: the session is looked up across tenants, then used in its own scope.
  const s = await repos(deps.db, PLATFORM_SCOPE).sessions.byTokenHash(sha256Hex(token));
  if (!s) return { ok: false, reason: 'unknown' };
  const r = repos(deps.db, rowScope(s.tenant_id));
  if (s.revoked_at !== null) return { ok: false, reason: 'revoked' };
  const now = deps.now();
  if (Number(s.expires_at) <= now || now - Number(s.last_seen_at) > SESSION_IDLE_MS) return { ok: false, reason: 'expired' };
  if (opts.checkCsrf && (!opts.csrfToken || sha256Hex(opts.csrfToken) !== s.csrf_hash)) return { ok: false, reason: 'csrf' };
  let actor: Actor;
  let principal: Principal | null = null;
  if (s.kind === 'principal') {
    principal = (await r.principals.find(s.principal_id!)) ?? null;
    if (!principal || principal.status !== 'active' || Number(principal.credential_version) !== Number(s.credential_version)) return { ok: false, reason: 'revoked' };
    actor = principalActor(principal, opts.origin);
  } else {
    if (!deps.credentials || !(await deps.credentials.isCurrent(s.mailbox_id!, Number(s.credential_version)))) return { ok: false, reason: 'revoked' };
    actor = makeActor({ kind: 'mailbox-owner', tenantId: s.tenant_id, principalId: `mailbox:${s.mailbox_id}`, permissions: [], origin: opts.origin });
  }
  if (now - Number(s.last_seen_at) > LAST_SEEN_RESOLUTION_MS) {
    await r.sessions.touch(s.id, now);
  }
  return { ok: true, session: s, actor, principal };
}

export async function logout(deps: CoreDeps, session: WebSession, actor: Actor): Promise<void> {
  const now = deps.now();
  await repos(deps.db, rowScope(session.tenant_id)).transaction(async (t) => {
    await t.sessions.revoke(session.id, now);
    const target = session.kind === 'principal' ? { targetType: 'principal', targetId: session.principal_id } : { targetType: 'mailbox', targetId: session.mailbox_id };
    await appendAudit(trxOf(t), actor, { action: session.kind === 'principal' ? 'principal.logout' : 'mailbox.owner.logout', ...target, tenantId: session.tenant_id }, now);
  });
}

function requirePrincipal(auth: Extract<SessionAuth, { ok: true }>): Principal {
  if (!auth.principal) throw new AppError('Forbidden', 'only operators and tenant admins enrol TOTP');
  return auth.principal;
}

/** Starts TOTP enrolment: a new secret (pending until confirmed) and its otpauth:// URI for a QR code. */
export async function beginTotpEnrolment(deps: CoreDeps, auth: Extract<SessionAuth, { ok: true }>): Promise<{ secret: string; otpauthUri: string }> {
  const p = requirePrincipal(auth);
  if (p.totp_secret) throw new AppError('Conflict', 'TOTP is already enrolled; an administrator resets it');
  const totpSecret = newTotpSecret();
  await repos(deps.db, scopeOf(auth.actor)).principals.setPendingTotp(p.id, sealSecret(totpSecret), deps.now());
  return { secret: totpSecret, otpauthUri: totpUri(totpSecret, p.email) };
}

/** Confirms enrolment with a current code; returns the one-time recovery codes (shown once) and upgrades the session. */
export async function confirmTotpEnrolment(deps: CoreDeps, auth: Extract<SessionAuth, { ok: true }>, code: string): Promise<{ recoveryCodes: string[] }> {
  const p = requirePrincipal(auth);
  const r = repos(deps.db, scopeOf(auth.actor));
  const fresh = await r.principals.byId(p.id);
  if (fresh.totp_secret) throw new AppError('Conflict', 'TOTP is already enrolled');
  if (!fresh.totp_pending_secret) throw new AppError('Conflict', 'start the enrolment first');
  const pending = fresh.totp_pending_secret;
  const now = deps.now();
  const step = await verifyTotp(pending, String(code ?? ''), now);
  if (step === null) throw invalid('the code does not match; check the time on the device and try again', { field: 'code' });
  const codes = newRecoveryCodes();
  await r.transaction(async (t) => {
    await t.principals.confirmTotp(p.id, pending, step, now);
    await t.principals.replaceRecoveryCodes(p.id, codes.map(recoveryCodeHash), now);
    await t.sessions.setMfa(auth.session.id, 'ok');
    await appendAudit(
      trxOf(t),
      auth.actor,
      { action: 'principal.totp.enrol', targetType: 'principal', targetId: p.id, tenantId: p.tenant_id, after: { totpEnabled: true, recoveryCodes: codes.length } },
      now,
    );
  });
  return { recoveryCodes: codes };
}

export interface SessionView {
  kind: 'principal' | 'mailbox';
  mfa: string;
  expiresAt: string;
  principal: PrincipalView | null;
  mailbox: {
    id: string;
    address: string;
    displayName: string | null;
    status: string;
    quotaBytes: number;
    usedBytes: number;
    messageCount: number;
    owner: { name: string; email: string };
    resetDestination: string;
  } | null;
}

export async function sessionView(deps: CoreDeps, auth: Extract<SessionAuth, { ok: true }>): Promise<SessionView> {
  const s = auth.session;
  let mailbox: SessionView['mailbox'] = null;
  if (s.kind === 'mailbox') {
    const m = await repos(deps.db, scopeOf(auth.actor)).mailboxes.find(s.mailbox_id!);
    if (!m) throw new AppError('NotFound', 'mailbox not found');
    mailbox = {
      id: m.id,
      address: m.address,
      displayName: m.display_name,
      status: m.status,
      quotaBytes: Number(m.quota_bytes),
      usedBytes: Number(m.used_bytes),
      messageCount: Number(m.message_count),
      owner: { name: m.owner_name, email: m.owner_email },
      resetDestination: m.reset_destination,
    };
  }
  return { kind: s.kind as 'principal' | 'mailbox', mfa: s.mfa, expiresAt: iso(Number(s.expires_at))!, principal: auth.principal ? principalView(auth.principal) : null, mailbox };
}
