/**
 * Self-service access of mailbox owners (session context: the owner's session cookie, CSRF-
 * checked on state-changing calls, is the actor): app passwords, the password, recovery codes.
 * A forgotten password (no session) is in self-recovery.routes.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createOwnAppPassword, listOwnAppPasswords, revokeOwnAppPassword } from '../../../appliance/core/access/app-passwords.service.js';
import type { AccessDeps } from '../../../appliance/core/access/policies.js';
import { changeOwnPassword, generateOwnRecoveryCodes, ownRecoveryCodeStatus } from '../../../appliance/core/access/resets-self.service.js';
import { actorOf } from '../../plugins/authn.js';
import { SESSION_ERRORS, setRetryAfter } from '../../plugins/session-auth.js';
import { AppPassword, CreateAppPasswordBody, CreatedAppPassword, OwnAppPasswordParams } from '../../schemas/app-passwords.schemas.js';
import { ChangePasswordBody, CurrentPasswordBody, MailboxRecoveryCodes, RecoveryCodeStatus } from '../../schemas/resets.schemas.js';

const selfAccessRoutes: FastifyPluginAsyncTypebox<{ core: AccessDeps }> = async (app, { core }) => {
  app.get(
    '/api/v1/self/app-passwords',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'The owner’s live app passwords (never the secrets)', response: { 200: Type.Array(AppPassword), ...SESSION_ERRORS } },
    },
    async (req) => listOwnAppPasswords(actorOf(req), core),
  );

  app.post(
    '/api/v1/self/app-passwords',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'Create an app password for a mail client (shown once)', body: CreateAppPasswordBody, response: { 201: CreatedAppPassword, ...SESSION_ERRORS } },
    },
    async (req, reply) => reply.code(201).send(await createOwnAppPassword(actorOf(req), core, req.body)),
  );

  app.delete(
    '/api/v1/self/app-passwords/:appPasswordId',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'Revoke one of the owner’s app passwords', params: OwnAppPasswordParams, response: { 204: Type.Null(), ...SESSION_ERRORS } },
    },
    async (req, reply) => {
      await revokeOwnAppPassword(actorOf(req), core, req.params.appPasswordId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/self/password',
    {
      config: { permission: 'session', session: 'owner' },
      schema: {
        tags: ['self-service'],
        summary: 'Change the password with the current one; every session ends (log in again)',
        body: ChangePasswordBody,
        response: { 204: Type.Null(), ...SESSION_ERRORS },
      },
    },
    async (req, reply) => {
      try {
        await changeOwnPassword(actorOf(req), core, req.body);
      } catch (err) {
        setRetryAfter(reply, err);
        throw err;
      }
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/self/recovery-codes',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'How many unused recovery codes the owner has', response: { 200: RecoveryCodeStatus, ...SESSION_ERRORS } },
    },
    async (req) => ownRecoveryCodeStatus(actorOf(req), core),
  );

  app.post(
    '/api/v1/self/recovery-codes',
    {
      config: { permission: 'session', session: 'owner' },
      schema: {
        tags: ['self-service'],
        summary: 'Ten new one-time recovery codes (shown once; the old ones stop working), with the current password',
        body: CurrentPasswordBody,
        response: { 200: MailboxRecoveryCodes, ...SESSION_ERRORS },
      },
    },
    async (req, reply) => {
      try {
        return await generateOwnRecoveryCodes(actorOf(req), core, req.body);
      } catch (err) {
        setRetryAfter(reply, err);
        throw err;
      }
    },
  );
};

export default selfAccessRoutes;
