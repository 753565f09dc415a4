/**
 * Console login (public context: these routes authorize by password, TOTP or a setup link).
 * Principals: POST /auth/login, then TOTP enrolment when needed (session.routes.ts); mailbox
 * owners: POST /self/login with the mailbox credentials. The session cookie is httpOnly, SameSite=Strict
 * and Secure when the console is served over TLS; the CSRF token comes back in the login answer
 * and in a readable cookie, and must be echoed in x-csrf-token on every state-changing request.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { publicActor } from '../../../appliance/core/kernel/authz.js';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { completePrincipalSetup } from '../../../appliance/core/access/principals.service.js';
import { CSRF_COOKIE, type IssuedSession, loginMailboxOwner, loginPrincipal, SESSION_COOKIE } from '../../../appliance/core/access/sessions.service.js';
import { originOf } from '../../plugins/authn.js';
import { setRetryAfter } from '../../plugins/session-auth.js';
import { LoggedIn, LoginBody, SelfLoggedIn, SelfLoginBody } from '../../schemas/auth.schemas.js';
import { errors } from '../../schemas/common.js';
import { SetupBody, SetupParams } from '../../schemas/setup.schemas.js';

const SESSION_ERRORS = errors(400, 401, 403, 409, 415, 429, 500, 503);

const authRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps; secureCookies: boolean }> = async (app, { core, secureCookies }) => {
  const setCookies = (reply: FastifyReply, s: IssuedSession) => {
    const expires = new Date(s.expiresAt);
    reply.setCookie(SESSION_COOKIE, s.token, { httpOnly: true, secure: secureCookies, sameSite: 'strict', path: '/', expires });
    reply.setCookie(CSRF_COOKIE, s.csrfToken, { httpOnly: false, secure: secureCookies, sameSite: 'strict', path: '/', expires });
  };

  app.post(
    '/api/v1/auth/login',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Operator or tenant-admin login: password and TOTP (or a recovery code); sets the session cookie',
        body: LoginBody,
        response: { 200: LoggedIn, ...SESSION_ERRORS },
      },
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
    '/api/v1/principal-setup/:token',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Set an invited operator’s or tenant admin’s password through their single-use link',
        params: SetupParams,
        body: SetupBody,
        response: { 204: Type.Null(), ...errors(400, 404, 410, 415, 500) },
      },
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
      schema: {
        tags: ['self-service'],
        summary: 'Mailbox owner login with the mailbox address and password; sets the session cookie',
        body: SelfLoginBody,
        response: { 200: SelfLoggedIn, ...SESSION_ERRORS },
      },
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
};

export default authRoutes;
