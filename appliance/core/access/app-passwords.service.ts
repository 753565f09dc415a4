/**
 * App passwords (issue 6): per mailbox, named, scoped to IMAP and/or SMTP, shown once, revocable
 * one by one, so the main password is not stored in every mail client. The credential module
 * verifies them (credentials.ts: `app_passwords`, `appPasswordHash(normalizeAppPassword(…))`);
 * this module creates, lists and revokes them, for admins (mailbox routes) and for the owner
 * (self-service). Revoking one ends only the sessions that logged in with it.
 */
import { withCreatorNames } from '../audit/audit.service.js';
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { Mailbox } from '../../db/tables/control.table.js';
import type { AppPasswordRow } from '../../db/repos/app-passwords.js';
import { type Repos, repos } from '../../db/repos/index.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { appPasswordHash } from './credentials.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid, notFound } from '../kernel/errors.js';
import { PLATFORM_SCOPE, tenantScope } from '../kernel/scope.js';
import { optionalText, requiredText } from '../kernel/text.js';
import { trxOf } from '../../db/repos/index.js';
import { iso } from '../kernel/util.js';
import { newId } from '../kernel/ids.js';

export type AppPasswordScope = 'imap' | 'smtp';
export const APP_PASSWORD_SCOPES: readonly AppPasswordScope[] = ['imap', 'smtp'];
const MAX_LIVE = 20;

export interface AppPasswordView {
  id: string;
  mailboxId: string;
  name: string;
  scopes: AppPasswordScope[];
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedAppPassword extends AppPasswordView {
  /** Shown once: four groups of four lower-case letters. */
  password: string;
}

/** 16 uniformly random lower-case letters (~75 bits), grouped "abcd efgh ijkl mnop". */
export function generateAppPassword(): { compact: string; display: string } {
  let out = '';
  while (out.length < 16) {
    for (const b of randomBytes(32)) {
      if (b < 234 && out.length < 16) out += String.fromCharCode(97 + (b % 26)); // 234 = 9 * 26: no modulo bias
    }
  }
  return { compact: out, display: out.match(/.{4}/g)!.join(' ') };
}

function view(r: AppPasswordRow): AppPasswordView {
  let scopes: AppPasswordScope[] = [];
  try {
    scopes = (JSON.parse(r.scopes) as string[]).filter((s): s is AppPasswordScope => (APP_PASSWORD_SCOPES as string[]).includes(s));
  } catch {
    scopes = [];
  }
  return { id: r.id, mailboxId: r.mailbox_id, name: r.name, scopes, createdBy: r.created_by, createdAt: iso(r.created_at)!, lastUsedAt: iso(r.last_used_at), revokedAt: iso(r.revoked_at) };
}

/** The mailbox of a self-service actor (kind mailbox-owner, principal `mailbox:<id>`). */
export async function ownerMailbox(actor: Actor, deps: CoreDeps): Promise<Mailbox> {
  if (actor.kind !== 'mailbox-owner' || !actor.principalId.startsWith('mailbox:')) throw new AppError('Forbidden', 'only the mailbox owner uses the self-service area');
  const m = await repos(deps.db, tenantScope(actor.tenantId ?? '')).mailboxes.find(actor.principalId.slice(8));
  if (!m || m.status === 'deleted') throw new AppError('NotFound', 'mailbox not found');
  return m;
}

/** An app password use case: who acts, on which mailbox, with repositories in the actor's scope. */
interface Target {
  actor: Actor;
  deps: CoreDeps;
  mailbox: Mailbox;
  r: Repos;
}

async function insert({ actor, deps, mailbox, r }: Target, input: { name: string; scopes: string[] }): Promise<CreatedAppPassword> {
  const name = requiredText(input.name, 'name', { max: 100 });
  const scopes = [...new Set(input.scopes)];
  if (!scopes.length || scopes.some((s) => !(APP_PASSWORD_SCOPES as string[]).includes(s))) throw invalid('scopes must be a non-empty list of imap, smtp', { field: 'scopes' });
  if (mailbox.status !== 'active') throw new AppError('Conflict', `a ${mailbox.status} mailbox cannot get app passwords`, { status: mailbox.status });
  if (await r.appPasswords.mailboxOffboarded(mailbox.id)) throw new AppError('Conflict', 'this mailbox was offboarded; it gets no new credentials');
  const { compact, display } = generateAppPassword();
  const now = deps.now();
  const id = newId('app');
  const row = {
    id,
    tenant_id: mailbox.tenant_id,
    mailbox_id: mailbox.id,
    name,
    scopes: JSON.stringify(scopes),
    secret_hash: appPasswordHash(compact),
    created_by: actor.principalId,
    created_at: now,
    last_used_at: null,
    revoked_at: null,
  };
  await r.transaction(async (t) => {
    if ((await t.appPasswords.countLive(mailbox.id)) >= MAX_LIVE) throw invalid(`a mailbox has at most ${MAX_LIVE} app passwords; revoke one first`, { field: 'name' });
    await t.appPasswords.insert(row);
    await appendAudit(
      trxOf(t),
      actor,
      { action: 'mailbox.app_password.create', targetType: 'mailbox', targetId: mailbox.id, tenantId: mailbox.tenant_id, after: { appCredentialId: id, name, scopes } },
      now,
    );
  });
  return { ...view(row), password: display };
}

async function list({ mailbox, r }: Target, includeRevoked: boolean): Promise<AppPasswordView[]> {
  return (await r.appPasswords.list(mailbox.id, includeRevoked)).map(view);
}

async function revoke({ actor, deps, mailbox, r }: Target, appPasswordId: string, reason: string | null): Promise<AppPasswordView> {
  const row = await r.appPasswords.find(mailbox.id, appPasswordId);
  if (!row) throw notFound('app password');
  if (row.revoked_at !== null) return view(row);
  const now = deps.now();
  await r.transaction(async (t) => {
    await t.appPasswords.revoke(row.id, now);
    await appendAudit(
      trxOf(t),
      actor,
      {
        action: 'mailbox.app_password.revoke',
        targetType: 'mailbox',
        targetId: mailbox.id,
        tenantId: mailbox.tenant_id,
        before: { appCredentialId: row.id, name: row.name },
        after: { revoked: true },
        reason,
      },
      now,
    );
  });
  deps.revoker.notifyRevoked(mailbox.id, `app password "${row.name}" revoked`, `app:${row.id}`);
  return view({ ...row, revoked_at: now });
}

/**
 * Revokes every live app password of a mailbox inside the caller's transaction; returns their
 * ids. The caller (the one revocation call, mailboxes/lifecycle.ts) has found the mailbox in its
 * actor's scope.
 */
export async function revokeAllAppPasswords(trx: Transaction<DB>, mailboxId: string, now: number): Promise<string[]> {
  return repos(trx, PLATFORM_SCOPE).appPasswords.revokeAllLive(mailboxId, now);
}

/** An admin's use case on a mailbox of its scope. */
async function adminTarget(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<Target> {
  const r = repos(deps.db, scopeOf(actor));
  return { actor, deps, mailbox: await r.mailboxes.get(mailboxId), r };
}

/** The owner's use case on their own mailbox. */
async function ownerTarget(actor: Actor, deps: CoreDeps): Promise<Target> {
  const mailbox = await ownerMailbox(actor, deps);
  return { actor, deps, mailbox, r: repos(deps.db, tenantScope(mailbox.tenant_id)) };
}

// ---- admin (mailbox routes) ---------------------------------------------------------------

export async function createAppPassword(actor: Actor, deps: CoreDeps, mailboxId: string, input: { name: string; scopes: string[] }): Promise<CreatedAppPassword> {
  authorize(actor, 'mailboxes.manage');
  return insert(await adminTarget(actor, deps, mailboxId), input);
}

export async function listAppPasswords(actor: Actor, deps: CoreDeps, mailboxId: string, opts: { includeRevoked?: boolean } = {}): Promise<AppPasswordView[]> {
  authorize(actor, 'mailboxes.read');
  return withCreatorNames(deps, await list(await adminTarget(actor, deps, mailboxId), opts.includeRevoked ?? false));
}

export async function revokeAppPassword(actor: Actor, deps: CoreDeps, mailboxId: string, appPasswordId: string, input: { reason?: string } = {}): Promise<AppPasswordView> {
  authorize(actor, 'mailboxes.suspend');
  return revoke(await adminTarget(actor, deps, mailboxId), appPasswordId, optionalText(input.reason, 'reason'));
}

// ---- the owner (self-service) -------------------------------------------------------------

export async function createOwnAppPassword(actor: Actor, deps: CoreDeps, input: { name: string; scopes: string[] }): Promise<CreatedAppPassword> {
  return insert(await ownerTarget(actor, deps), input);
}

export async function listOwnAppPasswords(actor: Actor, deps: CoreDeps): Promise<AppPasswordView[]> {
  return list(await ownerTarget(actor, deps), false);
}

export async function revokeOwnAppPassword(actor: Actor, deps: CoreDeps, appPasswordId: string): Promise<AppPasswordView> {
  return revoke(await ownerTarget(actor, deps), appPasswordId, null);
}
