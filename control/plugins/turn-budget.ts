/**
 * Slices of the serving loop (issue 18: the control plane's longest event-loop stall under 50
 * clients). The control plane shares its event loop with IMAP sessions, the scheduled jobs and
 * the answers of the reader threads. With 50 kept-alive clients, each sending its next request
 * as soon as it has read an answer, the requests of a whole batch are ready in one poll of the
 * loop, and node runs them all before the loop comes back to its timers or to any other socket:
 * one turn of 50 requests' work (first page: 50 x 0.2-1.2 ms on the serving thread, more right
 * after a start while V8 has not compiled the code yet, and a scavenge in the middle of it).
 *
 * A request starts (the first onRequest hook) while the current slice of the loop has spent less
 * than `budgetMs` since its first request; after that the next requests wait for the loop's
 * next check phase (setImmediate), in the order they came, and start a new slice there; what is
 * still waiting when that slice is spent waits for the turn after, once the loop has run its
 * timers and polled its sockets again. No request is refused or reordered: a batch is spread
 * over a few turns of the loop instead of holding it for the whole batch.
 */
import { setImmediate as afterPoll } from 'node:timers';
import type { FastifyInstance } from 'fastify';

/** Milliseconds of request work one slice of the serving loop takes before requests wait for a later turn. */
export const TURN_BUDGET_MS = 5;

export class TurnBudget {
  private sliceStart = 0;
  private inSlice = false;
  private readonly endSlice = () => {
    this.inSlice = false;
  };

  constructor(
    private readonly budgetMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Runs `go` now when this slice of the loop has time left, else in a later turn (first come, first run). */
  admit(go: () => void): void {
    const t = this.now();
    if (!this.inSlice) {
      // the slice ends where the loop reaches its check phase (poll and check are separate slices)
      this.inSlice = true;
      this.sliceStart = t;
      afterPoll(this.endSlice);
    } else if (t - this.sliceStart >= this.budgetMs) {
      afterPoll(() => this.admit(go));
      return;
    }
    go();
  }
}

export function installTurnBudget(app: FastifyInstance, budgetMs = TURN_BUDGET_MS): void {
  const budget = new TurnBudget(budgetMs);
  app.addHook('onRequest', (_req, _reply, done) => budget.admit(done));
}
