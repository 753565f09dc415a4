/** Shared mailboxes and delegated access (issue 19): grants on a mailbox, a person's shared mailboxes, the sharing report. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { createGrant, deleteGrant, getGrant, listGrants, rollbackGrant, sharedAccessOf, updateGrant } from '../../../appliance/core/access/grants.service.js';
import { sharingReport } from '../../../appliance/core/access/grants-report.js';
import { actorOf } from '../../plugins/authn.js';
import { CreateGrantBody, Grant, GrantParams, RollbackGrantBody, SharingReport, SharingReportQuery, UpdateGrantBody } from '../../schemas/access.schemas.js';
import { authedErrors, Closed, Reason } from '../../schemas/common.js';
import { MailboxParams } from '../../schemas/mailboxes.schemas.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const TAG = 'shared mailboxes';

const accessRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/mailboxes/:mailboxId/access',
    {
      config: { permission: 'mailboxes.share' },
      schema: {
        tags: [TAG],
        summary: 'Grant another mailbox of the same tenant access to this mailbox, with rights, a reason and an optional expiry (audited; members are told at once)',
        params: MailboxParams,
        body: CreateGrantBody,
        response: { 201: Grant, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(201).send(await createGrant(actorOf(req), core, req.params.mailboxId, req.body)),
  );

  app.get(
    '/mailboxes/:mailboxId/access',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: [TAG], summary: 'The grants on this mailbox: its members, their rights, expiry and last use', params: MailboxParams, response: { 200: Type.Array(Grant), ...authedErrors() } },
    },
    async (req) => listGrants(actorOf(req), core, req.params.mailboxId),
  );

  app.post(
    '/mailboxes/:mailboxId/access/rollback',
    {
      config: { permission: 'mailboxes.share' },
      schema: {
        tags: [TAG],
        summary: "Put one member's access back to the state recorded before an audit event (mailbox.access.*) of this mailbox",
        params: MailboxParams,
        body: RollbackGrantBody,
        response: { 200: Type.Array(Grant), ...authedErrors(409) },
      },
    },
    async (req) => rollbackGrant(actorOf(req), core, req.params.mailboxId, req.body),
  );

  app.get(
    '/mailboxes/:mailboxId/shared-access',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: [TAG], summary: 'The shared mailboxes this mailbox (a person) can reach', params: MailboxParams, response: { 200: Type.Array(Grant), ...authedErrors() } },
    },
    async (req) => sharedAccessOf(actorOf(req), core, req.params.mailboxId),
  );

  app.get(
    '/access/:grantId',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: [TAG], summary: 'Read a grant', params: GrantParams, response: { 200: Grant, ...authedErrors() } },
    },
    async (req) => getGrant(actorOf(req), core, req.params.grantId),
  );

  app.patch(
    '/access/:grantId',
    {
      config: { permission: 'mailboxes.share' },
      schema: {
        tags: [TAG],
        summary: "Change a grant's rights, expiry, reason or \\Seen mode (audited before/after)",
        params: GrantParams,
        body: UpdateGrantBody,
        response: { 200: Grant, ...authedErrors() },
      },
    },
    async (req) => updateGrant(actorOf(req), core, req.params.grantId, req.body),
  );

  app.delete(
    '/access/:grantId',
    {
      config: { permission: 'mailboxes.share' },
      schema: {
        tags: [TAG],
        summary: "Remove a grant: the member's open sessions lose the shared mailbox at once (the audit event keeps it for rollback)",
        params: GrantParams,
        querystring: Closed({ reason: Type.Optional(Reason) }),
        response: { 204: Type.Null(), ...authedErrors() },
      },
    },
    async (req, reply) => {
      await deleteGrant(actorOf(req), core, req.params.grantId, req.query);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/tenants/:tenantId/reports/sharing',
    {
      config: { permission: 'mailboxes.read' },
      schema: {
        tags: [TAG],
        summary: 'Sharing report: shared mailboxes and their members, stale grants (unused for staleDays) and grants expiring within expiringDays',
        params: TenantParams,
        querystring: SharingReportQuery,
        response: { 200: SharingReport, ...authedErrors() },
      },
    },
    async (req) =>
      sharingReport(actorOf(req), core, req.params.tenantId, {
        staleDays: req.query.staleDays === undefined ? undefined : Number(req.query.staleDays),
        expiringDays: req.query.expiringDays === undefined ? undefined : Number(req.query.expiringDays),
      }),
  );
};

export default accessRoutes;
