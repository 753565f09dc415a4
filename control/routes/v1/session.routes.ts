/**
 * The console session itself (session context: the hook in plugins/session-auth.ts has turned
 * the session cookie into the actor, CSRF-checked on state-changing calls): who is logged in,
 * logout, a principal's TOTP enrolment, and the mailbox owner's own mailbox (GET /self).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { beginTotpEnrolment, confirmTotpEnrolment, logout, sessionView } from '../../../appliance/core/access/sessions.service.js';
import { clearSessionCookies, sessionOf } from '../../plugins/session-auth.js';
import { RecoveryCodes, SessionInfo, TotpConfirmBody, TotpEnrolment } from '../../schemas/auth.schemas.js';
import { errors } from '../../schemas/common.js';

const SESSION_ERRORS = errors(400, 401, 403, 409, 415, 429, 500, 503);

const sessionRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/api/v1/auth/logout',
    {
      config: { permission: 'session', session: 'either' },
      schema: { tags: ['auth'], summary: 'End the console session (principal or mailbox owner)', response: { 204: Type.Null(), ...SESSION_ERRORS } },
    },
    async (req, reply) => {
      const auth = sessionOf(req);
      await logout(core, auth.session, auth.actor);
      clearSessionCookies(reply);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/auth/session',
    { config: { permission: 'session', session: 'either' }, schema: { tags: ['auth'], summary: 'Who is logged in with this session', response: { 200: SessionInfo, ...SESSION_ERRORS } } },
    async (req) => sessionView(core, sessionOf(req)),
  );

  app.post(
    '/api/v1/auth/totp/enrol',
    {
      config: { permission: 'session', session: 'principal' },
      schema: { tags: ['auth'], summary: 'Start TOTP enrolment: a secret and its otpauth:// URI (QR code); confirm with a code', response: { 200: TotpEnrolment, ...SESSION_ERRORS } },
    },
    async (req) => beginTotpEnrolment(core, sessionOf(req)),
  );

  app.post(
    '/api/v1/auth/totp/confirm',
    {
      config: { permission: 'session', session: 'principal' },
      schema: {
        tags: ['auth'],
        summary: 'Confirm TOTP enrolment with a current code; returns one-time recovery codes (shown once)',
        body: TotpConfirmBody,
        response: { 200: RecoveryCodes, ...SESSION_ERRORS },
      },
    },
    async (req) => confirmTotpEnrolment(core, sessionOf(req), req.body.code),
  );

  app.get(
    '/api/v1/self',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'The logged-in owner’s mailbox: status, quota and ownership record', response: { 200: SessionInfo, ...SESSION_ERRORS } },
    },
    async (req) => sessionView(core, sessionOf(req)),
  );
};

export default sessionRoutes;
