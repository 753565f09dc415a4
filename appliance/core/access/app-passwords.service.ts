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
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize } from '../kernel/authz.js';
import { appPasswordHash } from './credentials.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid, notFound } from '../kernel/errors.js';
import { scopedRepo } from '../../db/repo.js';
import { cleanName, iso } from '../kernel/util.js';

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

type AppPasswordRow = { id: string; mailbox_id: string; name: string; scopes: string; created_by: string; created_at: number; last_used_at: number | null; revoked_at: number | null };

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
  const m = await deps.db.selectFrom('mailboxes').selectAll().where('id', '=', actor.principalId.slice(8)).where('tenant_id', '=', actor.tenantId ?? '').executeTakeFirst();
  if (!m || m.status === 'deleted') throw new AppError('NotFound', 'mailbox not found');
  return m;
}

async function insert(actor: Actor, deps: CoreDeps, mailbox: Mailbox, input: { name: string; scopes: string[] }): Promise<CreatedAppPassword> {
  const name = cleanName(input.name, 100);
  if (name === null) throw invalid('name must be 1 to 100 characters', { field: 'name' });
  const scopes = [...new Set(input.scopes)];
  if (!scopes.length || scopes.some((s) => !(APP_PASSWORD_SCOPES as string[]).includes(s))) throw invalid('scopes must be a non-empty list of imap, smtp', { field: 'scopes' });
  if (mailbox.status !== 'active') throw new AppError('Conflict', `a ${mailbox.status} mailbox cannot get app passwords`, { status: mailbox.status });
  const offboarded = await deps.db.selectFrom('offboardings').select('id').where('mailbox_id', '=', mailbox.id).where('status', '=', 'applied').executeTakeFirst();
  if (offboarded) throw new AppError('Conflict', 'this mailbox was offboarded; it gets no new credentials');
  const { compact, display } = generateAppPassword();
  const now = deps.now();
  const id = `app_${randomBytes(12).toString('hex')}`;
  const row = { id, tenant_id: mailbox.tenant_id, mailbox_id: mailbox.id, name, scopes: JSON.stringify(scopes), secret_hash: appPasswordHash(compact), created_by: actor.principalId, created_at: now, last_used_at: null, revoked_at: null };
  await deps.db.transaction().execute(async (trx) => {
    const live = await trx.selectFrom('app_passwords').select((eb) => eb.fn.countAll<number>().as('n')).where('mailbox_id', '=', mailbox.id).where('revoked_at', 'is', null).executeTakeFirstOrThrow();
    if (Number(live.n) >= MAX_LIVE) throw invalid(`a mailbox has at most ${MAX_LIVE} app passwords; revoke one first`, { field: 'name' });
    await trx.insertInto('app_passwords').values(row).execute();
    await appendAudit(trx, actor, { action: 'mailbox.app_password.create', targetType: 'mailbox', targetId: mailbox.id, tenantId: mailbox.tenant_id, after: { appCredentialId: id, name, scopes } }, now);
  });
  return { ...view(row), password: display };
}

async function list(deps: CoreDeps, mailbox: Mailbox, includeRevoked: boolean): Promise<AppPasswordView[]> {
  let q = deps.db.selectFrom('app_passwords').select(['id', 'mailbox_id', 'name', 'scopes', 'created_by', 'created_at', 'last_used_at', 'revoked_at']).where('mailbox_id', '=', mailbox.id);
  if (!includeRevoked) q = q.where('revoked_at', 'is', null);
  return (await q.orderBy('created_at').orderBy('id').execute()).map(view);
}

async function revoke(actor: Actor, deps: CoreDeps, mailbox: Mailbox, appPasswordId: string, reason: string | null): Promise<AppPasswordView> {
  const row = await deps.db
    .selectFrom('app_passwords')
    .select(['id', 'mailbox_id', 'name', 'scopes', 'created_by', 'created_at', 'last_used_at', 'revoked_at'])
    .where('id', '=', appPasswordId)
    .where('mailbox_id', '=', mailbox.id)
    .executeTakeFirst();
  if (!row) throw notFound('app password');
  if (row.revoked_at !== null) return view(row);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('app_passwords').set({ revoked_at: now }).where('id', '=', row.id).where('revoked_at', 'is', null).execute();
    await appendAudit(trx, actor, { action: 'mailbox.app_password.revoke', targetType: 'mailbox', targetId: mailbox.id, tenantId: mailbox.tenant_id, before: { appCredentialId: row.id, name: row.name }, after: { revoked: true }, reason }, now);
  });
  deps.revoker.notifyRevoked(mailbox.id, `app password "${row.name}" revoked`, `app:${row.id}`);
  return view({ ...row, revoked_at: now });
}

/** Revokes every live app password of a mailbox inside the caller's transaction; returns their ids. */
export async function revokeAllAppPasswords(trx: Transaction<DB>, mailboxId: string, now: number): Promise<string[]> {
  const live = await trx.selectFrom('app_passwords').select('id').where('mailbox_id', '=', mailboxId).where('revoked_at', 'is', null).execute();
  if (live.length) await trx.updateTable('app_passwords').set({ revoked_at: now }).where('mailbox_id', '=', mailboxId).where('revoked_at', 'is', null).execute();
  return live.map((r) => r.id);
}

// ---- admin (mailbox routes) ---------------------------------------------------------------

export async function createAppPassword(actor: Actor, deps: CoreDeps, mailboxId: string, input: { name: string; scopes: string[] }): Promise<CreatedAppPassword> {
  authorize(actor, 'mailboxes.manage');
  return insert(actor, deps, await scopedRepo(deps.db, actor).mailbox(mailboxId), input);
}

export async function listAppPasswords(actor: Actor, deps: CoreDeps, mailboxId: string, opts: { includeRevoked?: boolean } = {}): Promise<AppPasswordView[]> {
  authorize(actor, 'mailboxes.read');
  return withCreatorNames(deps, await list(deps, await scopedRepo(deps.db, actor).mailbox(mailboxId), opts.includeRevoked ?? false));
}

export async function revokeAppPassword(actor: Actor, deps: CoreDeps, mailboxId: string, appPasswordId: string, input: { reason?: string } = {}): Promise<AppPasswordView> {
  authorize(actor, 'mailboxes.suspend');
  return revoke(actor, deps, await scopedRepo(deps.db, actor).mailbox(mailboxId), appPasswordId, input.reason?.trim() || null);
}

// ---- the owner (self-service) -------------------------------------------------------------

export async function createOwnAppPassword(actor: Actor, deps: CoreDeps, input: { name: string; scopes: string[] }): Promise<CreatedAppPassword> {
  return insert(actor, deps, await ownerMailbox(actor, deps), input);
}

export async function listOwnAppPasswords(actor: Actor, deps: CoreDeps): Promise<AppPasswordView[]> {
  return list(deps, await ownerMailbox(actor, deps), false);
}

export async function revokeOwnAppPassword(actor: Actor, deps: CoreDeps, appPasswordId: string): Promise<AppPasswordView> {
  return revoke(actor, deps, await ownerMailbox(actor, deps), appPasswordId, null);
}
