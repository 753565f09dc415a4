import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { listAuditEvents, verifyAudit } from '../../../appliance/core/audit.service.js';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { actorOf } from '../../plugins/authn.js';
import { AuditEvent, AuditQuery, AuditVerification } from '../../schemas/audit.schemas.js';
import { authedErrors } from '../../schemas/common.js';

const auditRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.get(
    '/audit/events',
    {
      config: { permission: 'audit.read' },
      schema: { tags: ['audit'], summary: 'Audit events in order (a tenant token sees its tenant only)', querystring: AuditQuery, response: { 200: Type.Array(AuditEvent), ...authedErrors() } },
    },
    async (req) => {
      const q = req.query;
      return listAuditEvents(actorOf(req), core, {
        tenantId: q.tenantId,
        targetType: q.targetType,
        targetId: q.targetId,
        action: q.action,
        after: q.after === undefined ? undefined : Number(q.after),
        limit: q.limit === undefined ? undefined : Number(q.limit),
      });
    },
  );

  app.get(
    '/audit/verify',
    {
      config: { permission: 'audit.verify' },
      schema: { tags: ['audit'], summary: 'Verify the hash chain of the whole audit log', response: { 200: AuditVerification, ...authedErrors() } },
    },
    async (req) => verifyAudit(actorOf(req), core),
  );
};

export default auditRoutes;
