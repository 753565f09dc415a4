/**
 * FETCH of items that need no read (FLAGS, ENVELOPE, UID…) builds and gathers each response
 * synchronously (issue 18): no promise per message, so the promises one FETCH makes do not grow
 * with the number of messages it answers. The responses are those of the general path (PREVIEW
 * and BINARY.SIZE, which may read, still go that way).
 */
import { createHook } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImapTestEnv, RawClient, startImapEnv } from './imap-harness.js';

const USER = 'fetch@r8b.test';
const PASS = 'correct horse battery';
const COUNT = 300;
const msg = (i: number) => Buffer.from(`From: "A ${i}" <a${i}@example.org>\r\nTo: b@example.org\r\nSubject: fetch ${i}\r\nMessage-ID: <f-${i}@example.org>\r\n\r\nBody ${i}\r\n`);

/** Promises created while `fn` runs (in this process: the server's too). */
async function promisesDuring(fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') n++;
    },
  });
  hook.enable();
  try {
    await fn();
  } finally {
    hook.disable();
  }
  return n;
}

describe('FETCH of items that need no read', () => {
  let env: ImapTestEnv;
  let c: RawClient;
  beforeAll(async () => {
    env = await startImapEnv();
    const box = await env.core.createMailbox(USER, PASS);
    const items = Array.from({ length: COUNT }, (_, i) => ({ raw: msg(i), flags: i % 3 ? ['\\Seen'] : [] }));
    await env.core.store.appendMany(box.id, 'INBOX', items);
    // The search index of the new messages is written in the background; under load that ran
    // during the counted FETCH and its promises were counted as the FETCH's (CI: 518).
    await env.core.store.searchIndexer.idle();
    c = await RawClient.connect(env.server.ports.imaps, true);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await c.cmd('s', 'SELECT INBOX'); // claims \Recent: the next SELECT shows none
    await c.cmd('s2', 'SELECT INBOX');
  });
  afterAll(async () => {
    c?.close();
    await env?.close();
  });

  it('answers every message, with the same text as the general path', async () => {
    const all = await c.cmd('a1', `FETCH 1:* (UID FLAGS ENVELOPE RFC822.SIZE)`);
    expect(all.match(/^\* \d+ FETCH /gm)).toHaveLength(COUNT);
    expect(all).toMatch(/^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) ENVELOPE \(NIL "fetch 1" \(\("A 1" NIL "a1" "example\.org"\)\)/m);
    expect(all).toMatch(/^\* 4 FETCH \(UID 4 FLAGS \(\) ENVELOPE /m);
    // PREVIEW goes the general way: the same FLAGS and ENVELOPE text around it.
    const withPreview = await c.cmd('a2', 'FETCH 2 (UID FLAGS PREVIEW ENVELOPE)');
    const plain = await c.cmd('a3', 'FETCH 2 (UID FLAGS ENVELOPE)');
    expect(withPreview.replace(/ PREVIEW "[^"]*"/, '').replace('a2 OK', 'T OK')).toBe(plain.replace('a3 OK', 'T OK'));
  });

  it('makes no promise per message', async () => {
    await c.cmd('w', 'FETCH 1:* (FLAGS ENVELOPE)'); // metadata cached, code warm
    await env.core.store.searchIndexer.idle(); // no background indexing inside the counts
    const few = await promisesDuring(() => c.cmd('p1', 'FETCH 1:10 (FLAGS ENVELOPE)'));
    const many = await promisesDuring(() => c.cmd('p2', `FETCH 1:${COUNT} (FLAGS ENVELOPE)`));
    expect(many - few).toBeLessThan((COUNT - 10) / 4);
  });
});
