import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import {
  activateDkimKey,
  createForward,
  deleteForward,
  deleteRoute,
  getRoute,
  getSendingState,
  grantSendAs,
  liftSendBlock,
  listDkimKeys,
  listForwards,
  listSendAs,
  putRoute,
  retireDkimKey,
  revokeSendAs,
  rotateDkim,
  setSendLimits,
} from '../../../appliance/core/sending/sending.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors } from '../../schemas/common.js';
import { DomainParams } from '../../schemas/domains.schemas.js';
import { MailboxParams } from '../../schemas/mailboxes.schemas.js';
import {
  CreateForwardBody,
  CreateSendAsBody,
  DkimKey,
  DkimKeyParams,
  Forward,
  ForwardParams,
  GrantParams,
  LiftBlockBody,
  PutRouteBody,
  RotateDkimBody,
  Route,
  SendAsGrant,
  SendingState,
  SendLimitsBody,
} from '../../schemas/sending.schemas.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const sendingRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  // ---- forwards
  app.get(
    '/mailboxes/:mailboxId/forwards',
    {
      config: { permission: 'forwarding.read' },
      schema: { tags: ['forwarding'], summary: "List a mailbox's forwards", params: MailboxParams, response: { 200: Type.Array(Forward), ...authedErrors() } },
    },
    async (req) => listForwards(actorOf(req), core, req.params.mailboxId),
  );

  app.post(
    '/mailboxes/:mailboxId/forwards',
    {
      config: { permission: 'forwarding.manage' },
      schema: {
        tags: ['forwarding'],
        summary: 'Forward a mailbox to an address (external targets need a reason; may expire)',
        params: MailboxParams,
        body: CreateForwardBody,
        response: { 201: Forward, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(201).send(await createForward(actorOf(req), core, req.params.mailboxId, req.body)),
  );

  app.delete(
    '/forwards/:forwardId',
    {
      config: { permission: 'forwarding.manage' },
      schema: { tags: ['forwarding'], summary: 'Remove a forward', params: ForwardParams, response: { 204: Type.Null(), ...authedErrors() } },
    },
    async (req, reply) => {
      await deleteForward(actorOf(req), core, req.params.forwardId);
      return reply.code(204).send(null);
    },
  );

  // ---- send-as grants
  app.get(
    '/mailboxes/:mailboxId/send-as',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['sending'], summary: 'Addresses a mailbox may send as, besides its own and its aliases', params: MailboxParams, response: { 200: Type.Array(SendAsGrant), ...authedErrors() } },
    },
    async (req) => listSendAs(actorOf(req), core, req.params.mailboxId),
  );

  app.post(
    '/mailboxes/:mailboxId/send-as',
    {
      config: { permission: 'mailboxes.manage' },
      schema: { tags: ['sending'], summary: 'Grant send-as for an address of the same tenant', params: MailboxParams, body: CreateSendAsBody, response: { 201: SendAsGrant, ...authedErrors(409) } },
    },
    async (req, reply) => reply.code(201).send(await grantSendAs(actorOf(req), core, req.params.mailboxId, req.body)),
  );

  app.delete(
    '/send-as/:grantId',
    {
      config: { permission: 'mailboxes.manage' },
      schema: { tags: ['sending'], summary: 'Revoke a send-as grant', params: GrantParams, response: { 204: Type.Null(), ...authedErrors() } },
    },
    async (req, reply) => {
      await revokeSendAs(actorOf(req), core, req.params.grantId);
      return reply.code(204).send(null);
    },
  );

  // ---- outbound routes (smarthosts)
  for (const [path, permissionRead, permissionWrite, params, scopeOf] of [
    ['/domains/:domainId/outbound-route', 'domains.read', 'domains.manage', DomainParams, (p: Record<string, string>) => ({ kind: 'domain' as const, id: p.domainId! })],
    ['/tenants/:tenantId/outbound-route', 'domains.read', 'domains.manage', TenantParams, (p: Record<string, string>) => ({ kind: 'tenant' as const, id: p.tenantId! })],
  ] as const) {
    app.get(
      path,
      {
        config: { permission: permissionRead },
        schema: { tags: ['routing'], summary: 'Read the outbound route (smarthost)', params, response: { 200: Route, ...authedErrors() } },
      },
      async (req) => getRoute(actorOf(req), core, scopeOf(req.params as Record<string, string>)),
    );
    app.put(
      path,
      {
        config: { permission: permissionWrite },
        schema: { tags: ['routing'], summary: 'Send outbound mail through a smarthost (audited)', params, body: PutRouteBody, response: { 200: Route, ...authedErrors() } },
      },
      async (req) => putRoute(actorOf(req), core, scopeOf(req.params as Record<string, string>), req.body),
    );
    app.delete(
      path,
      {
        config: { permission: permissionWrite },
        schema: { tags: ['routing'], summary: 'Remove the outbound route (back to MX delivery)', params, response: { 204: Type.Null(), ...authedErrors() } },
      },
      async (req, reply) => {
        await deleteRoute(actorOf(req), core, scopeOf(req.params as Record<string, string>));
        return reply.code(204).send(null);
      },
    );
  }
  app.get(
    '/outbound-route',
    {
      config: { permission: 'tenants.read' },
      schema: { tags: ['routing'], summary: 'Read the global outbound route (operators)', response: { 200: Route, ...authedErrors() } },
    },
    async (req) => getRoute(actorOf(req), core, { kind: 'global' }),
  );
  app.put(
    '/outbound-route',
    {
      config: { permission: 'tenants.manage' },
      schema: { tags: ['routing'], summary: 'Set the global smarthost (operators; audited)', body: PutRouteBody, response: { 200: Route, ...authedErrors() } },
    },
    async (req) => putRoute(actorOf(req), core, { kind: 'global' }, req.body),
  );
  app.delete(
    '/outbound-route',
    {
      config: { permission: 'tenants.manage' },
      schema: { tags: ['routing'], summary: 'Remove the global smarthost', response: { 204: Type.Null(), ...authedErrors() } },
    },
    async (req, reply) => {
      await deleteRoute(actorOf(req), core, { kind: 'global' });
      return reply.code(204).send(null);
    },
  );

  // ---- DKIM keys
  app.get(
    '/domains/:domainId/dkim',
    {
      config: { permission: 'domains.read' },
      schema: { tags: ['dkim'], summary: "A domain's DKIM keys (no private material)", params: DomainParams, response: { 200: Type.Array(DkimKey), ...authedErrors() } },
    },
    async (req) => listDkimKeys(actorOf(req), core, req.params.domainId),
  );
  app.post(
    '/domains/:domainId/dkim/rotate',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['dkim'],
        summary: 'Publish new DKIM keys (activate them once DNS has them)',
        params: DomainParams,
        body: RotateDkimBody,
        response: { 201: Type.Array(DkimKey), ...authedErrors() },
      },
    },
    async (req, reply) => reply.code(201).send(await rotateDkim(actorOf(req), core, req.params.domainId, req.body)),
  );
  app.post(
    '/domains/:domainId/dkim/:keyId/activate',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['dkim'],
        summary: 'Sign with this key from now on; the previous key stays published until retired',
        params: DkimKeyParams,
        response: { 200: Type.Array(DkimKey), ...authedErrors(409) },
      },
    },
    async (req) => activateDkimKey(actorOf(req), core, req.params.domainId, req.params.keyId),
  );
  app.post(
    '/domains/:domainId/dkim/:keyId/retire',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['dkim'],
        summary: 'Retire a key that no longer signs (removes it from the expected DNS records)',
        params: DkimKeyParams,
        response: { 200: Type.Array(DkimKey), ...authedErrors(409) },
      },
    },
    async (req) => retireDkimKey(actorOf(req), core, req.params.domainId, req.params.keyId),
  );

  // ---- limits and the automatic send block
  app.get(
    '/mailboxes/:mailboxId/sending',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['sending'], summary: 'Send limits and block state of a mailbox', params: MailboxParams, response: { 200: SendingState, ...authedErrors() } },
    },
    async (req) => getSendingState(actorOf(req), core, req.params.mailboxId),
  );
  app.put(
    '/mailboxes/:mailboxId/send-limits',
    {
      config: { permission: 'mailboxes.manage' },
      schema: { tags: ['sending'], summary: 'Per-mailbox limits (null: the appliance defaults)', params: MailboxParams, body: SendLimitsBody, response: { 200: SendingState, ...authedErrors() } },
    },
    async (req) => setSendLimits(actorOf(req), core, req.params.mailboxId, req.body),
  );
  app.post(
    '/mailboxes/:mailboxId/send-block/lift',
    {
      config: { permission: 'mailboxes.suspend' },
      schema: { tags: ['sending'], summary: 'Lift an automatic send block (audited)', params: MailboxParams, body: LiftBlockBody, response: { 200: SendingState, ...authedErrors(409) } },
    },
    async (req) => liftSendBlock(actorOf(req), core, req.params.mailboxId, req.body ?? {}),
  );
};

export default sendingRoutes;
