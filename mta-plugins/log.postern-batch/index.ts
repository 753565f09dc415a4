/**
 * Haraka's log lines leave in batches (issue 18). Haraka writes each line to stdout by itself,
 * and stdout is a pipe to the appliance (its supervisor reads the lines into the appliance log):
 * a synchronous write per line, six per inbound message. This plugin takes every line (OK ends
 * the log hooks, so Haraka does not write it too) and writes what gathered in one write, at most
 * FLUSH_MS after the first waiting line, or at the next turn of the event loop once FLUSH_BYTES
 * wait (a protocol trace); lines still waiting when the process exits are written then. The
 * lines and their order are unchanged.
 *
 * Not once per turn (fourteenth round): each write wakes the appliance, and on a busy machine a
 * woken process takes the core from Haraka's one event loop, which then waits to run again
 * while every session waits for it. A turn rarely logs more than one session's line, so that
 * was about one write (and one wake-up of the appliance, which then writes its own log) per line.
 *
 * With several Haraka processes all of them write into the same pipe: each write is at most
 * PIPE_BUF (4,096 bytes) of whole lines, which the kernel never interleaves with another
 * process's write, so no line is cut by another's.
 */
import { type Next, OK } from '../shared/haraka.js';

/** How long a line may wait for others (a log line reaches the appliance this much later at most). */
export const FLUSH_MS = 50;
/** Waiting bytes that are written at the next turn without waiting FLUSH_MS (well below a pipe's 64 KiB). */
export const FLUSH_BYTES = 16 * 1024;

let pending: string[] = [];
let pendingBytes = 0;
let timer: NodeJS.Timeout | null = null;
let immediate: NodeJS.Immediate | null = null;

const PIPE_BUF = 4096;

function flush(): void {
  if (timer) clearTimeout(timer);
  if (immediate) clearImmediate(immediate);
  timer = null;
  immediate = null;
  if (!pending.length) return;
  const lines = pending;
  pending = [];
  pendingBytes = 0;
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
  const line = String(item?.data ?? '');
  pending.push(line);
  pendingBytes += line.length + 1;
  if (pendingBytes >= FLUSH_BYTES) immediate ??= setImmediate(flush);
  else if (!timer) {
    // Unreferenced: waiting lines never keep Haraka alive (they are written at exit).
    timer = setTimeout(flush, FLUSH_MS);
    timer.unref();
  }
  next(OK);
}
