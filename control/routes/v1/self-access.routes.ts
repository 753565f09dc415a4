/**
 * Self-service access of mailbox owners (public context: these routes authorize by the owner's
 * session cookie + CSRF token, or, for a forgotten password, by a recovery code or by sending
 * a single-use link to the reset destination). Registered next to /self/login and /self.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { createOwnAppPassword, listOwnAppPasswords, revokeOwnAppPassword } from '../../../appliance/core/access/app-passwords.service.js';
import { publicActor } from '../../../appliance/core/kernel/authz.js';
import { AppError } from '../../../appliance/core/kernel/errors.js';
import type { AccessDeps } from '../../../appliance/core/access/policies.js';
import { changeOwnPassword, generateOwnRecoveryCodes, ownRecoveryCodeStatus, recoverWithCode, requestSelfResetLink } from '../../../appliance/core/access/resets-self.service.js';
import { originOf } from '../../plugins/authn.js';
import { requireSession, SESSION_ERRORS, setRetryAfter } from '../../plugins/session-auth.js';
import { AppPassword, CreateAppPasswordBody, CreatedAppPassword, OwnAppPasswordParams } from '../../schemas/app-passwords.schemas.js';
import { Accepted, ChangePasswordBody, CurrentPasswordBody, MailboxRecoveryCodes, RecoverBody, RecoveryCodeStatus, ResetLinkRequestBody } from '../../schemas/resets.schemas.js';

const selfAccessRoutes: FastifyPluginAsyncTypebox<{ core: AccessDeps }> = async (app, { core }) => {
  /** The owner's actor from the session cookie; `csrf` for state-changing calls. */
  const owner = async (req: FastifyRequest, csrf: boolean) => (await requireSession(core, req, csrf, 'mailbox')).actor;

  app.get('/api/v1/self/app-passwords', {
    config: { permission: 'public' },
    schema: { tags: ['self-service'], summary: 'The owner’s live app passwords (never the secrets)', response: { 200: Type.Array(AppPassword), ...SESSION_ERRORS } },
  }, async (req) => listOwnAppPasswords(await owner(req, false), core));

  app.post('/api/v1/self/app-passwords', {
    config: { permission: 'public' },
    schema: { tags: ['self-service'], summary: 'Create an app password for a mail client (shown once)', body: CreateAppPasswordBody, response: { 201: CreatedAppPassword, ...SESSION_ERRORS } },
  }, async (req, reply) => reply.code(201).send(await createOwnAppPassword(await owner(req, true), core, req.body)));

  app.delete('/api/v1/self/app-passwords/:appPasswordId', {
    config: { permission: 'public' },
    schema: { tags: ['self-service'], summary: 'Revoke one of the owner’s app passwords', params: OwnAppPasswordParams, response: { 204: Type.Null(), ...SESSION_ERRORS } },
  }, async (req, reply) => {
    await revokeOwnAppPassword(await owner(req, true), core, req.params.appPasswordId);
    return reply.code(204).send(null);
  });

  app.post('/api/v1/self/password', {
    config: { permission: 'public' },
    schema: { tags: ['self-service'], summary: 'Change the password with the current one; every session ends (log in again)', body: ChangePasswordBody, response: { 204: Type.Null(), ...SESSION_ERRORS } },
  }, async (req, reply) => {
    try {
      await changeOwnPassword(await owner(req, true), core, req.body);
    } catch (err) {
      setRetryAfter(reply, err);
      throw err;
    }
    return reply.code(204).send(null);
  });

  app.get('/api/v1/self/recovery-codes', {
    config: { permission: 'public' },
    schema: { tags: ['self-service'], summary: 'How many unused recovery codes the owner has', response: { 200: RecoveryCodeStatus, ...SESSION_ERRORS } },
  }, async (req) => ownRecoveryCodeStatus(await owner(req, false), core));

  app.post('/api/v1/self/recovery-codes', {
    config: { permission: 'public' },
    schema: { tags: ['self-service'], summary: 'Ten new one-time recovery codes (shown once; the old ones stop working), with the current password', body: CurrentPasswordBody, response: { 200: MailboxRecoveryCodes, ...SESSION_ERRORS } },
  }, async (req, reply) => {
    try {
      return await generateOwnRecoveryCodes(await owner(req, true), core, req.body);
    } catch (err) {
      setRetryAfter(reply, err);
      throw err;
    }
  });

  app.post('/api/v1/self/password/recover', {
    config: { permission: 'public' },
    schema: { tags: ['self-service'], summary: 'Forgotten password: set a new one with a one-time recovery code (throttled like a login)', body: RecoverBody, response: { 204: Type.Null(), ...SESSION_ERRORS } },
  }, async (req, reply) => {
    try {
      await recoverWithCode(publicActor(originOf(req)), core, req.body);
    } catch (err) {
      setRetryAfter(reply, err);
      throw err;
    }
    return reply.code(204).send(null);
  });

  app.post('/api/v1/self/password/reset-link', {
    config: { permission: 'public' },
    schema: { tags: ['self-service'], summary: 'Forgotten password: send a single-use link to the mailbox’s reset destination (same answer whether or not the address exists)', body: ResetLinkRequestBody, response: { 202: Accepted, ...SESSION_ERRORS } },
  }, async (req, reply) => {
    await requestSelfResetLink(publicActor(originOf(req)), core, req.body);
    return reply.code(202).send({ status: 'accepted', message: 'If the address has a reset destination, a single-use link is on its way there.' });
  });
};

export default selfAccessRoutes;
