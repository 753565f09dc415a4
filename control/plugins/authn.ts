/**
 * Authentication and authorization of the protected context, in one hook: the bearer token
 * becomes an Actor, and the route's declared permission is enforced. Every route of the
 * context must declare a permission (checked when the route is registered); object-level
 * tenant isolation is the core's job (scoped repositories answer 404).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type ActorOrigin, authorize, isPermission } from '../../appliance/core/kernel/authz.js';
import type { CoreDeps } from '../../appliance/core/deps.js';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { authenticateSession, CSRF_HEADER, SESSION_COOKIE } from '../../appliance/core/access/sessions.service.js';
import { authenticateApiToken } from '../../appliance/core/access/tokens.service.js';

export function originOf(req: FastifyRequest): ActorOrigin {
  const ua = req.headers['user-agent'];
  return { requestId: req.id, sourceIp: req.ip, userAgent: typeof ua === 'string' ? ua.slice(0, 300) : null };
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session cookie of a request, if any. */
export function sessionCookie(req: FastifyRequest): string | null {
  const v = (req.cookies as Record<string, string | undefined> | undefined)?.[SESSION_COOKIE];
  return typeof v === 'string' && v.length ? v : null;
}

export function csrfHeader(req: FastifyRequest): string | null {
  const v = req.headers[CSRF_HEADER];
  return typeof v === 'string' ? v : null;
}

/** A console session as an actor: state-changing requests must carry the CSRF token; TOTP must be enrolled. */
async function sessionActor(core: CoreDeps, req: FastifyRequest, cookie: string) {
  const auth = await authenticateSession(core, cookie, { checkCsrf: !SAFE_METHODS.has(req.method), csrfToken: csrfHeader(req), origin: originOf(req) });
  if (!auth.ok) {
    if (auth.reason === 'csrf') throw new AppError('Forbidden', `missing or wrong ${CSRF_HEADER} header`);
    throw new AppError('Unauthorized', auth.reason === 'unknown' ? 'not logged in' : `session ${auth.reason}`);
  }
  if (auth.session.kind !== 'principal') throw new AppError('Forbidden', 'the self-service session reaches /api/v1/self only');
  if (auth.session.mfa !== 'ok') throw new AppError('Forbidden', 'enrol TOTP first (POST /api/v1/auth/totp/enrol)');
  return auth.actor;
}

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
    const cookie = sessionCookie(req);
    let actor;
    if (m) {
      const result = await authenticateApiToken(core, m[1]!, originOf(req));
      if (!result.ok) throw new AppError('Unauthorized', result.reason === 'unknown' ? 'invalid token' : `token ${result.reason}`);
      actor = result.actor;
    } else if (cookie) {
      actor = await sessionActor(core, req, cookie);
    } else {
      throw new AppError('Unauthorized', 'missing bearer token (Authorization: Bearer <token>) or session');
    }
    // no child logger per request: the request line and error lines add the actor (request-log.ts actorFields)
    req.actor = actor;
    authorize(actor, permission);
  });
}

/** The authenticated actor of a request in the protected context. */
export function actorOf(req: FastifyRequest) {
  if (!req.actor) throw new AppError('Unauthorized', 'not authenticated');
  return req.actor;
}
