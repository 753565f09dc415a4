/**
 * The outbound queue's delivery reports leave together (issue 18, eleventh round:
 * mta-plugins/outbound.postern-routing/lib/reports.ts): the deliveries of a quarter second in one
 * `outbound.events` call instead of one call each; a deferral or bounce at once, after the
 * deliveries waiting before it (so the appliance hears them in order). The appliance's handler
 * treats each batched report exactly as a single one: logged, counted, kept for the queue view.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../appliance/logger.js';
import { lastOutboundError } from '../../appliance/mta/outbound-queue.js';
import { type MtaDeps, mtaRpcHandlers } from '../../appliance/mta/rpc-handlers.js';
import type { OutboundEventParams } from '../../appliance/rpc/protocol.js';
import { OutboundReports, REPORT_DELAY_MS, type ReportCall } from '../../mta-plugins/outbound.postern-routing/lib/reports.js';

const ev = (kind: OutboundEventParams['kind'], queueId: string, detail = ''): OutboundEventParams => ({ kind, queueId, domain: 'remote.example', detail });

function recorder() {
  const calls: Array<[string, unknown]> = [];
  const send = ((method: string, params: unknown) => {
    calls.push([method, params]);
    return Promise.resolve(null);
  }) as ReportCall;
  return { calls, send };
}

describe('outbound delivery reports', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the deliveries of a quarter second in one call', () => {
    vi.useFakeTimers();
    const { calls, send } = recorder();
    const reports = new OutboundReports(send);
    for (let i = 0; i < 50; i++) reports.report(ev('delivered', `q${i}`));
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(REPORT_DELAY_MS);
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]).toBe('outbound.events');
    expect((calls[0]![1] as { events: OutboundEventParams[] }).events.map((e) => e.queueId)).toEqual(Array.from({ length: 50 }, (_, i) => `q${i}`));
    vi.advanceTimersByTime(REPORT_DELAY_MS * 4);
    expect(calls).toHaveLength(1); // nothing more waiting: no empty call
  });

  it('sends a deferral or a bounce at once, after the deliveries waiting before it', () => {
    vi.useFakeTimers();
    const { calls, send } = recorder();
    const reports = new OutboundReports(send);
    reports.report(ev('delivered', 'q1'));
    reports.report(ev('deferred', 'q1', 'retry in 60 s'));
    reports.report(ev('bounced', 'q2', 'no such user'));
    expect(calls.map(([m, p]) => [m, m === 'outbound.events' ? (p as { events: OutboundEventParams[] }).events.map((e) => e.kind) : (p as OutboundEventParams).kind])).toEqual([
      ['outbound.events', ['delivered']],
      ['outbound.event', 'deferred'],
      ['outbound.event', 'bounced'],
    ]);
    vi.advanceTimersByTime(REPORT_DELAY_MS);
    expect(calls).toHaveLength(3);
  });

  it("the appliance's handler logs, counts and keeps every batched report as it does a single one", async () => {
    const lines: Array<{ event?: string; queueId?: string }> = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const logger = createLogger('info', { destination });
    const handlers = mtaRpcHandlers({ logger, sending: { epoch: null } } as unknown as MtaDeps);
    await handlers['outbound.event']!(ev('deferred', 'r11-a', 'retry in 60 s'));
    expect(lastOutboundError('r11-a', 'remote.example')?.detail).toBe('retry in 60 s');
    await handlers['outbound.events']!({ events: [ev('delivered', 'r11-a'), ev('deferred', 'r11-b', '451 try later'), ev('delivered', 'r11-c')] });
    expect(lastOutboundError('r11-a', 'remote.example')).toBeNull(); // delivered since
    expect(lastOutboundError('r11-b', 'remote.example')?.detail).toBe('451 try later');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((l) => l.queueId?.startsWith('r11-')).map((l) => [l.event, l.queueId])).toEqual([
      ['smtp.outbound.deferred', 'r11-a'],
      ['smtp.outbound.delivered', 'r11-a'],
      ['smtp.outbound.deferred', 'r11-b'],
      ['smtp.outbound.delivered', 'r11-c'],
    ]);
  });
});
