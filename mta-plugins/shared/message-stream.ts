/**
 * No spool-file clean-up for a message that never reached the disk (issue 18). Haraka's message
 * stream (haraka-message-stream) keeps a message in memory until it passes `spool_after` bytes
 * (connection.ini) and only then writes a spool file, but its destroy(), run when every
 * transaction is reset, unlinks the spool file's name in any case: one thread-pool unlink and
 * one ENOENT error per message for nothing. Here destroy() skips that when the stream certainly
 * opened no file: it never spooled and fewer than `spool_after` bytes went through it (the stream
 * opens its file only once its buffered bytes reach that bound, and its byte count only grows).
 * Otherwise, or when the stream does not look as expected, its own destroy() runs.
 */
import { createRequire } from 'node:module';

/** haraka-message-stream's bound when connection.ini does not set one (25 MiB). */
const SPOOL_AFTER_DEFAULT = 25 * 1024 * 1024;

interface StreamState {
  total_buffered?: unknown;
  spooling?: unknown;
}

type Destroy = (this: StreamState) => void;

const patched = new WeakSet<object>();

/**
 * The stream's byte bound as haraka-message-stream reads `spool_after`: unset is the default,
 * -1 never spools; null when the value is not one we can be sure of (then nothing is skipped).
 */
export function spoolAfterBytes(raw: unknown): number | null {
  if (raw === undefined || raw === null || raw === '') return SPOOL_AFTER_DEFAULT;
  const n = Number(raw);
  if (n === -1) return Infinity;
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/** Wraps `proto.destroy` once (returns false when it was already, or cannot be). */
export function skipNeedlessUnlink(proto: { destroy?: unknown }, spoolAfter: number | null): boolean {
  if (spoolAfter === null || patched.has(proto) || typeof proto.destroy !== 'function') return false;
  const destroy = proto.destroy as Destroy;
  proto.destroy = function (this: StreamState) {
    if (this.spooling === false && typeof this.total_buffered === 'number' && this.total_buffered < spoolAfter) return;
    destroy.call(this);
  };
  patched.add(proto);
  return true;
}

/**
 * Applies it to the message stream class Haraka's transactions use (resolved from Haraka's own
 * transaction module, so it is that very class), with Haraka's connection.ini bound.
 */
export function skipNeedlessUnlinkInHaraka(connectionIni: { main?: { spool_after?: unknown } } | undefined): boolean {
  try {
    const fromHaraka = createRequire(require.resolve('Haraka/transaction.js'));
    const message = fromHaraka('haraka-email-message') as { stream?: { prototype?: { destroy?: unknown } } };
    const proto = message.stream?.prototype;
    return proto ? skipNeedlessUnlink(proto, spoolAfterBytes(connectionIni?.main?.spool_after)) : false;
  } catch {
    return false;
  }
}
