/**
 * The received bytes a plugin reads (mta-plugins/shared/message.ts) are kept beside Haraka's
 * transaction, not in its notes (issue 18): Haraka's outbound queue writes the notes as JSON into
 * each queue file's header, where a Buffer became one array element per byte. Checked with
 * Haraka's own transaction and its own queue-file header writer.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { HarakaTransaction } from '../../mta-plugins/shared/haraka.js';
import { finalMessage, prependHeader, readMessage } from '../../mta-plugins/shared/message.js';

const require = createRequire(path.join(process.cwd(), 'package.json')); // Haraka's CommonJS modules, resolved from the project root
const { createTransaction } = require('Haraka/transaction') as { createTransaction(uuid: string, cfg: unknown): HarakaTransaction & { add_data(line: Buffer): void; end_data(cb: () => void): void } };
const outbound = require('Haraka/outbound/index.js') as { build_todo(todo: unknown, ws: NodeJS.WritableStream, more: () => void): void };
const TODOItem = require('Haraka/outbound/todo') as new (domain: string, rcpts: unknown[], txn: unknown) => object;

const BODY = 'a line of the body that must not be copied into the queue header '.repeat(60);

async function received() {
  const txn = createTransaction('NOTES-1', { main: {}, headers: { max_lines: 1000, max_size: 1_000_000 } });
  for (const line of ['From: a@notes.test', 'To: b@x.example', 'Subject: notes', '', BODY]) txn.add_data(Buffer.from(`${line}\r\n`));
  await new Promise<void>((resolve) => txn.end_data(() => resolve()));
  return txn;
}

/** The JSON header Haraka writes at the start of a queue file for `txn` (outbound build_todo). */
function queueHeader(txn: HarakaTransaction): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const ws = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    outbound.build_todo(new TODOItem('x.example', [], txn), ws, () => {
      const buf = Buffer.concat(chunks);
      resolve(buf.subarray(4, 4 + buf.readUInt32BE(0)).toString('utf8'));
    });
  });
}

describe('the received bytes beside the transaction', () => {
  it('are read once, prepended to, and stay out of the queue file header', async () => {
    const txn = await received();
    const raw = await readMessage(txn);
    expect(raw.toString()).toContain(BODY);
    expect(await readMessage(txn)).toBe(raw); // cached: the same buffer
    prependHeader(txn, 'X-Test', 'one');
    const final = await finalMessage(txn);
    expect(final.toString()).toBe(`X-Test: one\r\n${raw.toString()}`);
    const header = await queueHeader(txn);
    expect(header.length).toBeLessThan(2_000);
    expect(header).not.toContain('"Buffer"');
    expect(header).not.toContain('X-Test');
  });
});
