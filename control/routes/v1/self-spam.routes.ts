/**
 * The mailbox owner's own allow/block lists (self-service, session context: the owner's session
 * cookie is the actor, as in self-owner.routes.ts), where the tenant's spam policy allows it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { addOwnSpamList, deleteOwnSpamList, listOwnSpamLists, type SpamDefaults } from '../../../appliance/core/sending/spam-policy.service.js';
import { actorOf } from '../../plugins/authn.js';
import { SESSION_ERRORS } from '../../plugins/session-auth.js';
import { OwnSpamLists, SpamListBody, SpamListEntry, SpamListParams } from '../../schemas/spam.schemas.js';

const selfSpamRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps & { spamDefaults: SpamDefaults } }> = async (app, { core }) => {
  app.get(
    '/api/v1/self/spam-lists',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'The owner’s allow and block lists and whether the policy lets the owner change them', response: { 200: OwnSpamLists, ...SESSION_ERRORS } },
    },
    async (req) => listOwnSpamLists(actorOf(req), core),
  );

  app.post(
    '/api/v1/self/spam-lists',
    {
      config: { permission: 'session', session: 'owner' },
      schema: {
        tags: ['self-service'],
        summary: 'Allow or block a sender address, domain or IP network for the owner’s mailbox',
        body: SpamListBody,
        response: { 201: SpamListEntry, ...SESSION_ERRORS },
      },
    },
    async (req, reply) => reply.code(201).send(await addOwnSpamList(actorOf(req), core, req.body)),
  );

  app.delete(
    '/api/v1/self/spam-lists/:spamListId',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'Remove an entry of the owner’s lists', params: SpamListParams, response: { 204: Type.Null(), ...SESSION_ERRORS } },
    },
    async (req, reply) => {
      await deleteOwnSpamList(actorOf(req), core, req.params.spamListId);
      return reply.code(204).send(null);
    },
  );
};

export default selfSpamRoutes;
