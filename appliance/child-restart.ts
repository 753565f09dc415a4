/**
 * What the appliance's supervisors of child processes share (Haraka in mta/supervisor.ts,
 * rspamd and redis in spam/process.ts): restart with exponential back-off after a crash, the
 * back-off reset once a child has run for a minute or reported itself up, and waiting for the
 * child's "up" event with a deadline.
 */
import type { EventEmitter } from 'node:events';

export interface BackoffOptions {
  /** First restart delay; doubles per consecutive crash up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** A child that ran this long before exiting is restarted without the accumulated back-off. */
const STABLE_MS = 60_000;

export class RestartBackoff {
  private consecutiveCrashes = 0;
  private startedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Restarts after crashes since the supervisor was created. */
  restarts = 0;

  constructor(private readonly opts: BackoffOptions) {}

  /** The child was (re)started now. */
  started(): void {
    this.startedAt = Date.now();
  }

  /** The child reported itself up: the next crash starts the back-off from the beginning. */
  up(): void {
    this.consecutiveCrashes = 0;
  }

  /** After a crash: runs `respawn` once the back-off has passed; returns the delay in ms. */
  schedule(respawn: () => void): number {
    if (Date.now() - this.startedAt > STABLE_MS) this.consecutiveCrashes = 0;
    const delay = Math.min(this.opts.maxBackoffMs ?? 30_000, (this.opts.backoffMs ?? 500) * 2 ** this.consecutiveCrashes);
    this.consecutiveCrashes++;
    this.restarts++;
    this.timer = setTimeout(() => {
      this.timer = null;
      respawn();
    }, delay);
    return delay;
  }

  /** No pending restart (the supervisor is stopping). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Resolves on the emitter's next `event`, rejects with `message` after timeoutMs. */
export function nextEvent(emitter: EventEmitter, event: string, timeoutMs: number, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onEvent = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(message));
    }, timeoutMs);
    emitter.once(event, onEvent);
  });
}
