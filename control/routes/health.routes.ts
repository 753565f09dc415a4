/**
 * Liveness and readiness (public context). /healthz answers while the process lives; /readyz
 * asks every component and names the failing ones with 503.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { HealthCheck } from '../app.js';

const Component = Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) });
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  failing: Type.Array(Type.String()),
  components: Type.Record(Type.String(), Component),
});

const healthRoutes: FastifyPluginAsyncTypebox<{ health: HealthCheck }> = async (app, opts) => {
  app.get(
    '/healthz',
    {
      config: { permission: 'public' },
      schema: { tags: ['health'], summary: 'Liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { permission: 'public' },
      schema: { tags: ['health'], summary: 'Readiness of every component', response: { 200: Readiness, 503: Readiness } },
    },
    async (req, reply) => {
      let components: Record<string, { ok: boolean; detail?: string }>;
      try {
        components = await opts.health();
      } catch (err) {
        req.log.warn({ event: 'control.readiness.error', err }, 'health check threw');
        components = { health: { ok: false, detail: 'health check failed' } };
      }
      const failing = Object.entries(components)
        .filter(([, c]) => !c.ok)
        .map(([name]) => name);
      const body = { status: failing.length ? ('unavailable' as const) : ('ready' as const), failing, components };
      return reply.code(failing.length ? 503 : 200).send(body);
    },
  );
};

export default healthRoutes;
