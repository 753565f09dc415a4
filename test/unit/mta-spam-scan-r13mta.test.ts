/**
 * The spam plugin's calls (issue 18, thirteenth round): the scan goes to rspamd's /checkv2 as
 * one write on a plain socket and its answer is read to its length (mta-plugins/data.postern-spam/
 * lib/rspamd.ts, no node:http), and the decisions whose answer nobody waits for leave a quarter
 * second's worth in one `spam.results` call (lib/reports.ts), which the appliance counts and
 * logs exactly as single `spam.result` calls.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../appliance/logger.js';
import { type MtaDeps, mtaRpcHandlers } from '../../appliance/mta/rpc-handlers.js';
import type { SpamResultParams } from '../../appliance/rpc/protocol.js';
import { registry } from '../../appliance/metrics.js';
import { checkv2, type CheckRequest, ScannerUnavailable } from '../../mta-plugins/data.postern-spam/lib/rspamd.js';
import { REPORT_DELAY_MS, type SpamReportCall, SpamReports } from '../../mta-plugins/data.postern-spam/lib/reports.js';

const servers: Server[] = [];

/** A one-shot server: `answer` gets the whole request (head and body) and the socket. */
async function server(answer: (request: Buffer, socket: Socket) => void): Promise<number> {
  const s = createServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(all.subarray(0, end).toString())![1]);
      if (all.length >= end + 4 + length) answer(all, socket);
    });
    socket.on('error', () => undefined);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

const ANSWER = JSON.stringify({ score: 7.5, required_score: 15, action: 'add header', symbols: { A: { name: 'A', score: 5 }, B: { name: 'B', score: 2.5 } }, messages: { smtp_message: 'hi' } });

function req(port: number, extra: Partial<CheckRequest> = {}): CheckRequest {
  return {
    port,
    timeoutMs: 2000,
    message: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
    ip: '192.0.2.1',
    helo: 'client.example',
    from: 'a@client.example',
    rcpts: ['u1@example.test', 'u2@example.test'],
    queueId: 'Q1',
    deliverTo: 'tenant:t1',
    settings: { actions: { reject: 15 } },
    ...extra,
  };
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('checkv2 on a plain socket', () => {
  it('sends the envelope as headers (one Rcpt each) and the message as the body; reads a Content-Length answer', async () => {
    let seen = '';
    const port = await server((request, socket) => {
      seen = request.toString();
      socket.end(`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(ANSWER)}\r\n\r\n${ANSWER}`);
    });
    const r = await checkv2(req(port));
    expect(r).toEqual({
      score: 7.5,
      requiredScore: 15,
      action: 'add header',
      symbols: [
        { name: 'A', score: 5 },
        { name: 'B', score: 2.5 },
      ],
      smtpMessage: 'hi',
    });
    const at = seen.indexOf('\r\n\r\n');
    const [head, body] = [seen.slice(0, at), seen.slice(at + 4)];
    const lines = head.split('\r\n');
    expect(lines[0]).toBe('POST /checkv2 HTTP/1.1');
    expect(lines.filter((l) => l.startsWith('Rcpt: '))).toEqual(['Rcpt: u1@example.test', 'Rcpt: u2@example.test']);
    expect(lines).toContain('IP: 192.0.2.1');
    expect(lines).toContain('Helo: client.example');
    expect(lines).toContain('Deliver-To: tenant:t1');
    expect(lines).toContain('Settings: {"actions":{"reject":15}}');
    expect(lines).toContain('Content-Length: 20');
    expect(body).toBe('Subject: x\r\n\r\nbody\r\n');
  });

  it('answers as soon as the Content-Length is read, without waiting for the close', async () => {
    const port = await server((_request, socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(ANSWER)}\r\n\r\n${ANSWER}`));
    expect((await checkv2(req(port))).score).toBe(7.5);
  });

  it('reads a chunked answer and one delimited by the close', async () => {
    const half = ANSWER.length >> 1;
    const chunked = await server((_request, socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${half.toString(16)}\r\n${ANSWER.slice(0, half)}\r\n`);
      setTimeout(() => socket.write(`${(ANSWER.length - half).toString(16)}\r\n${ANSWER.slice(half)}\r\n0\r\n\r\n`), 20);
    });
    expect((await checkv2(req(chunked))).action).toBe('add header');
    const untilClose = await server((_request, socket) => socket.end(`HTTP/1.0 200 OK\r\n\r\n${ANSWER}`));
    expect((await checkv2(req(untilClose))).score).toBe(7.5);
  });

  it('keeps a header line a header line: a HELO with control characters loses them', async () => {
    let seen = '';
    const port = await server((request, socket) => {
      seen = request.toString();
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(ANSWER)}\r\n\r\n${ANSWER}`);
    });
    await checkv2(req(port, { helo: 'evil\r\nSettings: {}\x00' }));
    const head = seen.split('\r\n\r\n')[0]!.split('\r\n');
    expect(head).toContain('Helo: evilSettings: {}');
    expect(head.filter((l) => l.startsWith('Settings:'))).toEqual(['Settings: {"actions":{"reject":15}}']);
  });

  it('fails as ScannerUnavailable on a non-200 answer, a close before the answer, an unreadable body, no listener and a timeout', async () => {
    const status = await server((_r, socket) => socket.end('HTTP/1.1 500 Internal\r\nContent-Length: 2\r\n\r\n{}'));
    await expect(checkv2(req(status))).rejects.toThrow(/HTTP 500/);
    const closes = await server((_r, socket) => socket.destroy());
    await expect(checkv2(req(closes))).rejects.toBeInstanceOf(ScannerUnavailable);
    const short = await server((_r, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"score":'));
    await expect(checkv2(req(short))).rejects.toThrow(/middle of its answer/);
    const garbage = await server((_r, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{x}'));
    await expect(checkv2(req(garbage))).rejects.toThrow(/unreadable rspamd answer/);
    const gone = await server(() => undefined);
    await new Promise((r) => servers.pop()!.close(r));
    await expect(checkv2(req(gone))).rejects.toBeInstanceOf(ScannerUnavailable);
    const silent = await server(() => undefined);
    await expect(checkv2(req(silent, { timeoutMs: 100 }))).rejects.toThrow(/did not answer within 100 ms/);
  });
});

const result = (queueId: string, outcome: SpamResultParams['outcome'] = 'clean', direction: SpamResultParams['direction'] = 'inbound'): SpamResultParams => ({
  direction,
  outcome,
  tenantId: 'r13mta-tenant',
  seconds: 0.01,
  score: 1,
  queueId,
});

describe('spam decisions to the appliance', () => {
  it('sends the decisions of a quarter second in one call, a refusal at once after them', async () => {
    vi.useFakeTimers();
    const calls: Array<[string, unknown]> = [];
    const send = ((method: string, params: unknown) => {
      calls.push([method, params]);
      return Promise.resolve(method === 'spam.result' ? { blocked: true } : null);
    }) as SpamReportCall;
    const reports = new SpamReports(send);
    for (let i = 0; i < 30; i++) reports.later(result(`q${i}`));
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(REPORT_DELAY_MS);
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]).toBe('spam.results');
    expect((calls[0]![1] as { results: SpamResultParams[] }).results.map((r) => r.queueId)).toEqual(Array.from({ length: 30 }, (_, i) => `q${i}`));
    reports.later(result('w1'));
    expect(await reports.now(result('r1', 'reject', 'outbound'))).toEqual({ blocked: true });
    expect(calls.slice(1).map(([m]) => m)).toEqual(['spam.results', 'spam.result']);
    vi.advanceTimersByTime(REPORT_DELAY_MS * 4);
    expect(calls).toHaveLength(3); // nothing more waiting: no empty call
  });

  it("the appliance's handler counts and logs every batched decision as it does a single one", async () => {
    const lines: Array<{ event?: string; queueId?: string }> = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const logger = createLogger('debug', { destination });
    const recorded: string[] = [];
    const limiter = { recordSpam: (mailboxId: string) => (recorded.push(mailboxId), Promise.resolve(false)) };
    const handlers = mtaRpcHandlers({ logger, sending: { epoch: null }, limiter } as unknown as MtaDeps);
    const count = async (outcome: string) => {
      const m = (await registry.getSingleMetric('postern_spam_scans_total')!.get()).values.find((v) => v.labels.outcome === outcome && v.labels.tenant === 'r13mta-tenant');
      return m?.value ?? 0;
    };
    const [clean0, junk0] = [await count('clean'), await count('junk')];
    await handlers['spam.result']!(result('r13-a'));
    await handlers['spam.results']!({ results: [result('r13-b'), result('r13-c', 'junk'), { ...result('r13-d', 'reject', 'outbound'), mailboxId: 'mb1' }] });
    expect(await count('clean')).toBe(clean0 + 2);
    expect(await count('junk')).toBe(junk0 + 1);
    expect(recorded).toEqual(['mb1']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((l) => l.queueId?.startsWith('r13-')).map((l) => [l.event, l.queueId])).toEqual([
      ['smtp.spam.clean', 'r13-a'],
      ['smtp.spam.clean', 'r13-b'],
      ['smtp.spam.junk', 'r13-c'],
      ['smtp.spam.reject', 'r13-d'],
    ]);
  });
});
