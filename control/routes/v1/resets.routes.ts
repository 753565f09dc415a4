/**
 * Resets (admin and emergency, with approval), the tenant access policy, high-value flags and
 * the forwarding report. The core decides everything; these routes translate.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { forwardingReport } from '../../../appliance/core/delivery/forwarding-report.service.js';
import { type AccessDeps, getAccessPolicy, getHighValue, setHighValue, updateAccessPolicy } from '../../../appliance/core/access/policies.js';
import { approveReset, cancelReset, createReset, getReset, listResets } from '../../../appliance/core/access/resets.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors, OptionalReasonBody } from '../../schemas/common.js';
import { MailboxParams } from '../../schemas/mailboxes.schemas.js';
import { AccessPolicy, AccessPolicyBody, ApproveResetBody, CreateResetBody, ForwardReport, HighValue, HighValueBody, Reset, ResetParams } from '../../schemas/resets.schemas.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const resetsRoutes: FastifyPluginAsyncTypebox<{ core: AccessDeps }> = async (app, { core }) => {
  app.post(
    '/mailboxes/:mailboxId/resets',
    {
      config: { permission: 'resets.initiate' },
      schema: {
        tags: ['resets'],
        summary: 'Start a reset: admin (link by email to the reset destination, or returned where the policy allows) or emergency (verification recorded, waits for a second approver)',
        params: MailboxParams,
        body: CreateResetBody,
        response: { 201: Reset, ...authedErrors(409, 429) },
      },
    },
    async (req, reply) => reply.code(201).send(await createReset(actorOf(req), core, req.params.mailboxId, req.body)),
  );

  app.get(
    '/mailboxes/:mailboxId/resets',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['resets'], summary: 'Resets of a mailbox, newest first', params: MailboxParams, response: { 200: Type.Array(Reset), ...authedErrors() } },
    },
    async (req) => listResets(actorOf(req), core, req.params.mailboxId),
  );

  app.get(
    '/resets/:resetId',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['resets'], summary: 'One reset', params: ResetParams, response: { 200: Reset, ...authedErrors() } },
    },
    async (req) => getReset(actorOf(req), core, req.params.resetId),
  );

  app.post(
    '/resets/:resetId/approve',
    {
      config: { permission: 'resets.approve' },
      schema: {
        tags: ['resets'],
        summary: 'Approve an emergency reset (a second principal, never the requester; an operator for high-value mailboxes when the policy says so); issues the link to the new destination',
        params: ResetParams,
        body: ApproveResetBody,
        response: { 200: Reset, ...authedErrors(409) },
      },
    },
    async (req) => approveReset(actorOf(req), core, req.params.resetId, req.body ?? {}),
  );

  app.post(
    '/resets/:resetId/cancel',
    {
      config: { permission: 'resets.initiate' },
      schema: { tags: ['resets'], summary: 'Cancel a pending or issued reset; its link stops working', params: ResetParams, body: OptionalReasonBody, response: { 200: Reset, ...authedErrors(409) } },
    },
    async (req) => cancelReset(actorOf(req), core, req.params.resetId, req.body ?? {}),
  );

  app.get(
    '/tenants/:tenantId/access-policy',
    {
      config: { permission: 'tenants.read' },
      schema: {
        tags: ['policy'],
        summary: 'The tenant access policy (reset delivery, emergency approvals, external forwarding, offboarding grace)',
        params: TenantParams,
        response: { 200: AccessPolicy, ...authedErrors() },
      },
    },
    async (req) => getAccessPolicy(actorOf(req), core, req.params.tenantId),
  );

  app.put(
    '/tenants/:tenantId/access-policy',
    {
      config: { permission: 'policies.manage' },
      schema: {
        tags: ['policy'],
        summary: 'Change the tenant access policy (only an operator lets tenant principals approve high-value emergency resets)',
        params: TenantParams,
        body: AccessPolicyBody,
        response: { 200: AccessPolicy, ...authedErrors() },
      },
    },
    async (req) => updateAccessPolicy(actorOf(req), core, req.params.tenantId, req.body),
  );

  app.get(
    '/mailboxes/:mailboxId/high-value',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['policy'], summary: 'Whether the mailbox is flagged high-value', params: MailboxParams, response: { 200: HighValue, ...authedErrors() } },
    },
    async (req) => getHighValue(actorOf(req), core, req.params.mailboxId),
  );

  app.put(
    '/mailboxes/:mailboxId/high-value',
    {
      config: { permission: 'policies.manage' },
      schema: { tags: ['policy'], summary: 'Flag or unflag a mailbox as high-value', params: MailboxParams, body: HighValueBody, response: { 200: HighValue, ...authedErrors() } },
    },
    async (req) => setHighValue(actorOf(req), core, req.params.mailboxId, req.body),
  );

  app.get(
    '/tenants/:tenantId/forwarding-report',
    {
      config: { permission: 'forwarding.read' },
      schema: {
        tags: ['forwarding'],
        summary: 'Forwards by age, creator, destination type and last use; external, stale and expired ones flagged',
        params: TenantParams,
        response: { 200: ForwardReport, ...authedErrors() },
      },
    },
    async (req) => forwardingReport(actorOf(req), core, req.params.tenantId),
  );
};

export default resetsRoutes;
