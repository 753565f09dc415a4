/**
 * Reports to the appliance gathered for a moment and sent as one call (issue 18): the outbound
 * queue's delivery reports and the spam plugin's scan decisions each made one call per message
 * (a JSON message each way on Haraka's channel). Items wait at most `delayMs` after the first;
 * `flush` sends what waits now (before a report that must go at once, so order is kept).
 */
export class DelayedBatch<T> {
  private waiting: T[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: (items: T[]) => void,
    private readonly delayMs: number,
  ) {}

  add(item: T): void {
    this.waiting.push(item);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Sends the waiting items now (one call). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.waiting.length) return;
    const items = this.waiting;
    this.waiting = [];
    this.send(items);
  }
}
