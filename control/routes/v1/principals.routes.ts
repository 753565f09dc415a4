import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { getPrincipal, invitePrincipal, listOperators, listTenantPrincipals, resetPrincipal, updatePrincipal } from '../../../appliance/core/access/principals.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors, ListQuery, OptionalReasonBody, pageFrom, SearchText } from '../../schemas/common.js';

const PrincipalListQuery = ListQuery({
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('disabled')])),
  q: Type.Optional(SearchText),
});
import { InvitePrincipalBody, Principal, PrincipalInvited, PrincipalParams, UpdatePrincipalBody } from '../../schemas/principals.schemas.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const principalsRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/tenants/:tenantId/principals',
    {
      config: { permission: 'principals.manage' },
      schema: {
        tags: ['principals'],
        summary: 'Invite a tenant admin (a person): returns their single-use setup link; never more permissions than the caller holds',
        params: TenantParams,
        body: InvitePrincipalBody,
        response: { 201: PrincipalInvited, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(201).send(await invitePrincipal(actorOf(req), core, req.params.tenantId, req.body)),
  );

  app.get(
    '/tenants/:tenantId/principals',
    {
      config: { permission: 'principals.read' },
      schema: {
        tags: ['principals'],
        summary: "List a tenant's admins (filters: status, q)",
        params: TenantParams,
        querystring: PrincipalListQuery,
        response: { 200: Type.Array(Principal), ...authedErrors() },
      },
    },
    async (req) => listTenantPrincipals(actorOf(req), core, req.params.tenantId, pageFrom(req.query), { status: req.query.status, q: req.query.q }),
  );

  app.post(
    '/principals',
    {
      config: { permission: 'principals.manage' },
      schema: { tags: ['principals'], summary: 'Invite an operator (platform actors only)', body: InvitePrincipalBody, response: { 201: PrincipalInvited, ...authedErrors(409) } },
    },
    async (req, reply) => reply.code(201).send(await invitePrincipal(actorOf(req), core, null, req.body)),
  );

  app.get(
    '/principals',
    {
      config: { permission: 'principals.read' },
      schema: {
        tags: ['principals'],
        summary: 'List operators, platform actors only (filters: status, q)',
        querystring: PrincipalListQuery,
        response: { 200: Type.Array(Principal), ...authedErrors() },
      },
    },
    async (req) => listOperators(actorOf(req), core, pageFrom(req.query), { status: req.query.status, q: req.query.q }),
  );

  app.get(
    '/principals/:principalId',
    {
      config: { permission: 'principals.read' },
      schema: { tags: ['principals'], summary: 'Read a principal', params: PrincipalParams, response: { 200: Principal, ...authedErrors() } },
    },
    async (req) => getPrincipal(actorOf(req), core, req.params.principalId),
  );

  app.patch(
    '/principals/:principalId',
    {
      config: { permission: 'principals.manage' },
      schema: {
        tags: ['principals'],
        summary: 'Rename, change permissions (never beyond the caller’s), disable (ends sessions, revokes their tokens) or enable a principal',
        params: PrincipalParams,
        body: UpdatePrincipalBody,
        response: { 200: Principal, ...authedErrors(409) },
      },
    },
    async (req) => updatePrincipal(actorOf(req), core, req.params.principalId, req.body),
  );

  app.post(
    '/principals/:principalId/reset',
    {
      config: { permission: 'principals.manage' },
      schema: {
        tags: ['principals'],
        summary: 'Lost password or authenticator: clear both, end sessions, and issue a new setup link',
        params: PrincipalParams,
        body: OptionalReasonBody,
        response: { 201: PrincipalInvited, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(201).send(await resetPrincipal(actorOf(req), core, req.params.principalId, req.body ?? {})),
  );
};

export default principalsRoutes;
