import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { createTenant, getTenant, listTenants, updateTenant } from '../../../appliance/core/portfolio/tenants.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors, ListQuery, pageFrom, SearchText } from '../../schemas/common.js';
import { CreateTenantBody, Tenant, TenantCreated, TenantParams, UpdateTenantBody } from '../../schemas/tenants.schemas.js';

const tenantsRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/tenants',
    {
      config: { permission: 'tenants.manage' },
      schema: { tags: ['tenants'], summary: 'Create a tenant', body: CreateTenantBody, response: { 201: TenantCreated, ...authedErrors(409) } },
    },
    async (req, reply) => {
      const t = await createTenant(actorOf(req), core, req.body);
      return reply.code(201).send({ id: t.id, name: t.name });
    },
  );

  app.get(
    '/tenants',
    {
      config: { permission: 'tenants.read' },
      schema: {
        tags: ['tenants'],
        summary: 'List tenants (a tenant token sees its own; filter: q)',
        querystring: ListQuery({ q: Type.Optional(SearchText) }),
        response: { 200: Type.Array(Tenant), ...authedErrors() },
      },
    },
    async (req) => listTenants(actorOf(req), core, pageFrom(req.query), { q: req.query.q }),
  );

  app.get(
    '/tenants/:tenantId',
    {
      config: { permission: 'tenants.read' },
      schema: { tags: ['tenants'], summary: 'Read a tenant', params: TenantParams, response: { 200: Tenant, ...authedErrors() } },
    },
    async (req) => getTenant(actorOf(req), core, req.params.tenantId),
  );

  app.patch(
    '/tenants/:tenantId',
    {
      config: { permission: 'tenants.manage' },
      schema: {
        tags: ['tenants'],
        summary: 'Rename a tenant or set its pooled quota (quotaBytes; null: no pool)',
        params: TenantParams,
        body: UpdateTenantBody,
        response: { 200: Tenant, ...authedErrors(409) },
      },
    },
    async (req) => updateTenant(actorOf(req), core, req.params.tenantId, req.body),
  );
};

export default tenantsRoutes;
