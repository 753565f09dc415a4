/**
 * The web console (public context): the Vite build in web/dist served at `/`, with an SPA
 * fallback (every console path answers index.html; the browser router takes it from there).
 * The console has no back door: it calls /api/v1 with a session cookie like any client.
 * Its responses carry a strict Content-Security-Policy (no inline scripts or styles, nothing
 * from another origin) through @fastify/helmet, registered in this encapsulated plugin only.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../appliance/core/kernel/errors.js';

export const CONSOLE_CSP = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'manifest-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'object-src': ["'none'"],
};

/** web/dist of the checkout or image this module runs from (source under control/, compiled under dist/control/). */
export function consoleDir(start = __dirname): string | null {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'web', 'dist');
    if (existsSync(path.join(candidate, 'index.html'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

const consoleRoutes: FastifyPluginAsync<{ root?: string | null }> = async (app, opts) => {
  const root = opts.root === undefined ? consoleDir() : opts.root;
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CONSOLE_CSP },
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
  if (root) await app.register(fastifyStatic, { root, serve: false, index: false, dotfiles: 'deny' });

  app.get('/*', { config: { permission: 'public' }, schema: { hide: true } }, async (req, reply) => {
    const rel = (req.params as { '*'?: string })['*'] ?? '';
    const pathname = `/${rel}`;
    if (pathname.startsWith('/api/')) throw new AppError('NotFound', `no route GET ${pathname}`);
    if (!root) return reply.code(503).type('text/plain; charset=utf-8').send('The console is not built: run "npm run build".');
    // Hashed build assets: cache for long; anything else with a file extension is a plain 404.
    if (rel.startsWith('assets/')) return reply.sendFile(rel, { maxAge: '365d', immutable: true });
    if (/\.[A-Za-z0-9]{1,8}$/.test(rel)) throw new AppError('NotFound', `no file ${pathname}`);
    reply.header('cache-control', 'no-store');
    return reply.type('text/html; charset=utf-8').sendFile('index.html', { cacheControl: false });
  });
};

export default consoleRoutes;
