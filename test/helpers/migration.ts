/**
 * Waiting on the IMAP migration runner in tests: the state a job ends in, from the runner's own
 * `finished` event (no polling).
 */
import type { MigrationRunner } from '../../appliance/core/migration/index.js';

/** Resolves with the state (`done`, `failed`, `cancelled`, …) job `id` finishes in. */
export function jobFinished(runner: MigrationRunner, id: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const on = (jid: string, state: string) => {
      if (jid !== id) return;
      runner.events.off('finished', on);
      resolve(state);
    };
    runner.events.on('finished', on);
  });
}
