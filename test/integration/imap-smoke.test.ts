import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

describe('smoke', () => {
  let env: ImapTestEnv;
  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox('alice@example.test', 'correct horse battery');
    await env.core.deliver('alice@example.test', Buffer.from('From: Bob <bob@example.org>\r\nTo: alice@example.test\r\nSubject: Hello\r\n\r\nHi there\r\n'));
  });
  afterAll(async () => env?.close());

  it('logs in over implicit TLS and fetches', async () => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    console.log(await c.cmd('a1', 'CAPABILITY'));
    console.log(await c.cmd('a2', 'LOGIN alice@example.test "correct horse battery"'));
    console.log(await c.cmd('a3', 'LIST "" "*"'));
    console.log(await c.cmd('a4', 'SELECT INBOX'));
    console.log(await c.cmd('a5', 'FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[])'));
    console.log(await c.cmd('a6', 'SEARCH SUBJECT hello'));
    console.log(await c.cmd('a7', 'LOGOUT'));
    expect(true).toBe(true);
  });
});
