/**
 * The console build: a static bundle in web/dist, served by the control plane
 * (control/routes/console.routes.ts). No CDN, no font fetch, no inline scripts (strict CSP).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    // `npx vite --config web/vite.config.ts` during development: the API of a running appliance.
    proxy: { '/api': 'http://127.0.0.1:8443', '/readyz': 'http://127.0.0.1:8443', '/healthz': 'http://127.0.0.1:8443' },
  },
});
