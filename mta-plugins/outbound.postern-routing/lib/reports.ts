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

export const REPORT_DELAY_MS = 250;

export type ReportCall = ((method: 'outbound.events', params: { events: OutboundEventParams[] }) => Promise<unknown>) & ((method: 'outbound.event', params: OutboundEventParams) => Promise<unknown>);

export class OutboundReports {
  private waiting: OutboundEventParams[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: ReportCall,
    private readonly delayMs = REPORT_DELAY_MS,
  ) {}

  report(event: OutboundEventParams): void {
    if (event.kind === 'delivered') {
      this.waiting.push(event);
      this.timer ??= setTimeout(() => this.flush(), this.delayMs);
      return;
    }
    this.flush();
    this.send('outbound.event', event).catch(() => undefined);
  }

  /** Sends the waiting delivery reports now (one call). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.waiting.length) return;
    const events = this.waiting;
    this.waiting = [];
    this.send('outbound.events', { events }).catch(() => undefined);
  }
}
