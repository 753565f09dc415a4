/**
 * The authorization core. Permissions and roles are data; an Actor carries the permissions it
 * was granted and reaches every core function as its first argument. Tenant isolation is
 * enforced by the scoped repositories (repo.ts), which derive their scope from the actor here.
 *
 * Rules:
 * - a platform permission (tenants.manage, audit.verify) is only ever held by an actor without
 *   a tenant; makeActor drops it from tenant actors;
 * - a read-only actor exercises read permissions only;
 * - a permission the actor lacks is Forbidden (403); an object of another tenant is NotFound
 *   (404), decided by the repositories, never here.
 */
import { AppError } from './errors.js';
import { PLATFORM_SCOPE, type Scope, tenantScope } from './scope.js';

interface PermissionSpec {
  /** platform: only actors without a tenant may hold it. */
  scope: 'platform' | 'tenant';
  /** Whether it changes state (denied to read-only actors). */
  write: boolean;
  description: string;
}

export const PERMISSIONS = {
  'tenants.read': { scope: 'tenant', write: false, description: 'Read tenants (a tenant actor: its own)' },
  'tenants.manage': { scope: 'platform', write: true, description: 'Create and change tenants' },
  'domains.read': { scope: 'tenant', write: false, description: 'Read domains and the DNS records they need' },
  'domains.manage': { scope: 'tenant', write: true, description: 'Add domains, change DNS and authentication settings' },
  'mailboxes.read': { scope: 'tenant', write: false, description: 'Read mailboxes and their ownership records' },
  'mailboxes.create': { scope: 'tenant', write: true, description: 'Create mailboxes' },
  'mailboxes.suspend': { scope: 'tenant', write: true, description: 'Disable and suspend mailboxes' },
  'mailboxes.manage': { scope: 'tenant', write: true, description: 'Change mailboxes: quota, flags, reset destination, ownership transfer and rollback' },
  'mailboxes.delete': { scope: 'tenant', write: true, description: 'Delete mailboxes into the recycle bin and restore them' },
  'mailboxes.share': { scope: 'tenant', write: true, description: 'Grant, change, roll back and remove access of other mailboxes to a shared mailbox (delegation)' },
  'resets.initiate': { scope: 'tenant', write: true, description: 'Send a reset link to a mailbox reset destination' },
  'resets.approve': { scope: 'tenant', write: true, description: 'Approve emergency resets' },
  'mailboxes.offboard': { scope: 'tenant', write: true, description: 'Offboard mailboxes: disable, revoke, sweep forwards and delegations, transfer dependents; undo within the grace period' },
  'policies.manage': { scope: 'tenant', write: true, description: 'Change the tenant access policy (reset delivery, external forwarding) and high-value flags' },
  'forwarding.read': { scope: 'tenant', write: false, description: 'Read aliases, catch-all and forwards' },
  'forwarding.manage': { scope: 'tenant', write: true, description: 'Manage aliases, catch-all and forwards' },
  'audit.read': { scope: 'tenant', write: false, description: 'Read the audit log (a tenant actor: its tenant)' },
  'audit.verify': { scope: 'platform', write: false, description: 'Verify the appliance-wide audit hash chain' },
  'tokens.read': { scope: 'tenant', write: false, description: 'List API tokens' },
  'tokens.manage': { scope: 'tenant', write: true, description: 'Create and revoke API tokens' },
  'principals.read': { scope: 'tenant', write: false, description: 'List operators and tenant admins (a tenant actor: its own)' },
  'principals.manage': { scope: 'tenant', write: true, description: 'Invite, change and disable tenant admins (platform actors: operators too)' },
  'mailflow.read': { scope: 'tenant', write: false, description: 'Read the outbound queue and mail-flow figures (a tenant actor: its own messages and deliveries)' },
  // Counted as a write (denied to read-only tokens): an export hands over every message.
  'mailboxes.export': { scope: 'tenant', write: true, description: 'Export mailboxes and tenants (mail as mbox or Maildir plus control data); denied to read-only tokens' },
  'backups.restore': { scope: 'platform', write: true, description: 'Restore a mailbox or folder from a backup on the appliance into the live store' },
} as const satisfies Record<string, PermissionSpec>;

export type Permission = keyof typeof PERMISSIONS;
export const ALL_PERMISSIONS = Object.freeze(Object.keys(PERMISSIONS) as Permission[]);
export const TENANT_PERMISSIONS = Object.freeze(ALL_PERMISSIONS.filter((p) => PERMISSIONS[p].scope === 'tenant'));
const READ_PERMISSIONS = ALL_PERMISSIONS.filter((p) => !PERMISSIONS[p].write);

export function isPermission(value: string): value is Permission {
  return Object.prototype.hasOwnProperty.call(PERMISSIONS, value);
}

/** Named permission sets. A token or principal is granted a role or an explicit list. */
export const ROLES = {
  operator: ALL_PERMISSIONS,
  'tenant-admin': TENANT_PERMISSIONS,
  'tenant-auditor': Object.freeze(READ_PERMISSIONS.filter((p) => PERMISSIONS[p].scope === 'tenant')),
  helpdesk: Object.freeze(['tenants.read', 'domains.read', 'mailboxes.read', 'resets.initiate'] as Permission[]),
} as const satisfies Record<string, readonly Permission[]>;

export type Role = keyof typeof ROLES;
export const ROLE_NAMES = Object.freeze(Object.keys(ROLES) as Role[]);

export function isRole(value: string): value is Role {
  return Object.prototype.hasOwnProperty.call(ROLES, value);
}

/** operator / tenant-admin: a person logged in with a web session; mailbox-owner: self-service (no permissions). */
export type ActorKind = 'operator' | 'tenant-admin' | 'token' | 'system' | 'public' | 'mailbox-owner';

/** Where a request came from; copied into audit events. */
export interface ActorOrigin {
  requestId?: string | null;
  sourceIp?: string | null;
  userAgent?: string | null;
}

export interface Actor {
  kind: ActorKind;
  /** null: a platform actor (operator, system), which sees every tenant. */
  tenantId: string | null;
  /** Who acts: a person's principal id, a token's own id, or a fixed name for system actors. */
  principalId: string;
  tokenId: string | null;
  permissions: ReadonlySet<Permission>;
  readOnly: boolean;
  origin?: ActorOrigin;
}

export function makeActor(input: {
  kind: ActorKind;
  tenantId: string | null;
  principalId: string;
  tokenId?: string | null;
  permissions: Iterable<string>;
  readOnly?: boolean;
  origin?: ActorOrigin;
}): Actor {
  const permissions = new Set<Permission>();
  if (input.kind !== 'public' && input.kind !== 'mailbox-owner') {
    for (const p of input.permissions) {
      if (!isPermission(p)) continue;
      if (PERMISSIONS[p].scope === 'platform' && input.tenantId !== null) continue;
      permissions.add(p);
    }
  }
  return Object.freeze({
    kind: input.kind,
    tenantId: input.tenantId,
    principalId: input.principalId,
    tokenId: input.tokenId ?? null,
    permissions,
    readOnly: input.readOnly ?? false,
    origin: input.origin,
  });
}

/** The appliance itself (boot, scheduled jobs): every permission, every tenant. */
export function systemActor(principalId = 'system', origin?: ActorOrigin): Actor {
  return makeActor({ kind: 'system', tenantId: null, principalId, permissions: ALL_PERMISSIONS, origin });
}

/** An unauthenticated caller (setup links): no permissions, no scope. Public use cases authorize by their secret. */
export function publicActor(origin?: ActorOrigin): Actor {
  return makeActor({ kind: 'public', tenantId: null, principalId: 'anonymous', permissions: [], origin });
}

export function isPlatformActor(actor: Actor): boolean {
  return actor.kind !== 'public' && actor.tenantId === null;
}

export function can(actor: Actor, permission: Permission): boolean {
  if (!actor.permissions.has(permission)) return false;
  const spec = PERMISSIONS[permission];
  if (spec.write && actor.readOnly) return false;
  if (spec.scope === 'platform' && actor.tenantId !== null) return false;
  return true;
}

/** Throws Forbidden unless the actor holds the permission. */
export function authorize(actor: Actor, permission: Permission): void {
  if (can(actor, permission)) return;
  const reason = actor.readOnly && PERMISSIONS[permission].write ? 'this token is read-only' : `missing permission ${permission}`;
  throw new AppError('Forbidden', reason, { permission });
}

/**
 * Checks that `actor` may grant `requested` to a principal of `tenantId`: never more than it
 * holds itself, and never a platform permission to a tenant principal.
 */
export function assertGrantable(actor: Actor, requested: readonly Permission[], tenantId: string | null): void {
  const notHeld = requested.filter((p) => !can(actor, p));
  if (notHeld.length) {
    throw new AppError('Forbidden', `cannot grant permissions you do not hold: ${notHeld.join(', ')}`, { permissions: notHeld });
  }
  if (tenantId !== null) {
    const platform = requested.filter((p) => PERMISSIONS[p].scope === 'platform');
    if (platform.length) {
      throw new AppError('Invalid', `platform permissions cannot be granted to a tenant: ${platform.join(', ')}`, { permissions: platform });
    }
  }
}

/** The audit log's actor type for an actor. */
export function auditActorType(actor: Actor): string {
  return actor.kind;
}

/** The repository scope of an actor: its tenant, or every tenant for a platform actor. */
export function scopeOf(actor: Actor): Scope {
  if (isPlatformActor(actor)) return PLATFORM_SCOPE;
  if (actor.tenantId === null) throw new AppError('Forbidden', 'this caller has no tenant scope');
  return tenantScope(actor.tenantId);
}
