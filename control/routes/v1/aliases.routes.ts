import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createAlias, getAlias, listAliases } from '../../../appliance/core/aliases.service.js';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { actorOf } from '../../plugins/authn.js';
import { Alias, AliasParams, CreateAliasBody } from '../../schemas/aliases.schemas.js';
import { authedErrors, PageQuery, pageFrom } from '../../schemas/common.js';
import { DomainParams } from '../../schemas/domains.schemas.js';

const aliasesRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/domains/:domainId/aliases',
    {
      config: { permission: 'forwarding.manage' },
      schema: { tags: ['aliases'], summary: 'Create an alias delivering to target addresses', params: DomainParams, body: CreateAliasBody, response: { 201: Alias, ...authedErrors(409) } },
    },
    async (req, reply) => reply.code(201).send(await createAlias(actorOf(req), core, req.params.domainId, req.body)),
  );

  app.get(
    '/domains/:domainId/aliases',
    {
      config: { permission: 'forwarding.read' },
      schema: { tags: ['aliases'], summary: "List a domain's aliases", params: DomainParams, querystring: PageQuery, response: { 200: Type.Array(Alias), ...authedErrors() } },
    },
    async (req) => listAliases(actorOf(req), core, req.params.domainId, pageFrom(req.query)),
  );

  app.get(
    '/aliases/:aliasId',
    {
      config: { permission: 'forwarding.read' },
      schema: { tags: ['aliases'], summary: 'Read an alias', params: AliasParams, response: { 200: Alias, ...authedErrors() } },
    },
    async (req) => getAlias(actorOf(req), core, req.params.aliasId),
  );
};

export default aliasesRoutes;
