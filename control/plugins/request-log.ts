/**
 * One log line per request (pino child logger with reqId), with secrets in URLs (setup link
 * tokens) redacted, and the request id echoed in `x-request-id`. Throttled answers (429) are
 * logged at most 5 times a minute per client and route; the rest are counted in metrics.
 */
import type { FastifyInstance } from 'fastify';
import { LogRateLimiter } from '../../appliance/core/access/login-throttle.js';
import { countLogSuppressed } from '../../appliance/metrics.js';

const SECRET_PATH = /(\/(?:setup|operator-setup|principal-setup)\/)[^/?#]+/g;

export function redactUrl(url: string): string {
  return url.replace(SECRET_PATH, '$1[redacted]');
}

export function installRequestLog(app: FastifyInstance): void {
  // A throttled client (429) hammering a route writes a few lines a minute, not one per request.
  const throttledLines = new LogRateLimiter(5, 60_000);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const status = reply.statusCode;
    const fields = {
      event: 'control.request',
      method: req.method,
      url: redactUrl(req.url),
      route: req.routeOptions.url,
      status,
      ms: Math.round(reply.elapsedTime),
      ip: req.ip,
    };
    if (status === 429) {
      const ok = throttledLines.admit(`${req.ip}\u0000${fields.route ?? ''}`, Date.now());
      if (!ok) return countLogSuppressed('http');
      if (ok.suppressed) Object.assign(fields, { suppressed: ok.suppressed });
    }
    // Health probes (Docker's HEALTHCHECK every 30 s) are routine: debug while healthy; a 503 from
    // /readyz is an answer (not ready yet, e.g. while booting), not a failure of the request: info.
    const probe = fields.route === '/readyz' || fields.route === '/healthz';
    if (probe && status < 500) req.log.debug(fields, 'request completed');
    else if (status >= 500 && !(status === 503 && fields.route === '/readyz')) req.log.error(fields, 'request completed');
    else req.log.info(fields, 'request completed');
  });
}
