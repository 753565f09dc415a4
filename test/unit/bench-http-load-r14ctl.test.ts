/**
 * The control case's load client reads the length of an answer from the bytes of node's
 * `content-length: ` line (scripts/bench/http-load.ts, issue 18, fourteenth round), and falls back
 * to reading the header text for any other spelling.
 */
import { describe, expect, it } from 'vitest';
import { answerLength, warmUpLoadClient } from '../../scripts/bench/http-load.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('answerLength, node spelling', () => {
  const cases: Array<[string, string, number]> = [
    ['complete', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\nx: y\r\n\r\nabc', 47],
    ['body not complete', 'HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\nabc', -1],
    ['last header line', 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789HTTP/1.1', 49],
    ['zero', 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200', 38],
    // a line of the same bytes in the body is not the header: the answer is read by its head's own header
    ['the line in the body only', 'HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\n\r\ncontent-length: 99\r\n\r\n', 61],
    ['not a number', 'HTTP/1.1 200 OK\r\ncontent-length: x\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', 71],
  ];
  it.each(cases)('%s', (_name, text, end) => {
    expect(answerLength(b(text))).toBe(end);
  });
});

describe('warmUpLoadClient', () => {
  it('answers every request of the warm-up from its own canned server, over several connections', async () => {
    // large answers arrive in several reads: the client's multi-read path runs too
    expect(await warmUpLoadClient({ clients: 5, requests: 40, answerBytes: 200_000, headers: { authorization: 'Bearer t0k' } })).toBe(40);
  });
});
