/**
 * Outbound routes: the smarthost for mail sent from a domain, a tenant's domains, or (operators
 * only) the whole appliance. The MTA picks the most specific one (sending.ts). Audited.
 */
import type { OutboundRoute, RouteOwner } from '../../db/repos/sending.js';
import { repos } from '../../db/repos/index.js';
import type { CoreDeps } from '../deps.js';
import { type Actor, authorize, isPlatformActor, scopeOf } from '../kernel/authz.js';
import { invalid, notFound } from '../kernel/errors.js';
import { iso } from '../kernel/util.js';
import { audit, sendingId } from './common.js';

export interface RouteInput {
  host: string;
  port: number;
  tls?: 'opportunistic';
  authUser?: string;
  authPassword?: string;
}

export interface RouteView {
  id: string;
  scope: 'domain' | 'tenant' | 'global';
  tenantId: string | null;
  domainId: string | null;
  host: string;
  port: number;
  tls: string;
  authUser: string | null;
  hasPassword: boolean;
  updatedAt: string;
}

export type RouteScope = { kind: 'domain'; id: string } | { kind: 'tenant'; id: string } | { kind: 'global' };

function routeView(r: OutboundRoute): RouteView {
  return {
    id: r.id,
    scope: r.domain_id ? 'domain' : r.tenant_id ? 'tenant' : 'global',
    tenantId: r.tenant_id,
    domainId: r.domain_id,
    host: r.host,
    port: r.port,
    tls: r.tls,
    authUser: r.auth_user,
    hasPassword: !!r.auth_pass,
    updatedAt: iso(r.updated_at)!,
  };
}

async function resolveRouteScope(actor: Actor, deps: CoreDeps, scope: RouteScope, write: boolean): Promise<RouteOwner> {
  if (scope.kind === 'global') {
    if (!isPlatformActor(actor)) throw notFound('route');
    authorize(actor, write ? 'tenants.manage' : 'tenants.read');
    return { tenantId: null, domainId: null };
  }
  authorize(actor, write ? 'domains.manage' : 'domains.read');
  const rAll = repos(deps.db, scopeOf(actor));
  if (scope.kind === 'domain') {
    const d = await rAll.domains.get(scope.id);
    return { tenantId: d.tenant_id, domainId: d.id };
  }
  const t = await rAll.tenants.get(scope.id);
  return { tenantId: t.id, domainId: null };
}

function validRoute(input: RouteInput): string {
  if (input.port === 465) throw invalid('implicit-TLS smarthosts (port 465) are not supported; use the submission port 587 with STARTTLS', { field: 'port' });
  const host = input.host.trim().toLowerCase();
  if (!/^[a-z0-9.-]+$|^[0-9a-f:.]+$/.test(host)) throw invalid('host must be a host name or IP address', { field: 'host' });
  if ((input.authUser === undefined) !== (input.authPassword === undefined)) throw invalid('authUser and authPassword go together', { field: 'authUser' });
  return host;
}

export async function getRoute(actor: Actor, deps: CoreDeps, scope: RouteScope): Promise<RouteView> {
  const owner = await resolveRouteScope(actor, deps, scope, false);
  const row = await repos(deps.db, scopeOf(actor)).sending.route(owner);
  if (!row) throw notFound('route');
  return routeView(row);
}

export async function putRoute(actor: Actor, deps: CoreDeps, scope: RouteScope, input: RouteInput): Promise<RouteView> {
  const owner = await resolveRouteScope(actor, deps, scope, true);
  const host = validRoute(input);
  const now = deps.now();
  return repos(deps.db, scopeOf(actor)).transaction(async (t) => {
    const existing = await t.sending.route(owner);
    const row: OutboundRoute = {
      id: existing?.id ?? sendingId('rte'),
      tenant_id: owner.tenantId,
      domain_id: owner.domainId,
      host,
      port: input.port,
      tls: 'opportunistic',
      auth_user: input.authUser ?? null,
      auth_pass: input.authPassword ?? null,
      created_at: existing?.created_at ?? now,
      updated_at: now,
    };
    if (existing) await t.sending.updateRoute(row);
    else await t.sending.insertRoute(row);
    await audit(
      t,
      actor,
      {
        action: existing ? 'route.update' : 'route.create',
        targetType: 'route',
        targetId: row.id,
        tenantId: owner.tenantId,
        before: existing ? { ...routeView(existing) } : null,
        after: { ...routeView(row) },
      },
      now,
    );
    return routeView(row);
  });
}

export async function deleteRoute(actor: Actor, deps: CoreDeps, scope: RouteScope): Promise<void> {
  const owner = await resolveRouteScope(actor, deps, scope, true);
  const now = deps.now();
  await repos(deps.db, scopeOf(actor)).transaction(async (t) => {
    const existing = await t.sending.route(owner);
    if (!existing) throw notFound('route');
    await t.sending.deleteRoute(existing.id);
    await audit(t, actor, { action: 'route.delete', targetType: 'route', targetId: existing.id, tenantId: owner.tenantId, before: { ...routeView(existing) } }, now);
  });
}
