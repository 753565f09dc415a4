/**
 * Public: what a setup or reset link is for (the address, its expiry, the password rules), so
 * the page that opens from the link can say so before the person chooses a password. The secret
 * in the path is the authority; reading does not use the link up.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { describeMailboxLink, describePrincipalLink } from '../../../appliance/core/access/setup-info.service.js';
import { errors, Timestamp } from '../../schemas/common.js';
import { SetupParams } from '../../schemas/setup.schemas.js';

const SetupLinkInfo = Type.Object(
  {
    kind: Type.Union([Type.Literal('mailbox-setup'), Type.Literal('mailbox-reset'), Type.Literal('console-account')]),
    address: Type.String({ description: 'The mailbox address, or the console account’s email' }),
    name: Type.Optional(Type.String()),
    expiresAt: Timestamp,
    passwordRules: Type.Array(Type.String(), { description: 'The password policy in words' }),
  },
  { title: 'SetupLinkInfo' },
);

const setupInfoRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.get(
    '/api/v1/setup/:token',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['setup'],
        summary: 'What a mailbox setup or reset link is for: the address, its expiry and the password rules (the link stays unused)',
        params: SetupParams,
        response: { 200: SetupLinkInfo, ...errors(400, 404, 410, 500) },
      },
    },
    async (req) => describeMailboxLink(core, req.params.token),
  );

  app.get(
    '/api/v1/principal-setup/:token',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'What a console invitation is for: the account, its expiry and the password rules (the link stays unused)',
        params: SetupParams,
        response: { 200: SetupLinkInfo, ...errors(400, 404, 410, 500) },
      },
    },
    async (req) => describePrincipalLink(core, req.params.token),
  );
};

export default setupInfoRoutes;
