/**
 * Public routes whose secret is in the path: a mailbox owner's setup link and the first
 * operator's setup link. Registered in the public context; the core checks the secret.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { publicActor } from '../../../appliance/core/kernel/authz.js';
import { completeOperatorSetup } from '../../../appliance/core/access/bootstrap.js';
import type { AccessDeps } from '../../../appliance/core/access/policies.js';
import { completeReset, isResetLink } from '../../../appliance/core/access/resets.service.js';
import { completeMailboxSetup } from '../../../appliance/core/mailboxes/mailboxes.service.js';
import { originOf } from '../../plugins/authn.js';
import { errors } from '../../schemas/common.js';
import { OperatorSetupBody, SetupBody, SetupParams } from '../../schemas/setup.schemas.js';
import { TokenCreated } from '../../schemas/tokens.schemas.js';
import { Type } from 'typebox';

const setupRoutes: FastifyPluginAsyncTypebox<{ core: AccessDeps }> = async (app, { core }) => {
  app.post(
    '/api/v1/setup/:token',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['setup'],
        summary: 'Set a mailbox password through its single-use setup or reset link',
        params: SetupParams,
        body: SetupBody,
        response: { 204: Type.Null(), ...errors(400, 404, 410, 415, 500) },
      },
    },
    async (req, reply) => {
      // Reset links (admin, emergency, self-service) are consumed here too.
      if (await isResetLink(core, req.params.token)) await completeReset(publicActor(originOf(req)), core, req.params.token, req.body.password);
      else await completeMailboxSetup(publicActor(originOf(req)), core, req.params.token, req.body.password);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/operator-setup/:token',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['setup'],
        summary: 'Create the first operator token through the one-time link printed at boot',
        params: SetupParams,
        body: OperatorSetupBody,
        response: { 201: TokenCreated, ...errors(400, 404, 410, 415, 500) },
      },
    },
    async (req, reply) => {
      const created = await completeOperatorSetup(publicActor(originOf(req)), core, req.params.token, req.body);
      return reply.code(201).send(created);
    },
  );
};

export default setupRoutes;
