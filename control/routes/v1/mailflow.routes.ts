/**
 * The outbound queue (read-only) and the mail-flow figures of the dashboard. Both need
 * mailflow.read; a tenant actor sees its own tenant's messages and deliveries only.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { mailFlowStats, type MailStatsSource } from '../../../appliance/core/delivery/mail-stats.service.js';
import { listOutboundQueue, type QueueSource, recoverQueuedMessage } from '../../../appliance/core/sending/outbound-queue.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors, pageFrom } from '../../schemas/common.js';
import { MailStats, MailStatsQuery, QueueEntry, QueueQuery } from '../../schemas/mailflow.schemas.js';

const mailflowRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps; queue: QueueSource; stats: MailStatsSource }> = async (app, { core, queue, stats }) => {
  app.get(
    '/outbound-queue',
    {
      config: { permission: 'mailflow.read' },
      schema: {
        tags: ['mail flow'],
        summary: 'Messages in the outbound queue, oldest first: age, attempts, next attempt, last error (a tenant actor: messages its domains sent)',
        querystring: QueueQuery,
        response: { 200: Type.Array(QueueEntry), ...authedErrors() },
      },
    },
    async (req) => listOutboundQueue(actorOf(req), core, queue, { ...pageFrom(req.query), tenantId: req.query.tenantId, domain: req.query.domain }),
  );

  // `postern queue recover`: a dead node's queued message, queued again here (operators only).
  app.post(
    '/outbound-queue/recovered',
    {
      config: { permission: 'tenants.manage' },
      bodyLimit: 96 * 1024 * 1024, // a message of the largest size (50 MB by default) in base64
      schema: {
        tags: ['mail flow'],
        summary: "Queues a message recovered from another node's outbound queue in this node's queue, envelope and bytes unchanged, with an audit event (operators)",
        body: Type.Object(
          {
            sourceId: Type.String({ minLength: 1, maxLength: 200 }),
            sourceNode: Type.String({ minLength: 1, maxLength: 500 }),
            sender: Type.String({ maxLength: 320 }),
            recipients: Type.Array(Type.String({ minLength: 3, maxLength: 320 }), { minItems: 1, maxItems: 1000 }),
            message: Type.String({ minLength: 1, description: 'the message bytes, base64' }),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ queued: Type.Boolean() }), ...authedErrors() },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const r = await recoverQueuedMessage(actorOf(req), core, queue, { ...b, message: Buffer.from(b.message, 'base64') });
      return reply.code(201).send(r);
    },
  );

  app.get(
    '/stats/mail',
    {
      config: { permission: 'mailflow.read' },
      schema: {
        tags: ['mail flow'],
        summary: 'Deliveries, deferrals, bounces, rejections and failed logins in the last hour and day, and per hour (a tenant actor: its mailbox deliveries only)',
        querystring: MailStatsQuery,
        response: { 200: MailStats, ...authedErrors() },
      },
    },
    async (req) => mailFlowStats(actorOf(req), core, stats, { tenantId: req.query.tenantId, hours: req.query.hours === undefined ? undefined : Number(req.query.hours) }),
  );
};

export default mailflowRoutes;
