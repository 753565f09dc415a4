/**
 * Mail client self-configuration, public by nature (clients ask before anyone logs in):
 * Thunderbird autoconfig (`/.well-known/autoconfig/mail/config-v1.1.xml` on the mail domain,
 * `/mail/config-v1.1.xml` on `autoconfig.<domain>`), Outlook autodiscover (POX at
 * `/autodiscover/autodiscover.xml`, and the JSON v2 endpoint that points Outlook at it).
 * Registered as its own encapsulated plugin in the public context: its XML body parser and
 * headers stay here. Hosted domains only; the core decides, these routes translate.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { autoconfigXml, autodiscoverXml, poxRequestAddress, settingsForRequest } from '../../appliance/core/mailboxes/autoconfig.js';
import type { CoreDeps } from '../../appliance/core/deps.js';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { Closed, errors } from '../schemas/common.js';

const AutoconfigQuery = Closed({ emailaddress: Type.Optional(Type.String({ maxLength: 254, description: 'The address being set up; its domain must be hosted here' })) });
const XML_BODY_LIMIT = 16 * 1024;

const autoconfigRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'string', bodyLimit: XML_BODY_LIMIT }, (_req, body, done) => done(null, body));

  const thunderbird = {
    config: { permission: 'public' },
    schema: {
      tags: ['autoconfig'],
      summary: 'Thunderbird autoconfig (clientConfig 1.1) for an address or Host of a hosted domain: IMAP and submission with the public host name and ports',
      querystring: AutoconfigQuery,
      produces: ['application/xml'],
      response: { 200: Type.String(), ...errors(400, 404, 500) },
    },
  } as const;
  const serveAutoconfig = async (req: { query: { emailaddress?: string }; headers: { host?: string } }, reply: import('fastify').FastifyReply) => {
    const settings = await settingsForRequest(core, { emailaddress: req.query.emailaddress, host: req.headers.host });
    return reply.type('application/xml; charset=utf-8').header('cache-control', 'no-store').send(autoconfigXml(settings));
  };
  app.get('/.well-known/autoconfig/mail/config-v1.1.xml', thunderbird, serveAutoconfig);
  app.get('/mail/config-v1.1.xml', thunderbird, serveAutoconfig);

  app.post(
    '/autodiscover/autodiscover.xml',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['autoconfig'],
        summary: 'Outlook autodiscover (POX): the request names <EMailAddress>; the answer holds IMAP and SMTP settings',
        consumes: ['text/xml', 'application/xml'],
        produces: ['application/xml'],
        body: Type.String({ maxLength: XML_BODY_LIMIT }),
        response: { 200: Type.String(), ...errors(400, 404, 413, 415, 500) },
      },
    },
    async (req, reply) => {
      const email = poxRequestAddress(req.body);
      if (!email) throw new AppError('Invalid', 'the request names no <EMailAddress>');
      const settings = await settingsForRequest(core, { emailaddress: email });
      return reply.type('application/xml; charset=utf-8').header('cache-control', 'no-store').send(autodiscoverXml(settings));
    },
  );

  app.get(
    '/autodiscover/autodiscover.json/v1.0/:email',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['autoconfig'],
        summary: 'Outlook autodiscover v2 (JSON): for Protocol=AutodiscoverV1 the URL of the POX endpoint; other protocols are not offered',
        params: Closed({ email: Type.String({ maxLength: 254 }) }),
        querystring: Type.Object({ Protocol: Type.Optional(Type.String({ maxLength: 64 })), RedirectCount: Type.Optional(Type.String({ maxLength: 4 })) }, { additionalProperties: true }),
        response: {
          200: Type.Object({ Protocol: Type.String(), Url: Type.String() }),
          400: Type.Object({ ErrorCode: Type.String(), ErrorMessage: Type.String() }),
          ...errors(404, 500),
        },
      },
    },
    async (req, reply) => {
      await settingsForRequest(core, { emailaddress: req.params.email });
      const protocol = req.query.Protocol ?? 'AutodiscoverV1';
      if (protocol.toLowerCase() !== 'autodiscoverv1') {
        return reply.code(400).send({ ErrorCode: 'ProtocolNotSupported', ErrorMessage: `${protocol} is not offered; use AutodiscoverV1 (IMAP and SMTP settings)` });
      }
      return { Protocol: 'AutodiscoverV1', Url: `${core.config.publicUrl}/autodiscover/autodiscover.xml` };
    },
  );
};

export default autoconfigRoutes;
