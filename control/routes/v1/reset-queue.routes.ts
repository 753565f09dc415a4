/**
 * Resets across a tenant: the second approver's queue (`?status=pending-approval`) and history,
 * without audit.read. `/resets` lists every tenant in the actor's scope (an operator: all).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { listTenantResets, type ResetStatus } from '../../../appliance/core/access/resets-queue.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors, pageFrom } from '../../schemas/common.js';
import { ResetListQuery, TenantReset } from '../../schemas/reset-queue.schemas.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const resetQueueRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  const filter = (q: { status?: string; kind?: 'admin' | 'emergency' | 'self'; limit?: string; after?: string }) => ({ ...pageFrom(q), status: q.status as ResetStatus | undefined, kind: q.kind });

  app.get(
    '/tenants/:tenantId/resets',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['resets'],
        summary: 'Resets of the tenant, newest first; ?status=pending-approval is the second approver’s queue',
        params: TenantParams,
        querystring: ResetListQuery,
        response: { 200: Type.Array(TenantReset), ...authedErrors() },
      },
    },
    async (req) => listTenantResets(actorOf(req), core, req.params.tenantId, filter(req.query)),
  );

  app.get(
    '/resets',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: ['resets'],
        summary: 'Resets of every tenant in the caller’s scope (an operator: all), newest first',
        querystring: ResetListQuery,
        response: { 200: Type.Array(TenantReset), ...authedErrors() },
      },
    },
    async (req) => listTenantResets(actorOf(req), core, null, filter(req.query)),
  );
};

export default resetQueueRoutes;
