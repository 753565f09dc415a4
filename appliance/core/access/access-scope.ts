/**
 * Scopes of the access flows. Most use cases run in their actor's scope (`scopeOf`). Some rows
 * are found by a secret before any actor exists (a session cookie, a bearer token, a setup
 * link): the secret is the authority, and what follows runs in the scope of the row's own
 * tenant. And a transaction's repositories hand the audit log the transaction they run in.
 */
import { type Actor, scopeOf } from '../kernel/authz.js';
import { PLATFORM_SCOPE, type Scope, tenantScope } from '../kernel/scope.js';

/** The scope of a row found by its secret: its tenant's, or the platform's for a row without one (operators). */
export function rowScope(tenantId: string | null): Scope {
  return tenantId === null ? PLATFORM_SCOPE : tenantScope(tenantId);
}

/**
 * The scope in which `actor` writes a row of `tenantId`. A public actor acts on a secret its
 * caller has checked (a setup or reset link): the row's own tenant. Every other actor writes in
 * its own scope, so a row of another tenant is refused by the repository.
 */
export function writeScope(actor: Actor, tenantId: string | null): Scope {
  return actor.kind === 'public' ? rowScope(tenantId) : scopeOf(actor);
}
