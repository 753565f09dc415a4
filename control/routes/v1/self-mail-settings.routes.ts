/**
 * What a mailbox owner types into a mail client (session context: the owner's session cookie
 * is the actor, as in self-access.routes.ts): the public host name and ports as JSON for the
 * self-service page, and an Apple configuration profile (`.mobileconfig`) to download.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { mobileconfigXml, ownClientSettings } from '../../../appliance/core/mailboxes/autoconfig.js';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { actorOf } from '../../plugins/authn.js';
import { SESSION_ERRORS } from '../../plugins/session-auth.js';

const Server = Type.Object({
  protocol: Type.String({ description: 'imap | smtp' }),
  host: Type.String(),
  port: Type.Integer(),
  socket: Type.String({ description: 'SSL (TLS from the first byte) | STARTTLS' }),
});
const MailSettings = Type.Object(
  { email: Type.String(), username: Type.String(), incoming: Type.Array(Server), outgoing: Type.Array(Server), mobileconfigUrl: Type.String() },
  { title: 'MailClientSettings' },
);

const selfMailSettingsRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.get(
    '/api/v1/self/mail-settings',
    {
      config: { permission: 'session', session: 'owner' },
      schema: { tags: ['self-service'], summary: 'The settings to type into a mail client: user name, IMAP and SMTP host, port and encryption', response: { 200: MailSettings, ...SESSION_ERRORS } },
    },
    async (req) => {
      const s = await ownClientSettings(actorOf(req), core);
      return { email: s.email, username: s.username, incoming: s.incoming, outgoing: s.outgoing, mobileconfigUrl: '/api/v1/self/mail-settings.mobileconfig' };
    },
  );

  app.get(
    '/api/v1/self/mail-settings.mobileconfig',
    {
      config: { permission: 'session', session: 'owner' },
      schema: {
        tags: ['self-service'],
        summary: 'An Apple configuration profile (iPhone, iPad, Mac Mail) for the owner’s mailbox; the device asks for the password',
        produces: ['application/x-apple-aspen-config'],
        response: { 200: Type.String(), ...SESSION_ERRORS },
      },
    },
    async (req, reply) => {
      const s = await ownClientSettings(actorOf(req), core);
      return reply
        .type('application/x-apple-aspen-config; charset=utf-8')
        .header('content-disposition', `attachment; filename="${s.email.replace(/[^A-Za-z0-9@._+-]/g, '_')}.mobileconfig"`)
        .header('cache-control', 'no-store')
        .send(mobileconfigXml(s, { name: s.ownerName }));
    },
  );
};

export default selfMailSettingsRoutes;
