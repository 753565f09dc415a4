/**
 * Console login (public context: these routes authorize by password, TOTP or the session cookie
 * themselves). Principals: POST /auth/login, then TOTP enrolment when needed; mailbox owners:
 * POST /self/login with the mailbox credentials. The session cookie is httpOnly, SameSite=Strict
 * and Secure when the console is served over TLS; the CSRF token comes back in the login answer
 * and in a readable cookie, and must be echoed in x-csrf-token on every state-changing request.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { publicActor } from '../../../appliance/core/kernel/authz.js';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { AppError } from '../../../appliance/core/kernel/errors.js';
import { completePrincipalSetup } from '../../../appliance/core/access/principals.service.js';
import {
  beginTotpEnrolment,
  confirmTotpEnrolment,
  CSRF_COOKIE,
  type IssuedSession,
  loginMailboxOwner,
  loginPrincipal,
  logout,
  SESSION_COOKIE,
  sessionView,
} from '../../../appliance/core/access/sessions.service.js';
import { originOf, sessionCookie } from '../../plugins/authn.js';
import { requireSession, setRetryAfter } from '../../plugins/session-auth.js';
import { LoggedIn, LoginBody, RecoveryCodes, SelfLoggedIn, SelfLoginBody, SessionInfo, TotpConfirmBody, TotpEnrolment } from '../../schemas/auth.schemas.js';
import { errors } from '../../schemas/common.js';
import { SetupBody, SetupParams } from '../../schemas/setup.schemas.js';

const SESSION_ERRORS = errors(400, 401, 403, 409, 415, 429, 500, 503);

const authRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps; secureCookies: boolean }> = async (app, { core, secureCookies }) => {
  const setCookies = (reply: FastifyReply, s: IssuedSession) => {
    const expires = new Date(s.expiresAt);
    reply.setCookie(SESSION_COOKIE, s.token, { httpOnly: true, secure: secureCookies, sameSite: 'strict', path: '/', expires });
    reply.setCookie(CSRF_COOKIE, s.csrfToken, { httpOnly: false, secure: secureCookies, sameSite: 'strict', path: '/', expires });
  };
  const clearCookies = (reply: FastifyReply) => {
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    reply.clearCookie(CSRF_COOKIE, { path: '/' });
  };
  /** The session of a request; `csrf` for state-changing calls. */
  const session = (req: FastifyRequest, csrf: boolean, kind?: 'principal' | 'mailbox') => requireSession(core, req, csrf, kind);

  app.post(
    '/api/v1/auth/login',
    {
      config: { permission: 'public' },
      schema: { tags: ['auth'], summary: 'Operator or tenant-admin login: password and TOTP (or a recovery code); sets the session cookie', body: LoginBody, response: { 200: LoggedIn, ...SESSION_ERRORS } },
    },
    async (req, reply) => {
      try {
        const r = await loginPrincipal(core, req.body, originOf(req));
        setCookies(reply, r.session);
        return { csrfToken: r.session.csrfToken, expiresAt: r.session.expiresAt, mfa: r.mfa, principal: r.principal };
      } catch (err) {
        setRetryAfter(reply, err);
        throw err;
      }
    },
  );

  app.post(
    '/api/v1/auth/logout',
    { config: { permission: 'public' }, schema: { tags: ['auth'], summary: 'End the console session (principal or mailbox owner)', response: { 204: Type.Null(), ...SESSION_ERRORS } } },
    async (req, reply) => {
      const auth = await session(req, true);
      await logout(core, auth.session, auth.actor);
      clearCookies(reply);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/auth/session',
    { config: { permission: 'public' }, schema: { tags: ['auth'], summary: 'Who is logged in with this session', response: { 200: SessionInfo, ...SESSION_ERRORS } } },
    async (req) => sessionView(core, await session(req, false)),
  );

  app.post(
    '/api/v1/auth/totp/enrol',
    {
      config: { permission: 'public' },
      schema: { tags: ['auth'], summary: 'Start TOTP enrolment: a secret and its otpauth:// URI (QR code); confirm with a code', response: { 200: TotpEnrolment, ...SESSION_ERRORS } },
    },
    async (req) => beginTotpEnrolment(core, await session(req, true, 'principal')),
  );

  app.post(
    '/api/v1/auth/totp/confirm',
    {
      config: { permission: 'public' },
      schema: { tags: ['auth'], summary: 'Confirm TOTP enrolment with a current code; returns one-time recovery codes (shown once)', body: TotpConfirmBody, response: { 200: RecoveryCodes, ...SESSION_ERRORS } },
    },
    async (req) => confirmTotpEnrolment(core, await session(req, true, 'principal'), req.body.code),
  );

  app.post(
    '/api/v1/principal-setup/:token',
    {
      config: { permission: 'public' },
      schema: { tags: ['auth'], summary: 'Set an invited operator’s or tenant admin’s password through their single-use link', params: SetupParams, body: SetupBody, response: { 204: Type.Null(), ...errors(400, 404, 410, 415, 500) } },
    },
    async (req, reply) => {
      await completePrincipalSetup(publicActor(originOf(req)), core, req.params.token, req.body.password);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/self/login',
    {
      config: { permission: 'public' },
      schema: { tags: ['self-service'], summary: 'Mailbox owner login with the mailbox address and password; sets the session cookie', body: SelfLoginBody, response: { 200: SelfLoggedIn, ...SESSION_ERRORS } },
    },
    async (req, reply) => {
      try {
        const r = await loginMailboxOwner(core, req.body, originOf(req));
        setCookies(reply, r.session);
        return { csrfToken: r.session.csrfToken, expiresAt: r.session.expiresAt, mailboxId: r.mailboxId, address: r.address };
      } catch (err) {
        setRetryAfter(reply, err);
        throw err;
      }
    },
  );

  app.get(
    '/api/v1/self',
    { config: { permission: 'public' }, schema: { tags: ['self-service'], summary: 'The logged-in owner’s mailbox: status, quota and ownership record', response: { 200: SessionInfo, ...SESSION_ERRORS } } },
    async (req) => sessionView(core, await session(req, false, 'mailbox')),
  );
};

export default authRoutes;
