/**
 * One log line per request (pino child logger with reqId), with secrets in URLs (setup link
 * tokens) redacted, and the request id echoed in `x-request-id`. Throttled answers (429) are
 * logged at most 5 times a minute per client and route; the rest are counted in metrics.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LogRateLimiter } from '../../appliance/core/access/login-throttle.js';
import { countLogSuppressed } from '../../appliance/metrics.js';

const SECRET_PATH = /(\/(?:setup|operator-setup|principal-setup)\/)[^/?#]+/g;

export function redactUrl(url: string): string {
  // most URLs hold no setup link: no regex run (and no new string) for them
  return url.includes('setup/') ? url.replace(SECRET_PATH, '$1[redacted]') : url;
}

/**
 * The logger of the request lines: the app's (same destination, level and bindings) without its
 * redaction paths. A request line holds only the fields logResponse builds (method, the URL with
 * setup-link secrets redacted above, route, status, time, address, actor ids), none of which a
 * redaction path names; the root logger's wildcard paths (`*.password`, …) otherwise ran over
 * every field of every line: about 80 us of the serving loop per request against 6 (issue 18).
 */
export function requestLineLogger(log: FastifyBaseLogger): FastifyBaseLogger {
  return log.child({}, { redact: [] });
}

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildLoggerOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * A request's `req.log`: the child of the app's logger with the request id (fastify's own
 * bindings and options), made at the request's first line through it. Most requests write none
 * (their line comes from logResponse above, with its own reqId field); making a pino child for
 * every request anyway (its bindings serialized and run through the root logger's redaction) was
 * about 5% of the serving loop under 50 API clients (issue 18).
 */
class RequestLogger {
  private made: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildLoggerOptions,
  ) {}

  private get log(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.opts));
  }

  get level(): string {
    return this.made?.level ?? this.opts.level ?? this.parent.level;
  }

  set level(level: string) {
    this.log.level = level;
  }

  child(bindings: Bindings, opts?: ChildLoggerOptions): FastifyBaseLogger {
    return this.log.child(bindings, opts);
  }

  private line(level: Level, args: unknown[]): void {
    (this.log[level] as (...a: unknown[]) => void)(...args);
  }

  fatal(...args: unknown[]): void {
    this.line('fatal', args);
  }
  error(...args: unknown[]): void {
    this.line('error', args);
  }
  warn(...args: unknown[]): void {
    this.line('warn', args);
  }
  info(...args: unknown[]): void {
    this.line('info', args);
  }
  debug(...args: unknown[]): void {
    this.line('debug', args);
  }
  trace(...args: unknown[]): void {
    this.line('trace', args);
  }
  silent(...args: unknown[]): void {
    this.line('silent', args);
  }
}

/** fastify's `childLoggerFactory` (server options): the request's logger, made at its first line. */
export function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions): FastifyBaseLogger {
  return new RequestLogger(logger, bindings, opts) as unknown as FastifyBaseLogger;
}

export function installRequestLog(app: FastifyInstance): void {
  // A throttled client (429) hammering a route writes a few lines a minute, not one per request.
  const throttledLines = new LogRateLimiter(5, 60_000);
  const lines = requestLineLogger(app.log);
  // callback hooks: no promise and no extra microtask turn per request
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    try {
      logResponse(lines, req, reply, throttledLines);
    } finally {
      done();
    }
  });
}

/**
 * The actor of an authenticated request as log fields (the authentication hooks set req.actor
 * and create no child logger per request: the request line and error lines carry these).
 */
export function actorFields(req: FastifyRequest): { actor?: string; tenantId?: string | null } {
  const a = req.actor;
  return a ? { actor: a.principalId, tenantId: a.tenantId } : {};
}

function logResponse(lines: FastifyBaseLogger, req: FastifyRequest, reply: FastifyReply, throttledLines: LogRateLimiter): void {
  const status = reply.statusCode;
  const fields = {
    reqId: req.id,
    event: 'control.request',
    method: req.method,
    url: redactUrl(req.url),
    route: req.routeOptions.url,
    status,
    ms: Math.round(reply.elapsedTime),
    ip: req.ip,
    ...actorFields(req),
  };
  if (status === 429) {
    const ok = throttledLines.admit(`${req.ip}\u0000${fields.route ?? ''}`, Date.now());
    if (!ok) {
      countLogSuppressed('http');
      return;
    }
    if (ok.suppressed) Object.assign(fields, { suppressed: ok.suppressed });
  }
  // Health probes (Docker's HEALTHCHECK every 30 s) are routine: debug while healthy; a 503 from
  // /readyz is an answer (not ready yet, e.g. while booting), not a failure of the request: info.
  const probe = fields.route === '/readyz' || fields.route === '/healthz';
  if (probe && status < 500) lines.debug(fields, 'request completed');
  else if (status >= 500 && !(status === 503 && fields.route === '/readyz')) lines.error(fields, 'request completed');
  else lines.info(fields, 'request completed');
}
