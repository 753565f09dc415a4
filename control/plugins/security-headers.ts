/**
 * Response headers every client gets (issue 13): HSTS when the control plane itself serves
 * HTTPS; API answers (they carry tokens, app passwords, setup links) are never cached and never
 * sniffed; the API docs page runs under a strict CSP and cannot be framed. The console's own
 * headers (CSP, frame-ancestors) come from helmet in console.routes.ts.
 */
import type { FastifyInstance } from 'fastify';

export const HSTS = 'max-age=31536000; includeSubDomains';

/** Inline styles only (the page's <style> and one attribute); the script is a same-origin file. */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function installSecurityHeaders(app: FastifyInstance, opts: { https: boolean }): void {
  // a callback hook (no promise per request); the path is looked at without copying the URL
  app.addHook('onSend', (req, reply, payload, done) => {
    if (opts.https) reply.header('strict-transport-security', HSTS);
    const url = req.url;
    if (url.startsWith('/api/')) {
      reply.header('cache-control', 'no-store');
      reply.header('x-content-type-options', 'nosniff');
      if (url.startsWith('/api/v1/docs')) {
        const path = url.split('?')[0] ?? '';
        if (path === '/api/v1/docs' || path.startsWith('/api/v1/docs/')) {
          reply.header('content-security-policy', DOCS_CSP);
          reply.header('x-frame-options', 'DENY');
        }
      }
    }
    done(null, payload);
  });
}
