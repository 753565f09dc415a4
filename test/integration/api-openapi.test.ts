import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../appliance/logger.js';
import { buildApp } from '../../control/app.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

describe('GET /api/v1/openapi.json', () => {
  it('is public and documents every API route with its responses', async () => {
    const r = await t.call('GET', '/api/v1/openapi.json', { token: null });
    expect(r.status).toBe(200);
    expect(r.body.openapi).toMatch(/^3\./);
    for (const p of [
      '/api/v1/tenants',
      '/api/v1/tenants/{tenantId}/domains',
      '/api/v1/domains/{domainId}/dns',
      '/api/v1/domains/{domainId}/mailboxes',
      '/api/v1/setup/{token}',
      '/api/v1/domains/{domainId}/aliases',
      '/api/v1/domains/{domainId}/catch-all',
      '/api/v1/audit/verify',
    ]) {
      expect(r.body.paths[p], p).toBeDefined();
    }
    const create = r.body.paths['/api/v1/domains/{domainId}/mailboxes'].post;
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '404', '409']));
    expect(create.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    expect(r.body.paths['/api/v1/setup/{token}'].post.security).toEqual([]);
  });
});

describe('request logging', () => {
  it('logs one line per request with reqId and redacts setup tokens and bearer secrets', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const app = await buildApp({ core: t.core, config: t.config, logger: createLogger('info', { destination: sink }), health: async () => ({}), tls: { key: '', cert: '' } });
    try {
      const a = await provisionTenant(t, 'Logged', 'logged.example');
      const mb = await provisionMailbox(t, a.domainId, 'logme');
      const res = await app.inject({ method: 'POST', url: `/api/v1/setup/${mb.setup.token}`, payload: { password: 'short' }, headers: { authorization: `Bearer ${t.operatorToken}` } });
      expect(res.statusCode).toBe(400);
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
      const text = lines.join('');
      expect(text).toContain('"event":"control.request"');
      expect(text).toContain('/api/v1/setup/[redacted]');
      expect(text).not.toContain(mb.setup.token);
      expect(text).not.toContain(t.operatorToken);
      // an authenticated request's line names its actor (fields of the line, no child logger per request)
      const listed = await app.inject({ method: 'GET', url: `/api/v1/tenants/${a.tenantId}/mailboxes`, headers: { authorization: `Bearer ${t.operatorToken}` } });
      expect(listed.statusCode).toBe(200);
      const line = lines
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.event === 'control.request' && l.route === '/api/v1/tenants/:tenantId/mailboxes');
      expect(line).toMatchObject({ status: 200, actor: expect.any(String), tenantId: null, reqId: listed.headers['x-request-id'] });
    } finally {
      await app.close();
    }
  });
});
