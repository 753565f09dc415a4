/**
 * Reads a transaction's message once into memory (Haraka spools big ones to disk; our limit is
 * POSTERN_MAX_MESSAGE_SIZE) and caches it beside the transaction for the later hooks. Header
 * lines that plugins add (Authentication-Results, DKIM-Signature) are kept there too and
 * prepended when the final bytes are built.
 *
 * Beside, not in `txn.notes` (issue 18): Haraka's outbound queue writes the notes as JSON into
 * every queue file's header and parses them back at delivery, and a Buffer in the notes became
 * one array element per byte there (tens of KB of JSON per relayed message, for nothing).
 */
import { Writable } from 'node:stream';
import type { HarakaTransaction } from './haraka.js';

interface Notes {
  raw?: Buffer;
  prepend?: string[];
}

/** By transaction object (Haraka keeps one per SMTP transaction); gone with it. */
const byTransaction = new WeakMap<HarakaTransaction, Notes>();

function notes(txn: HarakaTransaction): Notes {
  let n = byTransaction.get(txn);
  if (!n) {
    n = {};
    byTransaction.set(txn, n);
  }
  return n;
}

export function readMessage(txn: HarakaTransaction): Promise<Buffer> {
  const n = notes(txn);
  if (n.raw) return Promise.resolve(n.raw);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
      final(cb) {
        n.raw = Buffer.concat(chunks);
        cb();
        resolve(n.raw);
      },
    });
    sink.on('error', reject);
    (txn.message_stream as unknown as NodeJS.EventEmitter).once('error', reject);
    txn.message_stream.pipe(sink, { line_endings: '\r\n' });
  });
}

/** Replaces the cached received bytes (a plugin that must rewrite them, e.g. to drop forged header fields). */
export async function rewriteMessage(txn: HarakaTransaction, fn: (raw: Buffer) => Buffer): Promise<void> {
  const n = notes(txn);
  n.raw = fn(await readMessage(txn));
}

/** Adds a header line (without CRLF) to be placed at the top of the stored/relayed message. */
export function prependHeader(txn: HarakaTransaction, name: string, value: string): void {
  (notes(txn).prepend ??= []).unshift(`${name}: ${value}`);
}

/** Adds already formatted header lines (CRLF-terminated, possibly folded) at the top. */
export function prependRaw(txn: HarakaTransaction, lines: string): void {
  const text = lines.replace(/\r?\n/g, '\r\n').replace(/(\r\n)+$/, '');
  if (text) (notes(txn).prepend ??= []).unshift(text);
}

/** The message as it leaves Haraka: prepended headers, then the received bytes. */
export async function finalMessage(txn: HarakaTransaction): Promise<Buffer> {
  const raw = await readMessage(txn);
  const pre = notes(txn).prepend;
  if (!pre?.length) return raw;
  return Buffer.concat([Buffer.from(pre.map((l) => `${l}\r\n`).join(''), 'utf8'), raw]);
}
