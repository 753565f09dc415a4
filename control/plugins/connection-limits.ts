/**
 * Connection limits of the control plane's listener (issue 13: per-address connection caps on
 * every listener, and a global cap that answers clearly): at most `maxConnectionsPerIp` open
 * connections from one address (an IPv6 client counts per /64) and `maxConnections` in all.
 *
 * A connection over a cap is marked when it is accepted; its first request is answered `503`
 * with `Connection: close` in the first hook, before routing, body parsing or authentication
 * (so the answer is readable over HTTPS too), and a marked connection that sends nothing is
 * closed after a few seconds. Marked connections do not count toward the caps. Slow clients meet
 * the request deadline (`requestTimeout` in the server options) and a headers deadline no
 * longer than it.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sourceKey } from '../../appliance/core/access/login-throttle.js';

export interface HttpLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
  requestTimeoutSeconds: number;
}

export interface ConnectionLimitReport {
  configured(limits: HttpLimits): void;
  open(n: number): void;
  refused(limit: 'max-connections' | 'per-ip'): void;
}

const REFUSED = Symbol('postern.connection.refused');
type Marked = Socket & { [REFUSED]?: true };
/** How long a refused connection may stay open without sending its request. */
const REFUSED_GRACE_MS = 3000;

export function limitConnections(app: FastifyInstance, limits: HttpLimits, report: ConnectionLimitReport): void {
  const server = app.server as typeof app.server & { headersTimeout?: number };
  server.headersTimeout = Math.min(server.headersTimeout ?? Infinity, limits.requestTimeoutSeconds * 1000);
  report.configured(limits);
  const perSource = new Map<string, number>();
  let open = 0;
  server.prependListener('connection', (socket: Marked) => {
    const key = sourceKey(socket.remoteAddress ?? '');
    const fromSource = perSource.get(key) ?? 0;
    const limit = open >= limits.maxConnections ? 'max-connections' : fromSource >= limits.maxConnectionsPerIp ? 'per-ip' : null;
    if (limit) {
      report.refused(limit);
      socket[REFUSED] = true;
      socket.setTimeout(REFUSED_GRACE_MS, () => socket.destroy());
      return;
    }
    open += 1;
    perSource.set(key, fromSource + 1);
    report.open(open);
    socket.once('close', () => {
      open -= 1;
      const left = (perSource.get(key) ?? 1) - 1;
      if (left > 0) perSource.set(key, left);
      else perSource.delete(key);
      report.open(open);
    });
  });
  app.addHook('onRequest', (req, reply, done) => {
    if (!(req.raw.socket as Marked | undefined)?.[REFUSED]) return done();
    void reply
      .code(503)
      .header('connection', 'close')
      .header('retry-after', '5')
      .send({ error: { code: 'TempFailure', message: 'too many connections' } });
  });
}
