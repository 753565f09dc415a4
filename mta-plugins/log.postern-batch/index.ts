/**
 * Haraka's log lines leave in batches (issue 18). Haraka writes each line to stdout by itself,
 * and stdout is a pipe to the appliance (its supervisor reads the lines into the appliance log):
 * a synchronous write per line, five or more per message. This plugin takes every line (OK ends
 * the log hooks, so Haraka does not write it too) and writes what one turn of the event loop
 * logged in one write, at the next turn; lines still waiting when the process exits are written
 * then. The lines and their order are unchanged.
 */
import { type Next, OK } from '../shared/haraka.js';

let pending: string[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  if (!pending.length) return;
  const text = `${pending.join('\n')}\n`;
  pending = [];
  process.stdout.write(text);
}

process.on('exit', flush);

export function hook_log(this: unknown, next: Next, _logger: unknown, item: { data?: unknown }): void {
  pending.push(String(item?.data ?? ''));
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
  next(OK);
}
