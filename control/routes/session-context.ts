/**
 * The session context: the routes that authorize by the console session cookie, in their own
 * encapsulated Fastify context. Its one hook (plugins/session-auth.ts) turns a principal's or a
 * mailbox owner's session into `request.actor`; each route declares which kind it accepts.
 */
import type { FastifyInstance } from 'fastify';
import type { CoreDeps } from '../../appliance/core/deps.js';
import type { Mailer } from '../../appliance/core/delivery/mailer.js';
import type { SpamDefaults } from '../../appliance/core/sending/spam-policy.service.js';
import { installSessionAuth } from '../plugins/session-auth.js';
import selfAccessRoutes from './v1/self-access.routes.js';
import selfMailSettingsRoutes from './v1/self-mail-settings.routes.js';
import selfOwnerRoutes from './v1/self-owner.routes.js';
import selfSpamRoutes from './v1/self-spam.routes.js';
import sessionRoutes from './v1/session.routes.js';

export default async function sessionContext(ses: FastifyInstance, { core, mailer, spamDefaults }: { core: CoreDeps; mailer: Mailer | null; spamDefaults: SpamDefaults }): Promise<void> {
  installSessionAuth(ses, core);
  await ses.register(sessionRoutes, { core });
  await ses.register(selfAccessRoutes, { core: { ...core, mailer } });
  await ses.register(selfOwnerRoutes, { core: { ...core, mailer } });
  await ses.register(selfMailSettingsRoutes, { core });
  await ses.register(selfSpamRoutes, { core: { ...core, spamDefaults } });
}
