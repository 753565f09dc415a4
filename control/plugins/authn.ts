/**
 * Authentication and authorization of the protected context, in one hook: the bearer token
 * becomes an Actor, and the route's declared permission is enforced. Every route of the
 * context must declare a permission (checked when the route is registered); object-level
 * tenant isolation is the core's job (scoped repositories answer 404).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type ActorOrigin, authorize, isPermission } from '../../appliance/core/authz.js';
import type { CoreDeps } from '../../appliance/core/deps.js';
import { AppError } from '../../appliance/core/errors.js';
import { authenticateApiToken } from '../../appliance/core/tokens.service.js';

export function originOf(req: FastifyRequest): ActorOrigin {
  const ua = req.headers['user-agent'];
  return { requestId: req.id, sourceIp: req.ip, userAgent: typeof ua === 'string' ? ua.slice(0, 300) : null };
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export function installAuthentication(scope: FastifyInstance, core: CoreDeps): void {
  scope.addHook('onRoute', (route) => {
    const permission = route.config?.permission;
    if (typeof permission !== 'string' || !isPermission(permission)) {
      throw new Error(`route ${route.method} ${route.url} must declare config.permission (one of the core permissions)`);
    }
  });

  scope.addHook('onRequest', async (req) => {
    const permission = req.routeOptions.config.permission;
    if (typeof permission !== 'string' || !isPermission(permission)) throw new AppError('Forbidden', 'route declares no permission');
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? BEARER.exec(header) : null;
    if (!m) throw new AppError('Unauthorized', 'missing bearer token (Authorization: Bearer <token>)');
    const result = await authenticateApiToken(core, m[1]!, originOf(req));
    if (!result.ok) throw new AppError('Unauthorized', result.reason === 'unknown' ? 'invalid token' : `token ${result.reason}`);
    req.actor = result.actor;
    req.log = req.log.child({ actor: result.actor.principalId, tenantId: result.actor.tenantId });
    authorize(result.actor, permission);
  });
}

/** The authenticated actor of a request in the protected context. */
export function actorOf(req: FastifyRequest) {
  if (!req.actor) throw new AppError('Unauthorized', 'not authenticated');
  return req.actor;
}
