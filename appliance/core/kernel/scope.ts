/**
 * What a repository may see: one tenant, or (explicitly) every tenant. Repositories in
 * `appliance/db/repos/` take a Scope, never an actor; the core turns an actor into a scope with
 * `scopeOf` (kernel/authz.ts). A tenant scope filters every read and every write by
 * `tenant_id`, so another tenant's row is simply not found.
 */
export interface Scope {
  /** null: every tenant. Only `PLATFORM_SCOPE` and platform actors carry it. */
  readonly tenantId: string | null;
}

/** Every tenant: platform actors, boot-time jobs and the serving layer's own look-ups. */
export const PLATFORM_SCOPE: Scope = Object.freeze({ tenantId: null });

export function tenantScope(tenantId: string): Scope {
  return Object.freeze({ tenantId });
}
