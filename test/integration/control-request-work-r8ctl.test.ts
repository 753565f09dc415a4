/**
 * Per-request work of the control plane's serving loop that does not depend on the request
 * (issue 18, eighth round): a request's `req.log` child logger is made only when the request
 * writes a line through it (control/plugins/request-log.ts requestLogger), and the bearer token
 * is hashed one-shot (appliance/core/kernel/ids.ts sha256Hex) with the same digest as before.
 */
import { createHash } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import { requestLogger } from '../../control/plugins/request-log.js';
import { createLogger } from '../../appliance/logger.js';
import { sha256Hex } from '../../appliance/core/kernel/ids.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

function sink(): { lines: () => Array<Record<string, unknown>>; stream: { write(chunk: string): void } } {
  const out: string[] = [];
  return {
    stream: { write: (chunk: string) => void out.push(chunk) },
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('a request’s logger', () => {
  it('is the app logger’s child with the request id, made at its first line only', () => {
    const s = sink();
    const app = createLogger('info', { destination: s.stream as unknown as pino.DestinationStream }).child({ service: 'control' });
    const child = vi.spyOn(app, 'child');
    const log = requestLogger(app, { reqId: 'r1' }, {});
    expect(log.level).toBe('info');
    expect(child).not.toHaveBeenCalled();
    log.debug({ event: 'x' }, 'below the level');
    log.warn({ event: 'control.request.error', token: 'secret' }, 'request failed');
    log.info('plain %s', 'text');
    expect(child).toHaveBeenCalledTimes(1);
    expect(s.lines()).toEqual([
      expect.objectContaining({ service: 'control', reqId: 'r1', event: 'control.request.error', token: '[redacted]', msg: 'request failed', level: 40 }),
      expect.objectContaining({ service: 'control', reqId: 'r1', msg: 'plain text', level: 30 }),
    ]);
  });

  it('keeps a route’s own level', () => {
    const s = sink();
    const app = createLogger('info', { destination: s.stream as unknown as pino.DestinationStream });
    const log = requestLogger(app, { reqId: 'r2' }, { level: 'debug' });
    expect(log.level).toBe('debug');
    log.debug('shown');
    expect(s.lines()).toEqual([expect.objectContaining({ reqId: 'r2', msg: 'shown', level: 20 })]);
    expect((log.child({ a: 1 }) as FastifyBaseLogger).level).toBe('debug');
  });
});

describe('the protected API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers requests without making a child logger for each', async () => {
    const child = vi.spyOn(t.app.log, 'child');
    for (let i = 0; i < 5; i++) expect((await t.call('GET', '/api/v1/tenants')).status).toBe(200);
    expect((await t.call('GET', '/api/v1/tenants', { token: 'pst_not_a_known_token_at_all' })).status).toBe(401);
    expect(child).not.toHaveBeenCalled();
    child.mockRestore();
  });
});

describe('sha256Hex', () => {
  it.each(['', 'pst_abc', 'é und ü', 'x'.repeat(600)])('is the hex SHA-256 of the UTF-8 text (%#)', (text) => {
    expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  });
});
