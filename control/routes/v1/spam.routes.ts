/**
 * Spam policy per tenant (overridable per domain) and allow/block lists per tenant and mailbox
 * (issue 15). Reading takes the read permission of the object; changing a policy or a tenant's
 * list takes policies.manage, a mailbox's list mailboxes.manage. The core decides and audits.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import {
  addMailboxSpamList,
  addTenantSpamList,
  deleteDomainSpamPolicy,
  deleteSpamListEntry,
  getDomainSpamPolicy,
  getTenantSpamPolicy,
  listMailboxSpamLists,
  listTenantSpamLists,
  putDomainSpamPolicy,
  putTenantSpamPolicy,
  type SpamDefaults,
} from '../../../appliance/core/sending/spam-policy.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors } from '../../schemas/common.js';
import { DomainParams } from '../../schemas/domains.schemas.js';
import { MailboxParams } from '../../schemas/mailboxes.schemas.js';
import { DeleteReasonQuery, SpamListBody, SpamListEntry, SpamListParams, SpamPolicy, SpamPolicyBody } from '../../schemas/spam.schemas.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const spamRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps & { spamDefaults: SpamDefaults } }> = async (app, { core }) => {
  const tags = ['spam'];

  app.get(
    '/tenants/:tenantId/spam-policy',
    {
      config: { permission: 'tenants.read' },
      schema: { tags, summary: 'The tenant’s spam policy (appliance defaults until set)', params: TenantParams, response: { 200: SpamPolicy, ...authedErrors() } },
    },
    async (req) => getTenantSpamPolicy(actorOf(req), core, req.params.tenantId),
  );

  app.put(
    '/tenants/:tenantId/spam-policy',
    {
      config: { permission: 'policies.manage' },
      schema: {
        tags,
        summary: 'Set the tenant’s spam policy: junk and reject scores, greylisting, fail mode (audited)',
        params: TenantParams,
        body: SpamPolicyBody,
        response: { 200: SpamPolicy, ...authedErrors() },
      },
    },
    async (req) => putTenantSpamPolicy(actorOf(req), core, req.params.tenantId, req.body),
  );

  app.get(
    '/domains/:domainId/spam-policy',
    {
      config: { permission: 'domains.read' },
      schema: { tags, summary: 'The spam policy in force for a domain (its override, else its tenant’s)', params: DomainParams, response: { 200: SpamPolicy, ...authedErrors() } },
    },
    async (req) => getDomainSpamPolicy(actorOf(req), core, req.params.domainId),
  );

  app.put(
    '/domains/:domainId/spam-policy',
    {
      config: { permission: 'policies.manage' },
      schema: { tags, summary: 'Override the tenant’s spam policy for one domain (audited)', params: DomainParams, body: SpamPolicyBody, response: { 200: SpamPolicy, ...authedErrors() } },
    },
    async (req) => putDomainSpamPolicy(actorOf(req), core, req.params.domainId, req.body),
  );

  app.delete(
    '/domains/:domainId/spam-policy',
    {
      config: { permission: 'policies.manage' },
      schema: {
        tags,
        summary: 'Remove the domain’s override: it follows its tenant’s spam policy again (audited)',
        params: DomainParams,
        querystring: DeleteReasonQuery,
        response: { 200: SpamPolicy, ...authedErrors() },
      },
    },
    async (req) => deleteDomainSpamPolicy(actorOf(req), core, req.params.domainId, req.query.reason),
  );

  app.get(
    '/tenants/:tenantId/spam-lists',
    {
      config: { permission: 'tenants.read' },
      schema: { tags, summary: 'The tenant-wide allow and block lists', params: TenantParams, response: { 200: Type.Array(SpamListEntry), ...authedErrors() } },
    },
    async (req) => listTenantSpamLists(actorOf(req), core, req.params.tenantId),
  );

  app.post(
    '/tenants/:tenantId/spam-lists',
    {
      config: { permission: 'policies.manage' },
      schema: {
        tags,
        summary: 'Add a sender address, domain or IP network to the tenant’s allow or block list (audited)',
        params: TenantParams,
        body: SpamListBody,
        response: { 201: SpamListEntry, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(201).send(await addTenantSpamList(actorOf(req), core, req.params.tenantId, req.body)),
  );

  app.get(
    '/mailboxes/:mailboxId/spam-lists',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags, summary: 'The mailbox’s own allow and block lists', params: MailboxParams, response: { 200: Type.Array(SpamListEntry), ...authedErrors() } },
    },
    async (req) => listMailboxSpamLists(actorOf(req), core, req.params.mailboxId),
  );

  app.post(
    '/mailboxes/:mailboxId/spam-lists',
    {
      config: { permission: 'mailboxes.manage' },
      schema: { tags, summary: 'Add an entry to the mailbox’s allow or block list (audited)', params: MailboxParams, body: SpamListBody, response: { 201: SpamListEntry, ...authedErrors(409) } },
    },
    async (req, reply) => reply.code(201).send(await addMailboxSpamList(actorOf(req), core, req.params.mailboxId, req.body)),
  );

  app.delete(
    '/spam-lists/:spamListId',
    {
      config: { permission: 'mailboxes.manage' },
      schema: { tags, summary: 'Remove an allow/block list entry (tenant-wide entries also need policies.manage; audited)', params: SpamListParams, response: { 204: Type.Null(), ...authedErrors() } },
    },
    async (req, reply) => {
      await deleteSpamListEntry(actorOf(req), core, req.params.spamListId);
      return reply.code(204).send(null);
    },
  );
};

export default spamRoutes;
