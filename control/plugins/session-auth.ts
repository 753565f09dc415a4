/**
 * The session context: routes that authorize by the console session cookie (principals'
 * /auth routes, mailbox owners' /self routes). Each route declares `config.permission:
 * 'session'` and the kind of session it accepts (`config.session`: 'owner' | 'principal' |
 * 'either'); one preHandler hook turns the cookie into `request.actor` (and
 * `request.webSession`), checking the CSRF token on every state-changing request. No handler
 * authenticates by itself. Body validation runs first (a bad body is a 400 before any session
 * look-up, as before the context existed).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CoreDeps } from '../../appliance/core/deps.js';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { authenticateSession, CSRF_COOKIE, SESSION_COOKIE } from '../../appliance/core/access/sessions.service.js';
import { errors } from '../schemas/common.js';
import type { LiveSession, SessionKind } from '../types.js';
import { csrfHeader, originOf, sessionCookie } from './authn.js';

/** The error answers of the session-authorized routes. */
export const SESSION_ERRORS = errors(400, 401, 403, 404, 409, 415, 429, 500, 503);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const KINDS: ReadonlySet<string> = new Set<SessionKind>(['owner', 'principal', 'either']);

/** The request's live session (CSRF-checked when `csrf`), of the declared kind; throws 401/403 otherwise. */
async function requireSession(core: CoreDeps, req: FastifyRequest, csrf: boolean, kind: SessionKind): Promise<LiveSession> {
  const cookie = sessionCookie(req);
  if (!cookie) throw new AppError('Unauthorized', 'not logged in');
  const auth = await authenticateSession(core, cookie, { checkCsrf: csrf, csrfToken: csrfHeader(req), origin: originOf(req) });
  if (!auth.ok) {
    if (auth.reason === 'csrf') throw new AppError('Forbidden', 'missing or wrong x-csrf-token header');
    throw new AppError('Unauthorized', auth.reason === 'unknown' ? 'not logged in' : `session ${auth.reason}`);
  }
  if (kind === 'owner' && auth.session.kind !== 'mailbox') throw new AppError('Forbidden', 'this is the mailbox owners’ area');
  if (kind === 'principal' && auth.session.kind !== 'principal') throw new AppError('Forbidden', 'mailbox owners use /api/v1/self');
  return auth;
}

/** Installs the session context's checks on `scope` (an encapsulated context holding only session routes). */
export function installSessionAuth(scope: FastifyInstance, core: CoreDeps): void {
  scope.decorateRequest('webSession', null);
  scope.addHook('onRoute', (route) => {
    const { permission, session } = route.config ?? {};
    if (permission !== 'session' || typeof session !== 'string' || !KINDS.has(session)) {
      throw new Error(`session route ${route.method} ${route.url} must declare config.permission 'session' and config.session ('owner' | 'principal' | 'either')`);
    }
  });
  scope.addHook('preHandler', async (req) => {
    const kind = req.routeOptions.config.session;
    if (!kind) throw new AppError('Forbidden', 'route declares no session kind');
    const auth = await requireSession(core, req, !SAFE_METHODS.has(req.method), kind);
    req.webSession = auth;
    req.actor = auth.actor; // logged with the request line and error lines (request-log.ts actorFields)
  });
}

/** The checked session of a request in the session context. */
export function sessionOf(req: FastifyRequest): LiveSession {
  if (!req.webSession) throw new AppError('Unauthorized', 'not logged in');
  return req.webSession;
}

/** Ends the session cookies in the browser (logout). */
export function clearSessionCookies(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
  reply.clearCookie(CSRF_COOKIE, { path: '/' });
}

/** Adds Retry-After to a throttled answer. */
export function setRetryAfter(reply: FastifyReply, err: unknown): void {
  if (err instanceof AppError && err.code === 'RateLimited') reply.header('retry-after', Math.ceil(Number(err.details?.retryAfterMs ?? 1000) / 1000));
}
