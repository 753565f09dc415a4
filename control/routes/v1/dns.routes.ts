/**
 * DNS of hosted domains: the expected records (and their BIND snippet), on-demand checks
 * through the configured resolver, the snapshot history with last-known-good, the call that
 * goes back to last-known-good, and the domain timeline. `mtaStsRoutes` is the public route
 * serving MTA-STS policies for Host: mta-sts.<domain>.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { checkDomainDns, dnsHistory, domainExpectedRecords, domainZoneSnippet, mtaStsPolicyForHost, restoreLastKnownGood } from '../../../appliance/core/templates/dns-check.service.js';
import { AppError } from '../../../appliance/core/kernel/errors.js';
import { domainTimeline } from '../../../appliance/core/portfolio/timeline.service.js';
import type { DnsResolveFn } from '../../../appliance/net/resolver.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors, errors } from '../../schemas/common.js';
import { DnsCheck, DnsHistory, DnsHistoryQuery, ExpectedRecords, LastKnownGood, LastKnownGoodBody, Timeline, TimelineQuery } from '../../schemas/dns.schemas.js';
import { DomainParams } from '../../schemas/domains.schemas.js';

const dnsRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps; resolve: DnsResolveFn }> = async (app, { core, resolve }) => {
  app.get(
    '/domains/:domainId/dns/expected',
    {
      config: { permission: 'domains.read' },
      schema: {
        tags: ['dns'],
        summary: 'Every record the domain needs: MX, SPF, DKIM (live selectors), DMARC, MTA-STS, TLS-RPT, autoconfig/autodiscover, SRV',
        params: DomainParams,
        response: { 200: ExpectedRecords, ...authedErrors() },
      },
    },
    async (req) => domainExpectedRecords(actorOf(req), core, req.params.domainId),
  );

  app.get(
    '/domains/:domainId/dns/zone',
    {
      config: { permission: 'domains.read' },
      schema: { tags: ['dns'], summary: 'The expected records as a BIND zone snippet (text/plain)', params: DomainParams, response: { 200: Type.String(), ...authedErrors() } },
    },
    async (req, reply) => reply.type('text/plain; charset=utf-8').send(await domainZoneSnippet(actorOf(req), core, req.params.domainId)),
  );

  app.post(
    '/domains/:domainId/dns/check',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['dns'],
        summary: 'Check the live records through the configured resolver now: status per record (ok, missing, wrong, conflict, error) and per domain; stored as a snapshot',
        params: DomainParams,
        response: { 200: DnsCheck, ...authedErrors() },
      },
    },
    async (req) => checkDomainDns(actorOf(req), core, resolve, req.params.domainId),
  );

  app.get(
    '/domains/:domainId/dns/history',
    {
      config: { permission: 'domains.read' },
      schema: {
        tags: ['dns'],
        summary: 'DNS check snapshots, newest first, and the last-known-good one',
        params: DomainParams,
        querystring: DnsHistoryQuery,
        response: { 200: DnsHistory, ...authedErrors() },
      },
    },
    async (req) =>
      dnsHistory(actorOf(req), core, req.params.domainId, { limit: req.query.limit ? Number(req.query.limit) : undefined, before: req.query.before ? Number(req.query.before) : undefined }),
  );

  app.post(
    '/domains/:domainId/dns/last-known-good',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['dns'],
        summary: 'Back to last-known-good: re-applies the template version of the last snapshot where every record matched, and returns those records (and their zone snippet) to put back',
        params: DomainParams,
        body: LastKnownGoodBody,
        response: { 200: LastKnownGood, ...authedErrors(409) },
      },
    },
    async (req) => restoreLastKnownGood(actorOf(req), core, req.params.domainId, req.body ?? {}),
  );

  app.get(
    '/domains/:domainId/timeline',
    {
      config: { permission: 'audit.read' },
      schema: {
        tags: ['dns'],
        summary: 'What changed on a domain: DNS snapshots (changes of state), template changes and control-plane events, newest first (needs domains.read too)',
        params: DomainParams,
        querystring: TimelineQuery,
        response: { 200: Timeline, ...authedErrors() },
      },
    },
    async (req) => domainTimeline(actorOf(req), core, req.params.domainId, { limit: req.query.limit ? Number(req.query.limit) : undefined }),
  );
};

/** Public: the MTA-STS policy of a hosted domain, for requests to mta-sts.<domain>. */
export const mtaStsRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.get(
    '/.well-known/mta-sts.txt',
    {
      config: { permission: 'public' },
      schema: { tags: ['dns'], summary: 'MTA-STS policy (RFC 8461) when the Host is mta-sts.<hosted domain>', response: { 200: Type.String(), ...errors(404, 500) } },
    },
    async (req, reply) => {
      const policy = await mtaStsPolicyForHost(core, req.headers.host);
      if (policy === null) throw new AppError('NotFound', 'no MTA-STS policy for this host');
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'max-age=300').send(policy);
    },
  );
};

export default dnsRoutes;
