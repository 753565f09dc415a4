/**
 * FETCH BODY[] of many messages (issue 18): bodies are read into reused buffers (lent) and
 * gathered into two reused 128 KiB output buffers. A lent message larger than the room left in
 * the output buffer goes through the output buffers in pieces: exact bytes, and no fresh copy of
 * the message (a new buffer per large message cost page faults on every FETCH).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { imapflow, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'lent@fetch.test';
const PASS = 'lent bodies passphrase';
const OUTPUT_BUFFER = 128 * 1024;

function message(i: number, size: number): Buffer {
  const body = randomBytes(Math.ceil(size / 2))
    .toString('hex')
    .slice(0, size)
    .replace(/(.{76})/g, '$1\r\n');
  return Buffer.from(`From: sender${i}@example.org\r\nTo: ${USER}\r\nSubject: lent ${i}\r\nMessage-ID: <lent-${i}@example.org>\r\n\r\n${body}\r\n`);
}

describe('FETCH BODY[] of lent messages larger than an output buffer', () => {
  let env: ImapTestEnv;
  const sent: Buffer[] = [];

  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    const c = imapflow(env, USER, PASS);
    await c.connect();
    // one batch read (under 512 KiB, more than two messages): small ones between messages of 130-200 KB
    const sizes = [900, 135_000, 2_000, 190_000, 40, 150_000, 3_000];
    for (let i = 0; i < sizes.length; i++) {
      sent.push(message(i, sizes[i]!));
      await c.append('INBOX', sent[i]!);
    }
    await c.logout();
  }, 120_000);
  afterAll(async () => env?.close());

  it('sends every message exact, without a fresh copy of any large lent message', async () => {
    const c = imapflow(env, USER, PASS);
    await c.connect();
    const from = vi.spyOn(Buffer, 'from');
    const got = new Map<number, Buffer>();
    try {
      await c.mailboxOpen('INBOX', { readOnly: true });
      from.mockClear();
      for await (const m of c.fetch('1:*', { source: true })) got.set(m.seq, m.source!);
      const largeCopies = from.mock.calls.filter(([v]) => v instanceof Uint8Array && v.length > OUTPUT_BUFFER);
      expect(largeCopies).toHaveLength(0);
    } finally {
      from.mockRestore();
      await c.logout();
    }
    expect(got.size).toBe(sent.length);
    for (let i = 0; i < sent.length; i++) {
      const b = got.get(i + 1)!;
      expect(b.length, `message ${i + 1}`).toBe(sent[i]!.length);
      expect(b.equals(sent[i]!), `message ${i + 1}`).toBe(true);
    }
  }, 60_000);
});
