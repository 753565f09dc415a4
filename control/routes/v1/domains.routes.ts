import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { createDomain, domainDnsRecords, getDomain, listDomains, setCatchAll, updateDomain } from '../../../appliance/core/portfolio/domains.service.js';
import { deleteDomain, restoreDomain } from '../../../appliance/core/mailboxes/recycle-bin.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors, boolOf, Deleted, DeleteQuery, DeletionIntent, OptionalReasonBody, pageFrom } from '../../schemas/common.js';
import { CatchAll, CatchAllBody, CreateDomainBody, DnsRecord, Domain, DomainCreated, DomainListQuery, DomainParams, UpdateDomainBody } from '../../schemas/domains.schemas.js';
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
      schema: {
        tags: ['domains'],
        summary: "List a tenant's domains (filters: verification, isAlias, q)",
        params: TenantParams,
        querystring: DomainListQuery,
        response: { 200: Type.Array(Domain), ...authedErrors() },
      },
    },
    async (req) => {
      const q = req.query;
      return listDomains(actorOf(req), core, req.params.tenantId, pageFrom(q), { verification: q.verification, isAlias: boolOf(q.isAlias), q: q.q });
    },
  );

  app.patch(
    '/domains/:domainId',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['domains'],
        summary: 'Make a domain an alias of another domain of the tenant (aliasOf), or a primary domain again (aliasOf: null)',
        params: DomainParams,
        body: UpdateDomainBody,
        response: { 200: Domain, ...authedErrors(409) },
      },
    },
    async (req) => updateDomain(actorOf(req), core, req.params.domainId, req.body),
  );

  app.delete(
    '/domains/:domainId',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['domains'],
        summary: 'Two-step delete: without ?confirm answers 202 with an intent and its impact; with ?confirm=<intent id> moves the domain, its mailboxes and aliases to the recycle bin',
        params: DomainParams,
        querystring: DeleteQuery,
        response: { 200: Deleted, 202: DeletionIntent, ...authedErrors(409, 410) },
      },
    },
    async (req, reply) => {
      const r = await deleteDomain(actorOf(req), core, req.params.domainId, req.query);
      return reply.code('intent' in r ? 202 : 200).send(r);
    },
  );

  app.post(
    '/domains/:domainId/restore',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['domains'],
        summary: 'Restore a domain from the recycle bin with its mailboxes, mail and aliases',
        params: DomainParams,
        body: OptionalReasonBody,
        response: { 200: Domain, ...authedErrors(409) },
      },
    },
    async (req) => restoreDomain(actorOf(req), core, req.params.domainId, req.body ?? {}),
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
