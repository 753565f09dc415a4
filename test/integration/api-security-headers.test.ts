/**
 * Issue 13: HSTS when the control plane serves HTTPS; every API answer (tokens, app passwords,
 * setup links travel in them) with `Cache-Control: no-store` and `nosniff`; the API docs page
 * with a strict CSP and not frameable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

describe('HTTP security headers', () => {
  it('API answers are not cached or sniffed: success, error, public and the new app password', async () => {
    const a = await provisionTenant(t, 'Headers', 'headers.example');
    const mb = await provisionMailbox(t, a.domainId, 'alice', {}, a.token);
    const setup = await t.call('POST', `/api/v1/setup/${mb.setup.token}`, { token: null, body: { password: 'Correct-Horse-42-Battery' } });
    expect(setup.status).toBe(204);
    expect(setup.headers['cache-control']).toBe('no-store');
    const responses = [
      await t.call('GET', '/api/v1/tenants'),
      await t.call('GET', '/api/v1/tenants', { token: 'wrong' }),
      await t.call('POST', '/api/v1/tenants', { raw: '{' }),
      await t.call('GET', '/api/v1/openapi.json', { token: null }),
      await t.call('POST', `/api/v1/mailboxes/${mb.id}/app-passwords`, { token: a.token, body: { name: 'phone', scopes: ['imap'] } }),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 401, 400, 200, 201]);
    for (const r of responses) {
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    // Plain HTTP here: no HSTS (it would be ignored and wrongly cached by nothing).
    expect(responses[0]!.headers['strict-transport-security']).toBeUndefined();
  });

  it('the docs page and its script carry a CSP and cannot be framed', async () => {
    for (const url of ['/api/v1/docs', '/api/v1/docs/docs.js']) {
      const r = await t.app.inject({ method: 'GET', url });
      expect(r.statusCode).toBe(200);
      expect(String(r.headers['content-security-policy'])).toMatch(/frame-ancestors 'none'/);
      expect(String(r.headers['content-security-policy'])).toMatch(/default-src 'none'/);
      expect(String(r.headers['content-security-policy'])).toMatch(/script-src 'self'/);
      expect(r.headers['x-frame-options']).toBe('DENY');
    }
  });

  it('HSTS on every answer when the control plane serves HTTPS', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const forge = await import('node-forge');
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    cert.serialNumber = '01';
    cert.validity.notBefore = new Date();
    cert.validity.notAfter = new Date(Date.now() + 86400_000);
    cert.setSubject([{ name: 'commonName', value: 'mx.postern.test' }]);
    cert.setIssuer([{ name: 'commonName', value: 'mx.postern.test' }]);
    cert.sign(forge.pki.privateKeyFromPem(keys.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string), forge.md.sha256.create());
    const tls = { key: keys.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string, cert: forge.pki.certificateToPem(cert) };
    const s = await createTestApp({ env: { POSTERN_HTTP_TLS: 'true' }, tls });
    try {
      for (const url of ['/api/v1/tenants', '/healthz', '/']) {
        const r = await s.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${s.operatorToken}` } });
        expect(r.headers['strict-transport-security'], url).toMatch(/^max-age=\d{7,}/);
      }
    } finally {
      await s.close();
    }
  });
});
