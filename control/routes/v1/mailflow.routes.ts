/**
 * The outbound queue (read-only) and the mail-flow figures of the dashboard. Both need
 * mailflow.read; a tenant actor sees its own tenant's messages and deliveries only.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { mailFlowStats, type MailStatsSource } from '../../../appliance/core/delivery/mail-stats.service.js';
import { listOutboundQueue, type QueueSource } from '../../../appliance/core/sending/outbound-queue.service.js';
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
