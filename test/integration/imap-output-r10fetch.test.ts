/**
 * What one command writes leaves in one write to the socket (issue 18, mixed load): its
 * responses, the untagged updates it owes and its tagged reply, instead of a TLS write (and a
 * client wake-up) each. Output that must not wait still leaves at once: a continuation request
 * the client answers (AUTHENTICATE, IDLE), the STARTTLS reply before the handshake, and a FETCH
 * larger than the output buffers, whose writes wait for the client to read. On PostgreSQL a
 * FETCH waits for the database (what it wrote so far leaves then): its write count is checked on
 * SQLite, where it waits for nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectOf } from '../../appliance/db/dialect.js';
import { type ImapTestEnv, RawClient, serverWritesDuring, startImapEnv } from './imap-harness.js';

const USER = 'output@r10fetch.test';
const PASS = 'correct horse battery';
const msg = (i: number, body = `Body ${i}`) => Buffer.from(`From: a${i}@example.org\r\nSubject: out ${i}\r\nMessage-ID: <out-${i}@example.org>\r\n\r\n${body}\r\n`);

describe('one write per command', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let b: RawClient;
  beforeAll(async () => {
    env = await startImapEnv();
    const box = await env.core.createMailbox(USER, PASS);
    await env.core.store.appendMany(box.id, 'INBOX', [
      ...Array.from({ length: 8 }, (_, i) => ({ raw: msg(i) })),
      // 300 messages of 2 KiB: a FETCH of their bodies is more than the two 128 KiB output buffers
      ...Array.from({ length: 300 }, (_, i) => ({ raw: msg(100 + i, 'x'.repeat(2048)) })),
    ]);
    await env.core.store.searchIndexer.idle();
    a = await RawClient.connect(env.server.ports.imaps, true);
    b = await RawClient.connect(env.server.ports.imaps, true);
    for (const c of [a, b]) {
      await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
      await c.cmd('s', 'SELECT INBOX');
    }
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    await env?.close();
  });

  it('sends a FETCH response, the updates it owes and the tagged reply in one write', async () => {
    await b.cmd('b1', 'STORE 2 +FLAGS (\\Flagged)');
    let out = '';
    const writes = await serverWritesDuring(async () => {
      out = await a.cmd('f1', 'FETCH 1 (UID BODY.PEEK[])');
    });
    expect(out).toMatch(/^\* 1 FETCH \(UID 1 BODY\[\] \{\d+\}\r\nFrom: a0@example\.org\r\n/);
    expect(out).toMatch(/\r\n\* 2 FETCH \(UID 2 FLAGS \(\\Flagged \\Recent\)\)\r\nf1 OK FETCH completed\r\n$/);
    if (dialectOf(env.core.db) === 'sqlite') expect(writes).toBe(1);
  });

  it('sends the updates of a NOOP and its tagged reply in one write', async () => {
    await b.cmd('b2', 'STORE 3 +FLAGS (\\Seen)');
    await b.cmd('b3', 'STORE 4 +FLAGS (\\Seen)');
    let out = '';
    const writes = await serverWritesDuring(async () => {
      out = await a.cmd('n1', 'NOOP');
    });
    expect(out).toBe('* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent))\r\n* 4 FETCH (UID 4 FLAGS (\\Seen \\Recent))\r\nn1 OK NOOP completed\r\n');
    expect(writes).toBe(1);
  });

  it('still streams a FETCH larger than its output buffers, byte for byte', async () => {
    const whole = await a.cmd('f2', 'FETCH 9:* (BODY.PEEK[])', 20_000);
    const bodies = [...whole.matchAll(/^\* (\d+) FETCH \(BODY\[\] \{(\d+)\}\r\n/gm)];
    expect(bodies).toHaveLength(300);
    for (const [, seq, size] of bodies) expect(Number(size)).toBe(msg(Number(seq) + 91, 'x'.repeat(2048)).length);
    expect(whole.endsWith('f2 OK FETCH completed\r\n')).toBe(true);
    // the next command is answered as usual
    expect(await a.cmd('n2', 'NOOP')).toBe('n2 OK NOOP completed\r\n');
  });

  it('sends a continuation request at once (IDLE), and updates while idling', async () => {
    a.send('i1 IDLE\r\n');
    await a.until((buf) => buf.includes('+ idling\r\n'));
    a.take();
    await b.cmd('b4', 'STORE 5 +FLAGS (\\Seen)');
    await a.until((buf) => buf.includes('* 5 FETCH'));
    a.send('DONE\r\n');
    const rest = await a.until((buf) => buf.includes('i1 OK'));
    expect(rest).toContain('* 5 FETCH (UID 5 FLAGS (\\Seen \\Recent))\r\n');
    a.take();
  });

  it('answers AUTHENTICATE PLAIN through its continuation request', async () => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    try {
      c.send('a1 AUTHENTICATE PLAIN\r\n');
      await c.until((buf) => buf.startsWith('+'));
      c.take();
      c.send(`${Buffer.from(`\u0000${USER}\u0000${PASS}`).toString('base64')}\r\n`);
      expect(await c.until((buf) => /a1 (OK|NO|BAD)/.test(buf))).toMatch(/^a1 OK /m);
    } finally {
      c.close();
    }
  });
});
