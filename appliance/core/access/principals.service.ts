/**
 * Principals: the people who administer the appliance (operators, no tenant) or one tenant
 * (tenant admins). No shared admin logins: each is a person with a name and an email, a
 * permission set (a role or a list, never more than the inviting actor holds), a password they
 * set themselves through a single-use link, and TOTP. Disabling one ends their sessions and
 * revokes the API tokens they created.
 */
import type { Principal } from '../../db/tables/principals.table.js';
import type { PrincipalChanges } from '../../db/repos/principals.js';
import { type Repos, repos } from '../../db/repos/index.js';
import { parseAddress } from '../kernel/addresses.js';
import { appendAudit } from '../audit/audit.js';
import { type Actor, authorize, isPlatformActor, makeActor, type Permission, type Role, scopeOf } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { AppError, invalid } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { optionalText, requiredText } from '../kernel/text.js';
import { assertPasswordPolicy, hashPassword } from './passwords.js';
import { rowScope } from './access-scope.js';
import { trxOf } from '../../db/repos/index.js';
import { consumeSetupLink, findLiveSetupLink, issueSetupLink } from './setup-links.js';
import { parseStoredPermissions, resolveGrant } from './tokens.service.js';
import { iso, isUniqueViolation, pageOf } from '../kernel/util.js';
import type { PrincipalStatus } from '../../db/tables/status.js';

export interface PrincipalView {
  id: string;
  tenantId: string | null;
  kind: string;
  name: string;
  email: string;
  status: string;
  role: string | null;
  permissions: Permission[];
  totpEnabled: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

export interface InvitedPrincipal {
  id: string;
  email: string;
  setup: { token: string; url: string; expiresAt: string };
}

export function principalView(p: Principal): PrincipalView {
  return {
    id: p.id,
    tenantId: p.tenant_id,
    kind: p.kind,
    name: p.name,
    email: p.email,
    status: p.status,
    role: p.role,
    permissions: parseStoredPermissions(p.permissions),
    totpEnabled: p.totp_secret !== null,
    lastLoginAt: iso(p.last_login_at),
    createdAt: iso(p.created_at)!,
  };
}

export function principalSetupUrl(deps: CoreDeps, token: string): string {
  return `${deps.config.publicUrl}/principal-setup/${token}`;
}

/** The actor of a logged-in principal. */
export function principalActor(p: Principal, origin?: Actor['origin']): Actor {
  return makeActor({
    kind: p.tenant_id === null ? 'operator' : 'tenant-admin',
    tenantId: p.tenant_id,
    principalId: p.id,
    permissions: parseStoredPermissions(p.permissions),
    origin,
  });
}

export interface InvitePrincipalInput {
  name: string;
  email: string;
  role?: Role;
  permissions?: string[];
}

/** Invites a person: tenant admin of `tenantId`, or an operator when tenantId is null (platform actors only). */
export async function invitePrincipal(actor: Actor, deps: CoreDeps, tenantId: string | null, input: InvitePrincipalInput): Promise<InvitedPrincipal> {
  authorize(actor, 'principals.manage');
  const r = repos(deps.db, scopeOf(actor));
  if (tenantId === null) {
    if (!isPlatformActor(actor)) throw new AppError('Forbidden', 'only platform actors invite operators');
  } else {
    tenantId = (await r.tenants.get(tenantId)).id;
  }
  const name = requiredText(input.name, 'name', { max: 200 });
  const email = parseAddress(input.email, 'email').address;
  const { role, permissions } = resolveGrant(actor, input, tenantId);
  if (permissions.length === 0) throw invalid('a principal needs at least one permission', { field: 'permissions' });
  const now = deps.now();
  const id = newId('prn');
  try {
    return await r.transaction(async (t) => {
      const trx = trxOf(t);
      await t.principals.insert({
        id,
        tenant_id: tenantId,
        kind: tenantId === null ? 'operator' : 'tenant-admin',
        name,
        email,
        role,
        permissions: JSON.stringify(permissions),
        created_by: actor.principalId,
        created_at: now,
        updated_at: now,
      });
      const link = await issueSetupLink(trx, actor, deps, { purpose: 'principal-setup', mailboxId: null, tenantId, principalId: id, destination: null }, now);
      await appendAudit(trx, actor, { action: 'principal.invite', targetType: 'principal', targetId: id, tenantId, after: { name, email, role, permissions, setupLinkId: link.id } }, now);
      return { id, email, setup: { token: link.token, url: principalSetupUrl(deps, link.token), expiresAt: iso(link.expiresAt)! } };
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('AlreadyExists', `a principal with email ${email} already exists`);
    throw err;
  }
}

export async function getPrincipal(actor: Actor, deps: CoreDeps, principalId: string): Promise<PrincipalView> {
  authorize(actor, 'principals.read');
  return principalView(await repos(deps.db, scopeOf(actor)).principals.byId(principalId));
}

export interface PrincipalFilter {
  status?: PrincipalStatus;
  q?: string;
}

export async function listTenantPrincipals(
  actor: Actor,
  deps: CoreDeps,
  tenantId: string,
  page: { limit?: number; after?: string | null } = {},
  filter: PrincipalFilter = {},
): Promise<PrincipalView[]> {
  authorize(actor, 'principals.read');
  const r = repos(deps.db, scopeOf(actor));
  await r.tenants.get(tenantId);
  return (await r.principals.list(tenantId, pageOf(page), filter)).map(principalView);
}

export async function listOperators(actor: Actor, deps: CoreDeps, page: { limit?: number; after?: string | null } = {}, filter: PrincipalFilter = {}): Promise<PrincipalView[]> {
  authorize(actor, 'principals.read');
  if (!isPlatformActor(actor)) throw new AppError('Forbidden', 'only platform actors list operators');
  return (await repos(deps.db, scopeOf(actor)).principals.list(null, pageOf(page), filter)).map(principalView);
}

/** Ends every session of a principal and revokes the tokens they created (inside the caller's transaction). */
async function cutOff(t: Repos, principalId: string, now: number): Promise<number> {
  await t.sessions.revokeForPrincipal(principalId, now);
  return t.tokens.revokeForPrincipal(principalId, now);
}

export interface UpdatePrincipalInput {
  name?: string;
  role?: Role;
  permissions?: string[];
  status?: 'active' | 'disabled';
  reason?: string;
}

interface PlannedUpdate {
  changes: PrincipalChanges;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  disabling: boolean;
}

/** What an update changes (validated and authorized against the actor), before anything is written. */
function planUpdate(actor: Actor, p: Principal, input: UpdatePrincipalInput): PlannedUpdate {
  const self = p.id === actor.principalId;
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  const changes: PrincipalChanges = {};
  if (input.name !== undefined) {
    const name = requiredText(input.name, 'name', { max: 200 });
    if (name !== p.name) {
      before.name = p.name;
      after.name = name;
      changes.name = name;
    }
  }
  if (input.role !== undefined || input.permissions !== undefined) {
    if (self) throw new AppError('Forbidden', 'nobody changes their own permissions');
    const grant = resolveGrant(actor, input, p.tenant_id);
    if (grant.permissions.length === 0) throw invalid('a principal needs at least one permission', { field: 'permissions' });
    before.role = p.role;
    before.permissions = parseStoredPermissions(p.permissions);
    after.role = grant.role;
    after.permissions = grant.permissions;
    changes.role = grant.role;
    changes.permissions = JSON.stringify(grant.permissions);
  }
  let disabling = false;
  if (input.status !== undefined && input.status !== p.status) {
    if (self) throw new AppError('Forbidden', 'nobody disables or enables their own account');
    if (input.status === 'active' && p.status === 'pending') throw new AppError('Conflict', 'a pending principal becomes active by completing their setup link');
    before.status = p.status;
    after.status = input.status;
    changes.status = input.status;
    disabling = input.status === 'disabled';
  }
  return { changes, before, after, disabling };
}

export async function updatePrincipal(actor: Actor, deps: CoreDeps, principalId: string, input: UpdatePrincipalInput): Promise<PrincipalView> {
  authorize(actor, 'principals.manage');
  const r = repos(deps.db, scopeOf(actor));
  const p = await r.principals.byId(principalId);
  if (p.tenant_id === null && !isPlatformActor(actor)) throw new AppError('NotFound', 'principal not found');
  const { changes, before, after, disabling } = planUpdate(actor, p, input);
  if (!Object.keys(after).length) return principalView(p);
  const reason = optionalText(input.reason, 'reason');
  const now = deps.now();
  await r.transaction(async (t) => {
    await t.principals.update(p.id, changes, now, { bumpCredentials: disabling || changes.permissions !== undefined });
    if (disabling) after.tokensRevoked = await cutOff(t, p.id, now);
    await appendAudit(trxOf(t), actor, { action: disabling ? 'principal.disable' : 'principal.update', targetType: 'principal', targetId: p.id, tenantId: p.tenant_id, before, after, reason }, now);
  });
  return principalView(await r.principals.byId(p.id));
}

/**
 * Lost password or authenticator: clears both, ends sessions, and issues a new single-use setup
 * link (returned once to the caller, who hands it to the person). Audited.
 */
export async function resetPrincipal(actor: Actor, deps: CoreDeps, principalId: string, input: { reason?: string } = {}): Promise<InvitedPrincipal> {
  authorize(actor, 'principals.manage');
  const r = repos(deps.db, scopeOf(actor));
  const p = await r.principals.byId(principalId);
  if (p.id === actor.principalId) throw new AppError('Forbidden', 'ask another administrator to reset your account');
  if (p.status === 'disabled') throw new AppError('Conflict', 'enable the principal first');
  const reason = optionalText(input.reason, 'reason');
  const now = deps.now();
  return r.transaction(async (t) => {
    const trx = trxOf(t);
    await t.principals.clearCredentials(p.id, now);
    await t.principals.deleteRecoveryCodes(p.id);
    await t.setupLinks.voidForPrincipal(p.id, now);
    await t.sessions.revokeForPrincipal(p.id, now);
    const link = await issueSetupLink(trx, actor, deps, { purpose: 'principal-setup', mailboxId: null, tenantId: p.tenant_id, principalId: p.id, destination: null }, now);
    await appendAudit(
      trx,
      actor,
      {
        action: 'principal.reset',
        targetType: 'principal',
        targetId: p.id,
        tenantId: p.tenant_id,
        before: { status: p.status, totpEnabled: p.totp_secret !== null },
        after: { status: 'pending', setupLinkId: link.id },
        reason,
      },
      now,
    );
    return { id: p.id, email: p.email, setup: { token: link.token, url: principalSetupUrl(deps, link.token), expiresAt: iso(link.expiresAt)! } };
  });
}

/** Redeems a principal setup link: the person sets their own password (TOTP is enrolled at first login). */
export async function completePrincipalSetup(actor: Actor, deps: CoreDeps, token: string, password: string): Promise<void> {
  const link = await findLiveSetupLink(deps, token, 'principal-setup');
  // The link's secret is the authority: the principal is found in the link's own scope.
  const r = repos(deps.db, rowScope(link.tenant_id));
  const p = link.principal_id ? await r.principals.find(link.principal_id) : undefined;
  if (!p) throw new AppError('NotFound', 'setup link not found');
  if (p.status === 'disabled') throw new AppError('Gone', 'this account is disabled');
  assertPasswordPolicy(password, { address: p.email });
  const passwordHash = await hashPassword(password);
  const linkActor = makeActor({ kind: 'public', tenantId: p.tenant_id, principalId: `setup-link:${link.id}`, permissions: [], origin: actor.origin });
  const now = deps.now();
  await r.transaction(async (t) => {
    await consumeSetupLink(trxOf(t), link.id, now);
    await t.principals.setPassword(p.id, passwordHash, now);
    await appendAudit(
      trxOf(t),
      linkActor,
      {
        action: 'principal.setup.complete',
        targetType: 'principal',
        targetId: p.id,
        tenantId: p.tenant_id,
        before: { status: p.status },
        after: { status: 'active', passwordSet: true, setupLinkId: link.id },
      },
      now,
    );
  });
}
