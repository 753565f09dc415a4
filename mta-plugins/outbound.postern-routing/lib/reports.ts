/**
 * The outbound queue's reports to the appliance (issue 18). A delivery report went out as one
 * call per relayed message (`outbound.event`: a JSON message each way on the channel, the answer
 * parsed here); now the deliveries of a quarter second leave in one call (`outbound.events`). A
 * deferral or a bounce still goes at once, right after the deliveries waiting before it, so the
 * appliance hears every message's reports in the order they happened (a deferral of part of a
 * message's recipients follows its delivery report). Deliveries reported in the last quarter
 * second before Haraka dies are not heard (their messages were delivered all the same).
 */
import type { OutboundEventParams } from '../../../appliance/rpc/protocol.js';
import { DelayedBatch } from '../../shared/delayed-batch.js';

export const REPORT_DELAY_MS = 250;

export type ReportCall = ((method: 'outbound.events', params: { events: OutboundEventParams[] }) => Promise<unknown>) & ((method: 'outbound.event', params: OutboundEventParams) => Promise<unknown>);

export class OutboundReports {
  private readonly batch: DelayedBatch<OutboundEventParams>;

  constructor(
    private readonly send: ReportCall,
    delayMs = REPORT_DELAY_MS,
  ) {
    this.batch = new DelayedBatch((events) => void this.send('outbound.events', { events }).catch(() => undefined), delayMs);
  }

  report(event: OutboundEventParams): void {
    if (event.kind === 'delivered') return this.batch.add(event);
    this.batch.flush();
    this.send('outbound.event', event).catch(() => undefined);
  }

  /** Sends the waiting delivery reports now (one call). */
  flush(): void {
    this.batch.flush();
  }
}
