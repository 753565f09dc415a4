/**
 * API quality: a browsable page of our own for the OpenAPI document, response schemas on every
 * route, one error body shape, and idempotency keys on POSTs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, OWNER, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Quality Co', 'quality.example');
});
afterAll(async () => t.close());

describe('documentation', () => {
  it('GET /api/v1/docs serves a page that renders the OpenAPI document with our own script (no CDN)', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/api/v1/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('<script src="/api/v1/docs/docs.js"></script>');
    expect(page.body).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/);
    const js = await t.app.inject({ method: 'GET', url: '/api/v1/docs/docs.js' });
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.body).toContain("fetch('/api/v1/openapi.json')");
  });

  it('every documented operation has a success response schema and the error responses', async () => {
    const doc = (await t.call('GET', '/api/v1/openapi.json', { token: null })).body;
    let operations = 0;
    for (const [path, item] of Object.entries<Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }>; security?: unknown[]; headers?: unknown }>>(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        operations++;
        const codes = Object.keys(op.responses);
        const ok = codes.filter((c) => /^2/.test(c));
        expect(ok.length, `${method} ${path}`).toBeGreaterThan(0);
        for (const c of ok) if (c !== '204') expect(op.responses[c]!.content, `${method} ${path} ${c}`).toBeDefined();
        if (!path.startsWith('/api/v1/')) continue; // liveness and readiness
        expect(codes, `${method} ${path}`).toContain('400');
        expect(codes, `${method} ${path}`).toContain('500');
        if (op.security === undefined) expect(codes, `${method} ${path}`).toEqual(expect.arrayContaining(['401', '403', '404']));
      }
    }
    expect(operations).toBeGreaterThan(60);
    const post = doc.paths['/api/v1/domains/{domainId}/mailboxes'].post;
    expect(post.parameters.find((p: { name: string; in: string }) => p.in === 'header' && p.name === 'idempotency-key')).toBeDefined();
  });
});

describe('one error body', () => {
  it.each([
    ['unknown route', 'GET', '/api/v1/nope', undefined, 404, 'NotFound'],
    ['malformed JSON', 'POST', '/api/v1/tenants', '{"name":', 400, 'Invalid'],
    ['no credentials', 'GET', '/api/v1/tenants', undefined, 401, 'Unauthorized'],
  ] as const)('%s → {error: {code, message}}', async (_c, method, url, raw, status, code) => {
    const r = await t.call(method, url, { raw, token: _c === 'no credentials' ? null : undefined });
    expect(r.status).toBe(status);
    expect(r.body).toEqual({ error: { code, message: expect.any(String) } });
  });
});

describe('Idempotency-Key on POST', () => {
  const body = (lp: string) => ({ localPart: lp, owner: OWNER, credentialDelivery: 'link' });
  const post = (b: unknown, key?: string, token = a.token) => t.call('POST', `/api/v1/domains/${a.domainId}/mailboxes`, { token, body: b, headers: key ? { 'idempotency-key': key } : {} });
  const count = async (lp: string) => (await t.core.db.selectFrom('mailboxes').select('id').where('local_part', '=', lp).execute()).length;

  it('a repeated POST with the same key replays the first answer and creates nothing more', async () => {
    const first = await post(body('idem'), 'key-1');
    expect(first.status).toBe(201);
    const again = await post(body('idem'), 'key-1');
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await count('idem')).toBe(1);
  });

  it('refuses the same key for a different request (409), scopes keys per caller, replays errors too', async () => {
    await post(body('idem2'), 'key-2');
    const clash = await post(body('idem3'), 'key-2');
    expect(clash.status).toBe(409);
    expect(clash.body.error.message).toMatch(/different request/);
    expect(await count('idem3')).toBe(0);
    // Another caller with the same key is a different request entirely.
    const other = await post(body('idem4'), 'key-2', t.operatorToken);
    expect(other.status).toBe(201);
    // A 409 (address taken) is replayed as such.
    const dup1 = await post(body('idem2'), 'key-3');
    const dup2 = await post(body('idem2'), 'key-3');
    expect([dup1.status, dup2.status]).toEqual([409, 409]);
    expect(dup2.headers['idempotent-replayed']).toBe('true');
    expect((await post(body('idem5'), 'bad key with spaces')).status).toBe(400);
  });

  it('without a key, POSTs are not deduplicated', async () => {
    expect((await post(body('nokey'))).status).toBe(201);
    expect((await post(body('nokey'))).status).toBe(409);
  });
});
