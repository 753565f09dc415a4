/**
 * OpenAPI document generated from the route schemas (served publicly at /api/v1/openapi.json).
 * Registered before any route so every route is collected.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { SESSION_COOKIE } from '../../appliance/core/access/sessions.service.js';

export async function registerOpenApi(app: FastifyInstance, opts: { publicUrl: string; version: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Postern control plane',
        version: opts.version,
        description: 'Tenants, domains, mailboxes with ownership records, aliases, tokens and the tamper-evident audit log. Authenticate with `Authorization: Bearer <token>`.',
      },
      servers: [{ url: opts.publicUrl }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE } } },
      security: [{ bearer: [] }],
    },
    transform: ({ schema, url, route }) => {
      // Public routes carry no security requirement.
      const isPublic = route.config?.permission === 'public';
      // Session routes: the console session cookie (and x-csrf-token on state-changing calls).
      const isSession = route.config?.permission === 'session';
      const s = { ...(schema as Record<string, unknown>) };
      if (isPublic) s.security = [];
      else if (isSession) {
        s.security = [{ session: [] }];
        s.description = `Requires a console session (${route.config?.session === 'owner' ? 'mailbox owner' : route.config?.session === 'principal' ? 'operator or tenant admin' : 'any'}).`;
      } else if (route.config?.permission) s.description = `Requires permission \`${route.config.permission}\`.`;
      if (!isPublic && !isSession && [route.method].flat().includes('POST')) {
        // Documented here, enforced by plugins/idempotency.ts for every POST of the protected API.
        const headers = (s.headers ?? { type: 'object', properties: {} }) as { type: string; properties: Record<string, unknown> };
        s.headers = {
          ...headers,
          properties: {
            ...headers.properties,
            'idempotency-key': { type: 'string', maxLength: 255, description: 'Repeat a POST safely: the same key (per caller, within 24 h) replays the first answer' },
          },
        };
      }
      return { schema: s as typeof schema, url };
    },
  });
}
