import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { createOperatorToken, createTenantToken, listOperatorTokens, listTenantTokens, revokeToken } from '../../../appliance/core/access/tokens.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors, BoolString, boolOf, ListQuery, pageFrom, SearchText } from '../../schemas/common.js';

const TokenListQuery = ListQuery({
  active: Type.Optional(BoolString),
  q: Type.Optional(SearchText),
});
import { TenantParams } from '../../schemas/tenants.schemas.js';
import { CreateTokenBody, Token, TokenCreated, TokenParams } from '../../schemas/tokens.schemas.js';

const tokensRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/tenants/:tenantId/tokens',
    {
      config: { permission: 'tokens.manage' },
      schema: {
        tags: ['tokens'],
        summary: 'Create a tenant API token (tenant-admin unless permissions or role narrow it); the secret is shown once',
        params: TenantParams,
        body: CreateTokenBody,
        response: { 201: TokenCreated, ...authedErrors() },
      },
    },
    async (req, reply) => reply.code(201).send(await createTenantToken(actorOf(req), core, req.params.tenantId, req.body)),
  );

  app.get(
    '/tenants/:tenantId/tokens',
    {
      config: { permission: 'tokens.read' },
      schema: {
        tags: ['tokens'],
        summary: "List a tenant's API tokens, never their secrets (filters: active, q)",
        params: TenantParams,
        querystring: TokenListQuery,
        response: { 200: Type.Array(Token), ...authedErrors() },
      },
    },
    async (req) => listTenantTokens(actorOf(req), core, req.params.tenantId, pageFrom(req.query), { active: boolOf(req.query.active), q: req.query.q }),
  );

  app.post(
    '/tokens',
    {
      config: { permission: 'tokens.manage' },
      schema: {
        tags: ['tokens'],
        summary: 'Create an operator (platform) API token (operator role unless permissions or role narrow it); platform actors only',
        body: CreateTokenBody,
        response: { 201: TokenCreated, ...authedErrors() },
      },
    },
    async (req, reply) => reply.code(201).send(await createOperatorToken(actorOf(req), core, req.body)),
  );

  app.get(
    '/tokens',
    {
      config: { permission: 'tokens.read' },
      schema: {
        tags: ['tokens'],
        summary: 'List operator (platform) tokens; platform actors only (filters: active, q)',
        querystring: TokenListQuery,
        response: { 200: Type.Array(Token), ...authedErrors() },
      },
    },
    async (req) => listOperatorTokens(actorOf(req), core, pageFrom(req.query), { active: boolOf(req.query.active), q: req.query.q }),
  );

  app.delete(
    '/tokens/:tokenId',
    {
      config: { permission: 'tokens.manage' },
      schema: { tags: ['tokens'], summary: 'Revoke an API token', params: TokenParams, response: { 200: Token, ...authedErrors() } },
    },
    async (req) => revokeToken(actorOf(req), core, req.params.tokenId),
  );
};

export default tokensRoutes;
