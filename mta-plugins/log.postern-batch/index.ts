/**
 * Haraka's log lines leave in batches (issue 18). Haraka writes each line to stdout by itself,
 * and stdout is a pipe to the appliance (its supervisor reads the lines into the appliance log):
 * a synchronous write per line, five or more per message. This plugin takes every line (OK ends
 * the log hooks, so Haraka does not write it too) and writes what one turn of the event loop
 * logged in one write, at the next turn; lines still waiting when the process exits are written
 * then. The lines and their order are unchanged. With several Haraka processes all of them write
 * into the same pipe: each write is at most PIPE_BUF (4,096 bytes) of whole lines, which the
 * kernel never interleaves with another process's write, so no line is cut by another's.
 */
import { type Next, OK } from '../shared/haraka.js';

let pending: string[] = [];
let scheduled = false;

const PIPE_BUF = 4096;

function flush(): void {
  scheduled = false;
  if (!pending.length) return;
  const lines = pending;
  pending = [];
  let chunk = '';
  let bytes = 0;
  for (const line of lines) {
    const n = Buffer.byteLength(line) + 1;
    if (bytes && bytes + n > PIPE_BUF) {
      process.stdout.write(chunk);
      chunk = '';
      bytes = 0;
    }
    chunk += `${line}\n`;
    bytes += n;
  }
  if (chunk) process.stdout.write(chunk);
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
