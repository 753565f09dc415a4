import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { createDomain, domainDnsRecords, getDomain, listDomains, setCatchAll } from '../../../appliance/core/domains.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors, PageQuery, pageFrom } from '../../schemas/common.js';
import { CatchAll, CatchAllBody, CreateDomainBody, DnsRecord, Domain, DomainCreated, DomainParams } from '../../schemas/domains.schemas.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const domainsRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/tenants/:tenantId/domains',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['domains'],
        summary: 'Add a domain to a tenant (generates RSA and Ed25519 DKIM keys)',
        params: TenantParams,
        body: CreateDomainBody,
        response: { 201: DomainCreated, ...authedErrors(409) },
      },
    },
    async (req, reply) => {
      const d = await createDomain(actorOf(req), core, req.params.tenantId, req.body);
      return reply.code(201).send({ id: d.id, name: d.name });
    },
  );

  app.get(
    '/tenants/:tenantId/domains',
    {
      config: { permission: 'domains.read' },
      schema: { tags: ['domains'], summary: "List a tenant's domains", params: TenantParams, querystring: PageQuery, response: { 200: Type.Array(Domain), ...authedErrors() } },
    },
    async (req) => listDomains(actorOf(req), core, req.params.tenantId, pageFrom(req.query)),
  );

  app.get(
    '/domains/:domainId',
    {
      config: { permission: 'domains.read' },
      schema: { tags: ['domains'], summary: 'Read a domain', params: DomainParams, response: { 200: Domain, ...authedErrors() } },
    },
    async (req) => getDomain(actorOf(req), core, req.params.domainId),
  );

  app.get(
    '/domains/:domainId/dns',
    {
      config: { permission: 'domains.read' },
      schema: { tags: ['domains'], summary: 'DNS records the domain needs (MX, SPF, DKIM, DMARC)', params: DomainParams, response: { 200: Type.Array(DnsRecord), ...authedErrors() } },
    },
    async (req) => domainDnsRecords(actorOf(req), core, req.params.domainId),
  );

  app.put(
    '/domains/:domainId/catch-all',
    {
      config: { permission: 'forwarding.manage' },
      schema: {
        tags: ['domains'],
        summary: 'Set or clear (null) the catch-all target of a domain',
        params: DomainParams,
        body: CatchAllBody,
        response: { 200: CatchAll, ...authedErrors() },
      },
    },
    async (req) => {
      const d = await setCatchAll(actorOf(req), core, req.params.domainId, req.body.target);
      return { domainId: d.id, target: d.catchAll };
    },
  );
};

export default domainsRoutes;
