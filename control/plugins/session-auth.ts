/**
 * Cookie-session authentication for the public routes that authorize by the console session
 * (principals' /auth routes and mailbox owners' /self routes): one check, one set of answers.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CoreDeps } from '../../appliance/core/deps.js';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { authenticateSession } from '../../appliance/core/access/sessions.service.js';
import { errors } from '../schemas/common.js';
import { csrfHeader, originOf, sessionCookie } from './authn.js';

/** The error answers of the session-authorized routes. */
export const SESSION_ERRORS = errors(400, 401, 403, 404, 409, 415, 429, 500, 503);

/** The request's live session (CSRF-checked when `csrf`), optionally of one kind; throws 401/403 otherwise. */
export async function requireSession(core: CoreDeps, req: FastifyRequest, csrf: boolean, kind?: 'principal' | 'mailbox') {
  const cookie = sessionCookie(req);
  if (!cookie) throw new AppError('Unauthorized', 'not logged in');
  const auth = await authenticateSession(core, cookie, { checkCsrf: csrf, csrfToken: csrfHeader(req), origin: originOf(req) });
  if (!auth.ok) {
    if (auth.reason === 'csrf') throw new AppError('Forbidden', 'missing or wrong x-csrf-token header');
    throw new AppError('Unauthorized', auth.reason === 'unknown' ? 'not logged in' : `session ${auth.reason}`);
  }
  if (kind && auth.session.kind !== kind) throw new AppError('Forbidden', kind === 'mailbox' ? 'this is the mailbox owners’ area' : 'mailbox owners use /api/v1/self');
  return auth;
}

/** Adds Retry-After to a throttled answer. */
export function setRetryAfter(reply: FastifyReply, err: unknown): void {
  if (err instanceof AppError && err.code === 'RateLimited') reply.header('retry-after', Math.ceil(Number(err.details?.retryAfterMs ?? 1000) / 1000));
}
