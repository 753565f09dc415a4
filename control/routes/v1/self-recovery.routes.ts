/**
 * A mailbox owner's forgotten password (public context: no session; these routes authorize by
 * a one-time recovery code, or send a single-use link to the mailbox's reset destination).
 * The logged-in owner's access settings are in self-access.routes.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { publicActor } from '../../../appliance/core/kernel/authz.js';
import type { AccessDeps } from '../../../appliance/core/access/policies.js';
import { recoverWithCode, requestSelfResetLink } from '../../../appliance/core/access/resets-self.service.js';
import { originOf } from '../../plugins/authn.js';
import { SESSION_ERRORS, setRetryAfter } from '../../plugins/session-auth.js';
import { Accepted, RecoverBody, ResetLinkRequestBody } from '../../schemas/resets.schemas.js';

const selfRecoveryRoutes: FastifyPluginAsyncTypebox<{ core: AccessDeps }> = async (app, { core }) => {
  app.post(
    '/api/v1/self/password/recover',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['self-service'],
        summary: 'Forgotten password: set a new one with a one-time recovery code (throttled like a login)',
        body: RecoverBody,
        response: { 204: Type.Null(), ...SESSION_ERRORS },
      },
    },
    async (req, reply) => {
      try {
        await recoverWithCode(publicActor(originOf(req)), core, req.body);
      } catch (err) {
        setRetryAfter(reply, err);
        throw err;
      }
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/self/password/reset-link',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['self-service'],
        summary: 'Forgotten password: send a single-use link to the mailbox’s reset destination (same answer whether or not the address exists)',
        body: ResetLinkRequestBody,
        response: { 202: Accepted, ...SESSION_ERRORS },
      },
    },
    async (req, reply) => {
      await requestSelfResetLink(publicActor(originOf(req)), core, req.body);
      return reply.code(202).send({ status: 'accepted', message: 'If the address has a reset destination, a single-use link is on its way there.' });
    },
  );
};

export default selfRecoveryRoutes;
