import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createAlias, deleteAlias, getAlias, listAliases, listTenantAliases, updateAlias } from '../../../appliance/core/mailboxes/aliases.service.js';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { actorOf } from '../../plugins/authn.js';
import { Alias, AliasDeleteQuery, AliasListQuery, AliasParams, CreateAliasBody, DomainAliasListQuery, UpdateAliasBody } from '../../schemas/aliases.schemas.js';
import { authedErrors, pageFrom } from '../../schemas/common.js';
import { DomainParams } from '../../schemas/domains.schemas.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const aliasesRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/domains/:domainId/aliases',
    {
      config: { permission: 'forwarding.manage' },
      schema: {
        tags: ['aliases'],
        summary: 'Create an alias delivering to target addresses (mailboxes or aliases of any domain of the tenant, or external forwards)',
        params: DomainParams,
        body: CreateAliasBody,
        response: { 201: Alias, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(201).send(await createAlias(actorOf(req), core, req.params.domainId, req.body)),
  );

  app.get(
    '/domains/:domainId/aliases',
    {
      config: { permission: 'forwarding.read' },
      schema: { tags: ['aliases'], summary: "List a domain's aliases (filter: q)", params: DomainParams, querystring: DomainAliasListQuery, response: { 200: Type.Array(Alias), ...authedErrors() } },
    },
    async (req) => listAliases(actorOf(req), core, req.params.domainId, pageFrom(req.query), { q: req.query.q }),
  );

  app.get(
    '/tenants/:tenantId/aliases',
    {
      config: { permission: 'forwarding.read' },
      schema: {
        tags: ['aliases'],
        summary: "List a tenant's aliases across its domains (filters: domainId, q)",
        params: TenantParams,
        querystring: AliasListQuery,
        response: { 200: Type.Array(Alias), ...authedErrors() },
      },
    },
    async (req) => listTenantAliases(actorOf(req), core, req.params.tenantId, pageFrom(req.query), { domainId: req.query.domainId, q: req.query.q }),
  );

  app.get(
    '/aliases/:aliasId',
    {
      config: { permission: 'forwarding.read' },
      schema: { tags: ['aliases'], summary: 'Read an alias', params: AliasParams, response: { 200: Alias, ...authedErrors() } },
    },
    async (req) => getAlias(actorOf(req), core, req.params.aliasId),
  );

  app.patch(
    '/aliases/:aliasId',
    {
      config: { permission: 'forwarding.manage' },
      schema: { tags: ['aliases'], summary: "Replace an alias's targets or turn it off/on", params: AliasParams, body: UpdateAliasBody, response: { 200: Alias, ...authedErrors() } },
    },
    async (req) => updateAlias(actorOf(req), core, req.params.aliasId, req.body),
  );

  app.delete(
    '/aliases/:aliasId',
    {
      config: { permission: 'forwarding.manage' },
      schema: {
        tags: ['aliases'],
        summary: 'Delete an alias (the audit event keeps what it was)',
        params: AliasParams,
        querystring: AliasDeleteQuery,
        response: { 204: Type.Null(), ...authedErrors() },
      },
    },
    async (req, reply) => {
      await deleteAlias(actorOf(req), core, req.params.aliasId, req.query);
      return reply.code(204).send(null);
    },
  );
};

export default aliasesRoutes;
