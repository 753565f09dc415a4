/**
 * Mailbox owners' self-service, second part (session context: the owner's session cookie
 * is the actor, as in self-access.routes.ts): TOTP for the console login, and the mailbox's
 * forwards (internal always; external where the tenant's policy allows it, with a reason and an
 * end date). The core decides; these routes translate.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createOwnForward, deleteOwnForward, listOwnForwards } from '../../../appliance/core/mailboxes/owner-forwards.service.js';
import { beginOwnTotp, confirmOwnTotp, disableOwnTotp, ownTotpStatus } from '../../../appliance/core/access/owner-totp.service.js';
import type { AccessDeps } from '../../../appliance/core/access/policies.js';
import { actorOf } from '../../plugins/authn.js';
import { SESSION_ERRORS, setRetryAfter } from '../../plugins/session-auth.js';
import { TotpEnrolment } from '../../schemas/auth.schemas.js';
import { OwnerTotpConfirmBody, OwnerTotpDisableBody, OwnerTotpStatus, OwnForward, OwnForwardParams, OwnForwards } from '../../schemas/self-owner.schemas.js';
import { CreateForwardBody } from '../../schemas/sending.schemas.js';

const selfOwnerRoutes: FastifyPluginAsyncTypebox<{ core: AccessDeps }> = async (app, { core }) => {
  app.get(
    '/api/v1/self/totp',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'Whether the owner’s console login needs a TOTP code', response: { 200: OwnerTotpStatus, ...SESSION_ERRORS } },
    },
    async (req) => ownTotpStatus(actorOf(req), core),
  );

  app.post(
    '/api/v1/self/totp/enrol',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'Start TOTP enrolment for the owner’s console login: a secret and its otpauth:// URI', response: { 200: TotpEnrolment, ...SESSION_ERRORS } },
    },
    async (req) => beginOwnTotp(actorOf(req), core),
  );

  app.post(
    '/api/v1/self/totp/confirm',
    {
      config: { permission: 'session', session: 'owner' },
      schema: {
        tags: ['self-service'],
        summary: 'Confirm TOTP enrolment with a current code; the owner login then needs a code (or a recovery code)',
        body: OwnerTotpConfirmBody,
        response: { 200: OwnerTotpStatus, ...SESSION_ERRORS },
      },
    },
    async (req) => confirmOwnTotp(actorOf(req), core, req.body.code),
  );

  app.post(
    '/api/v1/self/totp/disable',
    {
      config: { permission: 'session', session: 'owner' },
      schema: {
        tags: ['self-service'],
        summary: 'Turn TOTP off with the current password and a current code (or a recovery code)',
        body: OwnerTotpDisableBody,
        response: { 200: OwnerTotpStatus, ...SESSION_ERRORS },
      },
    },
    async (req, reply) => {
      try {
        return await disableOwnTotp(actorOf(req), core, req.body);
      } catch (err) {
        setRetryAfter(reply, err);
        throw err;
      }
    },
  );

  app.get(
    '/api/v1/self/forwards',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'The mailbox’s forwards and what the tenant’s policy allows the owner', response: { 200: OwnForwards, ...SESSION_ERRORS } },
    },
    async (req) => listOwnForwards(actorOf(req), core),
  );

  app.post(
    '/api/v1/self/forwards',
    {
      config: { permission: 'session', session: 'owner' },
      schema: {
        tags: ['self-service'],
        summary: 'Forward the mailbox: within the organisation always; outside only where the policy allows it, with a reason and an end date',
        body: CreateForwardBody,
        response: { 201: OwnForward, ...SESSION_ERRORS },
      },
    },
    async (req, reply) => reply.code(201).send(await createOwnForward(actorOf(req), core, req.body)),
  );

  app.delete(
    '/api/v1/self/forwards/:forwardId',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'Remove a forward the owner created (an administrator’s forwards stay)', params: OwnForwardParams, response: { 204: Type.Null(), ...SESSION_ERRORS } },
    },
    async (req, reply) => {
      await deleteOwnForward(actorOf(req), core, req.params.forwardId);
      return reply.code(204).send(null);
    },
  );
};

export default selfOwnerRoutes;
