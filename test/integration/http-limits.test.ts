/**
 * Issue 13: the control plane's listener has per-address and global connection caps like the
 * SMTP and IMAP listeners. A connection over a cap gets a clear `503` (Connection: close) before
 * any routing or authentication, a well-behaved client from another address is served at the
 * same time, closed connections free their slots, and every refusal shows in /metrics.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMetrics } from '../../appliance/metrics.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let port: number;
const open: Socket[] = [];

beforeAll(async () => {
  t = await createTestApp({ env: { POSTERN_HTTP_MAX_CONNECTIONS_PER_IP: '3', POSTERN_HTTP_MAX_CONNECTIONS: '5' } });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as { port: number }).port;
});
afterAll(async () => {
  for (const s of open) s.destroy();
  await t.close();
});

/** An idle connection from `from` (a loopback address), open once the server has accepted it. */
async function hold(from: string): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port, localAddress: from });
  await new Promise<void>((resolve, reject) => s.once('connect', () => resolve()).once('error', reject));
  open.push(s);
  await new Promise((r) => setTimeout(r, 20));
  return s;
}

/** One GET /healthz on a fresh connection from `from`: the status line and headers, and how long it took. */
async function get(from: string): Promise<{ head: string; ms: number }> {
  const started = performance.now();
  const s = connect({ host: '127.0.0.1', port, localAddress: from });
  const text = await new Promise<string>((resolve, reject) => {
    let got = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    s.on('data', (d: string) => (got += d));
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
  return { head: text.split('\r\n\r\n')[0]!, ms: performance.now() - started };
}

describe('control plane connection limits', () => {
  it('refuses a fourth connection from one address with 503 while another address is served', async () => {
    for (let i = 0; i < 3; i++) await hold('127.0.0.2');
    const refused = await get('127.0.0.2');
    expect(refused.head).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused.head.toLowerCase()).toContain('connection: close');
    const canary = await get('127.0.0.3');
    expect(canary.head).toMatch(/^HTTP\/1\.1 200 /);
    console.log(`canary /healthz while 127.0.0.2 is at its cap: ${canary.ms.toFixed(1)} ms`);
  });

  it('refuses any address once the listener holds its global cap, and serves again when connections close', async () => {
    const more = [await hold('127.0.0.4'), await hold('127.0.0.4')];
    const refused = await get('127.0.0.5');
    expect(refused.head).toMatch(/^HTTP\/1\.1 503 /);
    for (const s of more) s.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await get('127.0.0.5')).head).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('counts the refusals and shows the configured limits in /metrics', async () => {
    const text = (await renderMetrics()).body;
    expect(text).toMatch(/postern_http_limit_refusals_total\{limit="per-ip"\} [1-9]/);
    expect(text).toMatch(/postern_http_limit_refusals_total\{limit="max-connections"\} [1-9]/);
    expect(text).toMatch(/postern_http_limit\{setting="max_connections_per_ip"\} 3/);
    expect(text).toMatch(/postern_http_connections \d+/);
  });
});
