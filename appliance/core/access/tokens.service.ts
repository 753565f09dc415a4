/**
 * API tokens: a named secret with a permission set, optionally read-only and expiring. The
 * secret is returned once at creation; only its sha256 is stored. A tenant admin can never
 * grant more than it holds, nor a platform permission.
 */
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { ApiToken } from '../../db/tables/control.table.js';
import { repos } from '../../db/repos/index.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, type ActorOrigin, assertGrantable, authorize, can, isPermission, isPlatformActor, makeActor, type Permission, ROLES, type Role, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId, newSecret, sha256Hex } from '../kernel/ids.js';
import { EpochKept } from '../kernel/epoch-kept.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { requiredText } from '../kernel/text.js';
import { rowScope, writeScope } from './access-scope.js';
import { authWriteEpoch, trxOf } from '../../db/repos/index.js';
import { iso, pageOf } from '../kernel/util.js';

export interface TokenView {
  id: string;
  tenantId: string | null;
  name: string;
  role: string | null;
  permissions: Permission[];
  readOnly: boolean;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

export interface CreatedToken {
  id: string;
  token: string;
  name: string;
  permissions: Permission[];
  readOnly: boolean;
  expiresAt: string | null;
}

export interface CreateTokenInput {
  name: string;
  permissions?: string[];
  role?: Role;
  readOnly?: boolean;
  /** ISO 8601 time; must be in the future. */
  expiresAt?: string;
}

export function parseStoredPermissions(json: string): Permission[] {
  try {
    const list = JSON.parse(json) as unknown;
    return Array.isArray(list) ? list.filter((p): p is Permission => typeof p === 'string' && isPermission(p)) : [];
  } catch {
    return [];
  }
}

export function tokenView(t: ApiToken): TokenView {
  return {
    id: t.id,
    tenantId: t.tenant_id,
    name: t.name,
    role: t.role,
    permissions: parseStoredPermissions(t.permissions),
    readOnly: Number(t.read_only) === 1,
    expiresAt: iso(t.expires_at),
    revokedAt: iso(t.revoked_at),
    lastUsedAt: iso(t.last_used_at),
    createdAt: iso(t.created_at)!,
  };
}

/** Inserts a token row and its audit event inside the caller's transaction. */
export async function insertApiToken(
  trx: Transaction<DB>,
  actor: Actor,
  row: { tenantId: string | null; name: string; secret: string; role: string | null; permissions: readonly Permission[]; readOnly: boolean; expiresAt: number | null },
  now: number,
): Promise<string> {
  const id = newId('tok');
  await repos(trx, writeScope(actor, row.tenantId)).tokens.insert({
    id,
    tenant_id: row.tenantId,
    // A token created by a person belongs to that person: it acts as them and dies with their account.
    principal_id: actor.kind === 'operator' || actor.kind === 'tenant-admin' ? actor.principalId : null,
    name: row.name,
    token_hash: sha256Hex(row.secret),
    role: row.role,
    permissions: JSON.stringify(row.permissions),
    read_only: row.readOnly ? 1 : 0,
    expires_at: row.expiresAt,
    revoked_at: null,
    last_used_at: null,
    created_by: actor.kind === 'system' || actor.kind === 'public' ? null : actor.principalId,
    created_at: now,
  });
  await appendAudit(
    trx,
    actor,
    {
      action: 'token.create',
      targetType: 'api_token',
      targetId: id,
      tenantId: row.tenantId,
      after: { name: row.name, role: row.role, permissions: row.permissions, readOnly: row.readOnly, expiresAt: iso(row.expiresAt) },
    },
    now,
  );
  return id;
}

/** What a token or principal is granted: a role, or a list; never more than the actor holds. */
export function resolveGrant(actor: Actor, input: { permissions?: string[]; role?: Role }, tenantId: string | null): { role: string | null; permissions: Permission[] } {
  if (input.permissions !== undefined && input.role !== undefined) throw invalid('give either permissions or role, not both', { field: 'permissions' });
  if (input.permissions !== undefined) {
    const unknown = input.permissions.filter((p) => !isPermission(p));
    if (unknown.length) throw invalid(`unknown permissions: ${unknown.join(', ')}`, { field: 'permissions', permissions: unknown });
    const permissions = [...new Set(input.permissions as Permission[])];
    assertGrantable(actor, permissions, tenantId);
    return { role: null, permissions };
  }
  const role = input.role ?? (tenantId === null ? 'operator' : 'tenant-admin');
  const roleGrants = ROLES[role] as readonly Permission[];
  if (input.role !== undefined) {
    assertGrantable(actor, roleGrants, tenantId);
    return { role, permissions: [...roleGrants] };
  }
  // Default: the role, narrowed to what the creator holds itself.
  const permissions = roleGrants.filter((p) => can(actor, p));
  return { role: permissions.length === roleGrants.length ? role : null, permissions };
}

function parseExpiry(deps: CoreDeps, raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) throw invalid('expiresAt must be an ISO 8601 date-time', { field: 'expiresAt' });
  if (at <= deps.now()) throw invalid('expiresAt must be in the future', { field: 'expiresAt' });
  return at;
}

/** Creates a tenant token (a tenant-admin token unless permissions or role say otherwise). */
export async function createTenantToken(actor: Actor, deps: CoreDeps, tenantId: string, input: CreateTokenInput): Promise<CreatedToken> {
  authorize(actor, 'tokens.manage');
  const tenant = await repos(deps.db, scopeOf(actor)).tenants.get(tenantId);
  return createToken(actor, deps, tenant.id, input);
}

/** Creates a platform (operator) token. Platform actors only. */
export async function createOperatorToken(actor: Actor, deps: CoreDeps, input: CreateTokenInput): Promise<CreatedToken> {
  authorize(actor, 'tokens.manage');
  if (!isPlatformActor(actor)) throw new AppError('Forbidden', 'only platform actors create operator tokens');
  return createToken(actor, deps, null, input);
}

async function createToken(actor: Actor, deps: CoreDeps, tenantId: string | null, input: CreateTokenInput): Promise<CreatedToken> {
  const name = requiredText(input.name, 'name', { max: 100 });
  const { role, permissions } = resolveGrant(actor, input, tenantId);
  if (permissions.length === 0) throw invalid('a token needs at least one permission', { field: 'permissions' });
  const readOnly = input.readOnly ?? false;
  const expiresAt = parseExpiry(deps, input.expiresAt);
  const secret = newSecret('pst');
  const now = deps.now();
  const id = await repos(deps.db, scopeOf(actor)).transaction((t) => insertApiToken(trxOf(t), actor, { tenantId, name, secret, role, permissions, readOnly, expiresAt }, now));
  return { id, token: secret, name, permissions, readOnly, expiresAt: iso(expiresAt) };
}

export interface TokenFilter {
  active?: boolean;
  q?: string;
}

export async function listTenantTokens(actor: Actor, deps: CoreDeps, tenantId: string, page: { limit?: number; after?: string | null } = {}, filter: TokenFilter = {}): Promise<TokenView[]> {
  authorize(actor, 'tokens.read');
  const r = repos(deps.db, scopeOf(actor));
  await r.tenants.get(tenantId);
  return (await r.tokens.list(tenantId, pageOf(page), { ...filter, now: deps.now() })).map(tokenView);
}

/** Platform (operator) tokens; platform actors only. */
export async function listOperatorTokens(actor: Actor, deps: CoreDeps, page: { limit?: number; after?: string | null } = {}, filter: TokenFilter = {}): Promise<TokenView[]> {
  authorize(actor, 'tokens.read');
  if (!isPlatformActor(actor)) throw new AppError('Forbidden', 'only platform actors list operator tokens');
  return (await repos(deps.db, scopeOf(actor)).tokens.list(null, pageOf(page), { ...filter, now: deps.now() })).map(tokenView);
}

export async function revokeToken(actor: Actor, deps: CoreDeps, tokenId: string): Promise<TokenView> {
  authorize(actor, 'tokens.manage');
  const r = repos(deps.db, scopeOf(actor));
  const token = await r.tokens.byId(tokenId);
  if (token.revoked_at !== null) return tokenView(token);
  const now = deps.now();
  await r.transaction(async (t) => {
    await t.tokens.revoke(token.id, now);
    await appendAudit(
      trxOf(t),
      actor,
      { action: 'token.revoke', targetType: 'api_token', targetId: token.id, tenantId: token.tenant_id, before: { revokedAt: null }, after: { revokedAt: iso(now) } },
      now,
    );
  });
  return tokenView({ ...token, revoked_at: now });
}

export type TokenAuthResult = { ok: true; actor: Actor } | { ok: false; reason: 'unknown' | 'revoked' | 'expired' };

const LAST_USED_RESOLUTION_MS = 60_000;

/** Resolves a bearer secret to an actor. Not actor-first: this is how an actor comes to be. */
export async function authenticateApiToken(deps: CoreDeps, secret: string, origin?: ActorOrigin): Promise<TokenAuthResult> {
  if (secret.length < 16 || secret.length > 512) return { ok: false, reason: 'unknown' };
  const known = await tokenState(deps, sha256Hex(secret));
  if (!known) return { ok: false, reason: 'unknown' };
  const { row } = known;
  if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
  const now = deps.now();
  if (row.expires_at !== null && Number(row.expires_at) <= now) return { ok: false, reason: 'expired' };
  if (!known.holdersLive) return { ok: false, reason: 'revoked' };
  if (now - known.lastUsed > LAST_USED_RESOLUTION_MS) {
    known.lastUsed = now;
    await repos(deps.db, rowScope(row.tenant_id)).tokens.touch(row.id, now);
  }
  // the actor of the token's state, made once (its permission set checked and built then); each request adds its origin
  const actor = origin ? Object.freeze({ ...known.actor, origin }) : known.actor;
  return { ok: true, actor };
}

/** What decides whether a token authenticates, as read from its rows at `epoch`. */
interface TokenState {
  row: ApiToken;
  /** The token's actor without an origin (issue 18: one permission set per state, not one per request). */
  actor: Actor;
  /** Its tenant exists and is not deleted, and the person who created it (if any) is active. */
  holdersLive: boolean;
  /** When its use was last recorded (or is being recorded). */
  lastUsed: number;
}

/**
 * Answers read for token hashes, per database handle (SQLite only, see authWriteEpoch): valid
 * while no write has touched api_tokens, principals or tenants since they were read, so a
 * revocation, a deleted tenant or a disabled creator ends them at once, and never by a timeout.
 */
const keptStates = new EpochKept<TokenState>(authWriteEpoch, 1000);

/** The token whose secret hashes to `hash` with its tenant's and creator's state, or undefined. */
function tokenState(deps: CoreDeps, hash: string): Promise<TokenState | undefined> {
  return keptStates.get(deps.db, hash, () => readTokenState(deps, hash));
}

async function readTokenState(deps: CoreDeps, hash: string): Promise<TokenState | undefined> {
  // The secret is the authority: the token is looked up across tenants, then checked in its own scope.
  const row = await repos(deps.db, PLATFORM_SCOPE).tokens.byHash(hash);
  if (!row) return undefined;
  const own = repos(deps.db, rowScope(row.tenant_id));
  const [tenantStatus, owner] = await Promise.all([
    row.tenant_id !== null ? own.policies.tenantStatus(row.tenant_id) : null,
    // The person who created it: an operator may have created a tenant's token.
    row.principal_id !== null ? repos(deps.db, PLATFORM_SCOPE).principals.find(row.principal_id) : undefined,
  ]);
  const tenantLive = row.tenant_id === null || (tenantStatus !== undefined && tenantStatus !== 'deleted');
  const permissions = parseStoredPermissions(row.permissions);
  const actor = makeActor({ kind: 'token', tenantId: row.tenant_id, principalId: row.principal_id ?? row.id, tokenId: row.id, permissions, readOnly: Number(row.read_only) === 1 });
  return {
    row,
    actor,
    holdersLive: tenantLive && !(owner && owner.status !== 'active'),
    lastUsed: row.last_used_at === null ? -Infinity : Number(row.last_used_at),
  };
}

/** True when at least one live operator (platform) token exists. */
export async function operatorTokenExists(deps: CoreDeps): Promise<boolean> {
  return repos(deps.db, PLATFORM_SCOPE).tokens.liveOperatorTokenExists();
}
