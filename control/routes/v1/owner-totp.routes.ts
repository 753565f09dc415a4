/** Admins' side of owners' TOTP: whether it is on, and clearing it when the device is lost. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { getOwnerTotp, resetOwnerTotp } from '../../../appliance/core/access/owner-totp.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors, OptionalReasonBody } from '../../schemas/common.js';
import { MailboxParams } from '../../schemas/mailboxes.schemas.js';
import { OwnerTotpStatus } from '../../schemas/self-owner.schemas.js';

const ownerTotpRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.get(
    '/mailboxes/:mailboxId/owner-totp',
    {
      config: { permission: 'mailboxes.read' },
      schema: { tags: ['self-service'], summary: 'Whether the owner’s self-service login needs a TOTP code', params: MailboxParams, response: { 200: OwnerTotpStatus, ...authedErrors() } },
    },
    async (req) => getOwnerTotp(actorOf(req), core, req.params.mailboxId),
  );

  app.post(
    '/mailboxes/:mailboxId/owner-totp/reset',
    {
      config: { permission: 'resets.initiate' },
      schema: {
        tags: ['self-service'],
        summary: 'Clear the owner’s TOTP (lost device): the next owner login needs the password only; audited',
        params: MailboxParams,
        body: OptionalReasonBody,
        response: { 200: OwnerTotpStatus, ...authedErrors() },
      },
    },
    async (req) => resetOwnerTotp(actorOf(req), core, req.params.mailboxId, req.body ?? {}),
  );
};

export default ownerTotpRoutes;
