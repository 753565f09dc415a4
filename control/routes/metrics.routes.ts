/**
 * GET /metrics in Prometheus text format (public context: it is not part of the API and takes
 * no API token). Optionally closed by a bearer token (POSTERN_METRICS_TOKEN) and/or a network
 * allow-list (POSTERN_METRICS_ALLOW); with both set, a scrape needs both. Also the control
 * plane's own latency histogram: one onResponse hook labelled with the route pattern, never the
 * URL (installRequestMetrics, installed on the root instance so it sees every route).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4 } from 'node:net';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Config } from '../../appliance/config.js';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { observeHttpRequest, renderMetrics } from '../../appliance/metrics.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function installRequestMetrics(app: FastifyInstance): void {
  app.addHook('onResponse', (req, reply, done) => {
    try {
      observeHttpRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    } finally {
      done();
    }
  });
}

function allowList(config: Pick<Config, 'metricsAllow'>): BlockList | null {
  if (!config.metricsAllow) return null;
  const list = new BlockList();
  for (const n of config.metricsAllow) list.addSubnet(n.network, n.prefix, n.family);
  return list;
}

/** The client's address as the allow-list sees it (an IPv4-mapped IPv6 address is IPv4). */
function clientAddress(req: FastifyRequest): { address: string; family: 'ipv4' | 'ipv6' } {
  const raw = req.socket.remoteAddress ?? '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(raw);
  const address = mapped ? mapped[1]! : raw;
  return { address, family: isIPv4(address) ? 'ipv4' : 'ipv6' };
}

const metricsRoutes: FastifyPluginAsync<{ config: Pick<Config, 'metricsToken' | 'metricsAllow'> }> = async (app, opts) => {
  const allowed = allowList(opts.config);
  const token = opts.config.metricsToken ? digest(opts.config.metricsToken) : null;

  app.get('/metrics', { config: { permission: 'public' }, schema: { hide: true } }, async (req, reply) => {
    if (allowed) {
      const { address, family } = clientAddress(req);
      if (!address || !allowed.check(address, family)) throw new AppError('Forbidden', 'this address may not read metrics');
    }
    if (token) {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m || !timingSafeEqual(digest(m[1]!), token)) throw new AppError('Unauthorized', 'a valid metrics token is required');
    }
    const { contentType, body } = await renderMetrics();
    return reply.type(contentType).header('cache-control', 'no-store').send(body);
  });
};

export default metricsRoutes;
