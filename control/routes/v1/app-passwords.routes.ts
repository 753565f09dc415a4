/** App passwords of a mailbox, managed by admins (the owner manages them in self-service). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createAppPassword, listAppPasswords, revokeAppPassword } from '../../../appliance/core/access/app-passwords.service.js';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { actorOf } from '../../plugins/authn.js';
import { AppPassword, AppPasswordParams, CreateAppPasswordBody, CreatedAppPassword } from '../../schemas/app-passwords.schemas.js';
import { authedErrors } from '../../schemas/common.js';
import { MailboxParams } from '../../schemas/mailboxes.schemas.js';

const appPasswordsRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/mailboxes/:mailboxId/app-passwords',
    {
      config: { permission: 'mailboxes.manage' },
      schema: {
        tags: ['app-passwords'],
        summary: 'Create an app password (scoped to IMAP and/or SMTP); the password is shown once',
        params: MailboxParams,
        body: CreateAppPasswordBody,
        response: { 201: CreatedAppPassword, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(201).send(await createAppPassword(actorOf(req), core, req.params.mailboxId, req.body)),
  );

  app.get(
    '/mailboxes/:mailboxId/app-passwords',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['app-passwords'], summary: 'Live app passwords of a mailbox (never the secrets)', params: MailboxParams, response: { 200: Type.Array(AppPassword), ...authedErrors() } },
    },
    async (req) => listAppPasswords(actorOf(req), core, req.params.mailboxId),
  );

  app.delete(
    '/mailboxes/:mailboxId/app-passwords/:appPasswordId',
    {
      config: { permission: 'mailboxes.suspend' },
      schema: {
        tags: ['app-passwords'],
        summary: 'Revoke one app password: only the sessions that logged in with it end',
        params: AppPasswordParams,
        response: { 204: Type.Null(), ...authedErrors() },
      },
    },
    async (req, reply) => {
      await revokeAppPassword(actorOf(req), core, req.params.mailboxId, req.params.appPasswordId);
      return reply.code(204).send(null);
    },
  );
};

export default appPasswordsRoutes;
