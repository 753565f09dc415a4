/**
 * FETCH BODY[] of many messages (issue 18): the bodies are read in batches into reused buffers
 * (mailstore/blob-read-threads.ts) and the responses gathered in reused output buffers. Several
 * sessions fetching at once, with messages from a few bytes to beyond one output buffer and
 * batches that cross, must each get every message's exact bytes: a buffer handed back too early
 * would show another message's bytes here.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imapflow, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'bodies@fetch.test';
const PASS = 'fetch bodies passphrase';

function message(i: number): Buffer {
  // sizes from a few hundred bytes to ~200 KB (beyond a 128 KiB output buffer), mostly small
  const size = i % 11 === 3 ? 150_000 + i * 500 : i % 5 === 0 ? 40_000 + i * 100 : 200 + i * 37;
  const body = randomBytes(Math.ceil(size / 2))
    .toString('hex')
    .slice(0, size)
    .replace(/(.{76})/g, '$1\r\n');
  return Buffer.from(`From: sender${i}@example.org\r\nTo: ${USER}\r\nSubject: body ${i}\r\nMessage-ID: <body-${i}@example.org>\r\n\r\n${body}\r\n`);
}

describe('FETCH BODY[] of many messages', () => {
  let env: ImapTestEnv;
  const sent: Buffer[] = [];

  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    const c = imapflow(env, USER, PASS);
    await c.connect();
    for (let i = 0; i < 48; i++) {
      sent.push(message(i));
      await c.append('INBOX', sent[i]!);
    }
    await c.logout();
  }, 120_000);
  afterAll(async () => env?.close());

  it('gives every session every message exact, with several sessions fetching at once', async () => {
    const fetchAll = async (): Promise<Map<number, Buffer>> => {
      const c = imapflow(env, USER, PASS);
      await c.connect();
      try {
        await c.mailboxOpen('INBOX', { readOnly: true });
        const got = new Map<number, Buffer>();
        for await (const m of c.fetch('1:*', { source: true })) got.set(m.seq, m.source!);
        return got;
      } finally {
        await c.logout();
      }
    };
    const results = await Promise.all([fetchAll(), fetchAll(), fetchAll()]);
    for (const got of results) {
      expect(got.size).toBe(sent.length);
      for (let i = 0; i < sent.length; i++) {
        const b = got.get(i + 1)!;
        expect(b.length, `message ${i + 1}`).toBe(sent[i]!.length);
        expect(b.equals(sent[i]!), `message ${i + 1}`).toBe(true);
      }
    }
  }, 60_000);
});
