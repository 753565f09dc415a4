/**
 * The control plane's slices of the serving loop (control/plugins/turn-budget.ts, issue 18): a
 * batch of requests ready in one turn runs in slices of the budget, in the order it came, and
 * the loop's timers run between the slices instead of after the whole batch.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { installTurnBudget, TurnBudget } from '../../control/plugins/turn-budget.js';

/** Holds the thread for `ms` (a request's synchronous work). */
function work(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('turn budget (r13ctl)', () => {
  it('spreads a batch over turns of the loop, first come first run, timers between the slices', async () => {
    const budget = new TurnBudget(5);
    const ran: string[] = [];
    let left = 20;
    const done = new Promise<void>((resolve) => {
      // a timer due at once: with the whole batch in one turn it would run after all 20 requests
      setTimeout(() => ran.push('timer'), 0);
      for (let i = 0; i < 20; i++)
        budget.admit(() => {
          work(1);
          ran.push(`r${i}`);
          if (--left === 0) resolve();
        });
    });
    // the first slice ran its share synchronously, within the budget (and one request past it at most)
    const first = ran.length;
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThanOrEqual(6);
    await done;
    const requests = ran.filter((r) => r !== 'timer');
    expect(requests).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
    const timerAt = ran.indexOf('timer');
    expect(timerAt).toBeGreaterThanOrEqual(first);
    expect(timerAt).toBeLessThan(ran.length - 1);
  });

  it('runs every request at once while the slice has time left', () => {
    let t = 0;
    const budget = new TurnBudget(5, () => t);
    const ran: number[] = [];
    for (let i = 0; i < 5; i++) budget.admit(() => ran.push(i)); // no time passes: all within the slice
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    t = 5;
    budget.admit(() => ran.push(5)); // the slice is spent: this one waits for the next turn
    expect(ran).toHaveLength(5);
  });

  it('answers every request of a concurrent batch through Fastify', async () => {
    const app = Fastify();
    installTurnBudget(app, 2);
    let n = 0;
    app.get('/x', async () => {
      work(0.5);
      return { n: ++n };
    });
    await app.ready();
    const answers = await Promise.all(Array.from({ length: 40 }, () => app.inject({ method: 'GET', url: '/x' })));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(40).fill(200));
    expect(answers.map((a) => (a.json() as { n: number }).n).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await app.close();
  });
});
