/**
 * startControlServer: listens on config.listenHost:config.ports.http, HTTPS with deps.tls when
 * config.httpTls, closes cleanly.
 */
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../appliance/config.js';
import { createLogger } from '../../appliance/logger.js';
import { startControlServer } from '../../control/server.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function selfSigned(): { key: string; cert: string } {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const attrs = [{ name: 'commonName', value: 'mx.postern.test' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { key: forge.pki.privateKeyToPem(keys.privateKey), cert: forge.pki.certificateToPem(cert) };
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

async function configFor(httpTls: boolean) {
  return loadConfig({ POSTERN_DATA_DIR: t.dir, POSTERN_LOG_LEVEL: 'silent', POSTERN_HOSTNAME: 'mx.postern.test', POSTERN_HTTP_PORT: String(await freePort()), POSTERN_HTTP_TLS: String(httpTls) });
}

describe('startControlServer', () => {
  it('serves HTTP on the configured host and port and closes', async () => {
    const config = await configFor(false);
    const server = await startControlServer({ core: t.core, config, logger: createLogger('silent', { pretty: false }), health: async () => ({ database: { ok: true } }), tls: { key: '', cert: '' } });
    try {
      expect(server.url).toBe(`http://127.0.0.1:${config.ports.http}`);
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(200);
      const api = await fetch(`${server.url}/api/v1/tenants`, { headers: { authorization: `Bearer ${t.operatorToken}` } });
      expect(api.status).toBe(200);
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('serves HTTPS with deps.tls when config.httpTls', async () => {
    const config = await configFor(true);
    const tls = selfSigned();
    const server = await startControlServer({ core: t.core, config, logger: createLogger('silent', { pretty: false }), health: async () => ({}), tls });
    try {
      expect(server.url).toBe(`https://127.0.0.1:${config.ports.http}`);
      const { status, cert } = await new Promise<{ status: number; cert: string }>((resolve, reject) => {
        const req = httpsRequest(`${server.url}/healthz`, { rejectUnauthorized: false }, (res) => {
          const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, cert: peer.subject.CN as string }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(200);
      expect(cert).toBe('mx.postern.test');
    } finally {
      await server.close();
    }
  });
});
