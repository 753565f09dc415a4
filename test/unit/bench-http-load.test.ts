/**
 * The control case's load client (scripts/bench/http-load.ts, issue 18): where an HTTP/1.1 answer
 * ends in the bytes read so far (Content-Length, chunked, no body), and a kept-alive connection
 * that sends requests one after the other and gets each answer whole, against a real Fastify
 * server on a loopback port (large bodies arrive in several reads).
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerLength, LoadConnection, statusOf } from '../../scripts/bench/http-load.js';
import { freePorts } from '../helpers/ports.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('answerLength', () => {
  const cases: Array<[string, string, number]> = [
    ['headers not complete', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n', -1],
    ['body not complete', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc', -1],
    ['body complete', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc', 41],
    ['the next answer after it', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 204', 41],
    ['no body', 'HTTP/1.1 204 No Content\r\nx: y\r\n\r\n', 33],
    ['chunked, not complete', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', -1],
    ['chunked, complete', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 60],
    ['chunked, empty', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 52],
  ];
  it.each(cases)('%s', (_name, text, end) => {
    expect(answerLength(b(text))).toBe(end);
  });

  it('reads the status code', () => {
    expect(statusOf(b('HTTP/1.1 404 Not Found\r\n\r\n'))).toBe(404);
  });
});

describe('LoadConnection', () => {
  const app = Fastify();
  let port = 0;
  const seen: Array<{ url: string; auth: string | undefined }> = [];
  beforeAll(async () => {
    app.get('/small', async (req) => {
      seen.push({ url: req.url, auth: req.headers.authorization });
      return { ok: true };
    });
    // about 600 KB: several socket reads
    app.get('/large', async () => Array.from({ length: 20_000 }, (_, i) => ({ id: `mbx_${i}`, n: i })));
    app.get('/missing', async (_req, reply) => reply.code(404).send({ error: 'no' }));
    app.get('/stream', async (_req, reply) => {
      reply.raw.writeHead(200, { 'content-type': 'text/plain' });
      reply.raw.write('part one,');
      reply.raw.end('part two');
      return reply;
    });
    [port] = await freePorts(1);
    await app.listen({ host: '127.0.0.1', port });
  });
  afterAll(() => app.close());

  it('sends requests one after the other on one connection, each answered whole', async () => {
    const c = await LoadConnection.open('127.0.0.1', port, { authorization: 'Bearer t0k' });
    try {
      const answers = [];
      for (const path of ['/small?a=1', '/large', '/missing', '/stream', '/small?a=2', '/large']) answers.push(await c.get(path));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 404, 200, 200, 200]);
      for (const a of answers) expect(a.ms).toBeGreaterThanOrEqual(0);
      expect(seen).toEqual([
        { url: '/small?a=1', auth: 'Bearer t0k' },
        { url: '/small?a=2', auth: 'Bearer t0k' },
      ]);
    } finally {
      c.close();
    }
  });

  it('refuses a second request while one is answered, and fails one whose connection closes', async () => {
    const c = await LoadConnection.open('127.0.0.1', port, {});
    const first = c.get('/large');
    await expect(c.get('/small')).rejects.toThrow('one request at a time');
    expect((await first).status).toBe(200);
    const pending = c.get('/large');
    c.close();
    await expect(pending).rejects.toThrow();
  });
});
