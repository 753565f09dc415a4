import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { type AuditQuery as CoreAuditQuery, exportAuditEvents, listAuditEvents, verifyAudit } from '../../../appliance/core/audit/audit.service.js';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { actorOf } from '../../plugins/authn.js';
import { AuditEvent, AuditExportQuery, AuditQuery, AuditVerification } from '../../schemas/audit.schemas.js';
import { authedErrors } from '../../schemas/common.js';

type Filters = { [K in 'tenantId' | 'targetType' | 'targetId' | 'action' | 'actorType' | 'actorId' | 'tokenId' | 'requestId' | 'since' | 'until' | 'after']?: string };

function coreQuery(q: Filters): CoreAuditQuery {
  return {
    tenantId: q.tenantId,
    targetType: q.targetType,
    targetId: q.targetId,
    action: q.action,
    actorType: q.actorType,
    actorId: q.actorId,
    tokenId: q.tokenId,
    requestId: q.requestId,
    since: q.since === undefined ? undefined : Date.parse(q.since),
    until: q.until === undefined ? undefined : Date.parse(q.until),
    after: q.after === undefined ? undefined : Number(q.after),
  };
}

const auditRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.get(
    '/audit/events',
    {
      config: { permission: 'audit.read' },
      schema: {
        tags: ['audit'],
        summary: 'Audit events in order, filtered by tenant, actor, target, action and time (a tenant actor sees its tenant only)',
        querystring: AuditQuery,
        response: { 200: Type.Array(AuditEvent), ...authedErrors() },
      },
    },
    async (req) => listAuditEvents(actorOf(req), core, { ...coreQuery(req.query), limit: req.query.limit === undefined ? undefined : Number(req.query.limit) }),
  );

  app.get(
    '/audit/export',
    {
      config: { permission: 'audit.read' },
      schema: {
        tags: ['audit'],
        summary: 'Export matching events (up to 100 000, with their chain hashes) as JSON lines or CSV',
        querystring: AuditExportQuery,
        produces: ['application/x-ndjson', 'text/csv'],
        response: { 200: Type.String({ description: 'JSON lines or CSV' }), ...authedErrors() },
      },
    },
    async (req, reply) => {
      const format = req.query.format ?? 'jsonl';
      const out = await exportAuditEvents(actorOf(req), core, coreQuery(req.query), format);
      const stamp = new Date(core.now()).toISOString().replace(/[:.]/g, '-');
      reply.header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
      reply.header('content-disposition', `attachment; filename="postern-audit-${stamp}.${format}"`);
      reply.header('x-audit-events', String(out.events));
      if (out.truncated) reply.header('x-audit-truncated', 'true');
      return reply.send(out.body);
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
