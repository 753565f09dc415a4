/**
 * NOTIFY (RFC 5465): events of the selected mailbox and of the personal namespace arrive as
 * they happen, without a command; NOTIFY NONE; STATUS; error rules; NOTIFICATIONOVERFLOW.
 * Raw sockets: session A is notified, session B (and the delivery path) change things.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, sleep, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'notify@notify.test';
const PASS = 'notify events passphrase';
const mail = (subject: string, body = 'body') => Buffer.from(`From: a@example.org\r\nSubject: ${subject}\r\n\r\n${body}\r\n`);

describe('NOTIFY', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let b: RawClient;
  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    await env.core.deliver(USER, mail('one')); // INBOX UID 1
    a = await RawClient.connect(env.server.ports.imaps, true);
    b = await RawClient.connect(env.server.ports.imaps, true);
    await a.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await b.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await b.cmd('c', 'CREATE Lists');
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    await env?.close();
  });

  /** Waits for `text` on A with no command sent; the deadline is the promised one second. */
  const expectPushed = async (text: string | RegExp) => {
    const buf = await a.until((x) => (typeof text === 'string' ? x.includes(text) : text.test(x)), 1000);
    a.take();
    return buf;
  };

  it('advertises NOTIFY (RFC 5465 4)', async () => {
    expect(await a.cmd('c', 'CAPABILITY')).toContain(' NOTIFY');
  });

  it('refuses what RFC 5465 forbids: lone MessageNew, FlagChange alone, fetch attributes outside SELECTED, unsupported events (RFC 5465 5, 6)', async () => {
    expect(await a.cmd('e1', 'NOTIFY SET (SELECTED (MessageNew))')).toMatch(/e1 BAD/);
    expect(await a.cmd('e2', 'NOTIFY SET (SELECTED (FlagChange))')).toMatch(/e2 BAD/);
    expect(await a.cmd('e3', 'NOTIFY SET (PERSONAL (MessageNew (UID) MessageExpunge))')).toMatch(/e3 BAD/);
    expect(await a.cmd('e4', 'NOTIFY SET (PERSONAL (AnnotationChange))')).toMatch(/e4 NO \[BADEVENT \(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange\)\]/);
    expect(await a.cmd('e5', 'NOTIFY SET (SELECTED (MessageNew (BODY[]) MessageExpunge))')).toMatch(/e5 BAD/);
    expect(await a.cmd('e6', 'NOTIFY BOGUS')).toMatch(/e6 BAD/);
    // Malformed input gets BAD and the session goes on.
    const bad = [
      'NOTIFY SET',
      'NOTIFY SET STATUS',
      'NOTIFY SET ()',
      'NOTIFY SET (SUBTREE)',
      'NOTIFY SET (MAILBOXES () (MessageNew MessageExpunge))',
      'NOTIFY SET (SELECTED (MessageNew (FOO) MessageExpunge))',
      'NOTIFY SET (PERSONAL ()) ',
      'NOTIFY SET (PERSONAL NONE) (PERSONAL NONE)',
      'NOTIFY NONE extra',
    ];
    for (const [i, text] of bad.entries()) expect(await a.cmd(`m${i}`, text)).toMatch(new RegExp(`m${i} BAD`));
    expect(await a.cmd('ok', 'NOTIFY SET (PERSONAL NONE)')).toMatch(/ok OK/);
    const pre = await RawClient.connect(env.server.ports.imaps, true);
    expect(await pre.cmd('p', 'NOTIFY NONE')).toMatch(/p BAD/);
    pre.close();
  });

  it('selected mailbox: EXISTS with the requested fetch data, flag changes and EXPUNGE arrive without a command (RFC 5465 5.1, 5.2, 5.3)', async () => {
    await a.cmd('s', 'SELECT INBOX');
    const set = await a.cmd('n', 'NOTIFY SET (SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))');
    expect(set).toMatch(/n OK/);
    await env.core.deliver(USER, mail('two')); // UID 2
    await expectPushed(/\* 2 EXISTS\r\n[\s\S]*\* 2 FETCH \(UID 2 FLAGS \([^)]*\)\)\r\n/);
    await b.cmd('s', 'SELECT INBOX');
    await b.cmd('f', 'UID STORE 1 +FLAGS (\\Flagged)');
    await expectPushed(/\* 1 FETCH \(UID 1 FLAGS \([^)]*\\Flagged[^)]*\)\)\r\n/);
    await b.cmd('d', 'UID STORE 1 +FLAGS (\\Deleted)');
    await b.cmd('x', 'EXPUNGE');
    await expectPushed('* 1 EXPUNGE\r\n');
    // The session's view stays consistent: one message, UID 2.
    expect(await a.cmd('c', 'UID SEARCH ALL')).toContain('* SEARCH 2\r\n');
  });

  it('other mailboxes: STATUS on new messages and expunges, none for flag changes without FlagChange (RFC 5465 5.2, 5.4)', async () => {
    await b.cmd('ap', 'APPEND Lists (\\Seen) {8+}\r\nS: x\r\n\r\n');
    await expectPushed('* STATUS Lists (MESSAGES 1 UIDNEXT 2 UNSEEN 0)\r\n');
    await env.core.deliver(USER, mail('three')); // INBOX, selected: EXISTS, no STATUS
    const buf = await expectPushed('EXISTS');
    expect(buf).not.toContain('* STATUS INBOX');
    await b.cmd('s', 'SELECT Lists');
    await b.cmd('f', 'STORE 1 -FLAGS (\\Seen)');
    await sleep(300);
    expect(a.take()).not.toContain('* STATUS');
    await b.cmd('d', 'STORE 1 +FLAGS (\\Deleted)');
    await b.cmd('x', 'EXPUNGE');
    await expectPushed('* STATUS Lists (MESSAGES 0 UIDNEXT 2 UNSEEN 0)\r\n');
  });

  it('mailbox names and subscriptions: LIST on create, rename (OLDNAME), delete (\\NonExistent), subscribe and unsubscribe (RFC 5465 5.4, 5.5)', async () => {
    await b.cmd('c', 'CREATE Projects');
    await expectPushed('* LIST () "/" Projects\r\n');
    await b.cmd('r', 'RENAME Projects Work');
    await expectPushed('* LIST () "/" Work ("OLDNAME" (Projects))\r\n');
    await b.cmd('d', 'DELETE Work');
    await expectPushed('* LIST (\\NonExistent) "/" Work\r\n');
    await b.cmd('s', 'SUBSCRIBE Lists');
    await expectPushed('* LIST (\\Subscribed) "/" Lists\r\n');
    await b.cmd('u', 'UNSUBSCRIBE Lists');
    await expectPushed('* LIST () "/" Lists\r\n');
  });

  it('NOTIFY SET STATUS answers STATUS for the covered mailboxes at once; SELECTED-DELAYED holds EXPUNGE; NOTIFY NONE stops (RFC 5465 5.1, 6)', async () => {
    const st = await a.cmd('n', 'NOTIFY SET STATUS (SELECTED-DELAYED (MessageNew MessageExpunge)) (PERSONAL (MessageNew MessageExpunge))');
    expect(st).toContain('* STATUS Lists (MESSAGES 0 UIDNEXT 2 UNSEEN 0)\r\n');
    expect(st).not.toContain('* STATUS INBOX');
    await b.cmd('s', 'SELECT INBOX');
    await b.cmd('d', 'UID STORE 2 +FLAGS (\\Deleted)');
    await b.cmd('x', 'EXPUNGE');
    await sleep(300);
    expect(a.take()).not.toContain('EXPUNGE');
    expect(await a.cmd('p', 'NOOP')).toContain('* 1 EXPUNGE\r\n');
    expect(await a.cmd('o', 'NOTIFY NONE')).toMatch(/o OK/);
    await env.core.deliver(USER, mail('four'));
    await b.cmd('ap', 'APPEND Lists {8+}\r\nS: y\r\n\r\n');
    await sleep(300);
    expect(a.take()).toBe('');
    const noop = await a.cmd('q', 'NOOP');
    expect(noop).toContain('EXISTS');
    expect(noop).not.toContain('STATUS');
  });

  it('NOTIFICATIONOVERFLOW when the client stops reading, written after the response in progress (RFC 5465 5.8)', async () => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    try {
      await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
      await b.cmd('cb', 'CREATE Big');
      // 16 entries of one 1 MB message (COPY shares the bytes): 16 MB of FETCH output, more
      // than loopback socket buffers hold, so the server waits for the client to read.
      const big = Buffer.from(`From: a@example.org\r\nSubject: big\r\n\r\n${('y'.repeat(998) + '\r\n').repeat(1_000)}`);
      await b.cmd('ab', `APPEND Big {${big.length}+}\r\n${big.toString()}`, 20_000);
      await b.cmd('sb', 'SELECT Big');
      for (let i = 0; i < 4; i++) await b.cmd(`cp${i}`, 'COPY 1:* Big');
      await c.cmd('s', 'SELECT Big');
      await c.cmd('n', 'NOTIFY SET (PERSONAL (MessageNew MessageExpunge))');
      // Collect the output ourselves: 16 MB is joined once, at the end.
      const chunks: string[] = [];
      let tail = '';
      let done: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => (done = resolve));
      c.socket.removeAllListeners('data');
      c.socket.on('data', (d: string) => {
        chunks.push(d);
        tail = (tail + d).slice(-200);
        if (/\r\nf OK[^\r\n]*\r\n$/.test(tail)) done();
      });
      c.socket.pause();
      c.send('f FETCH 1:* BODY.PEEK[]\r\n');
      // The notification overflows once the output has been unread for over a second
      // (OVERFLOW_STALL_MS); 2.5 s leaves a loaded box time to start the FETCH's output, and the
      // APPEND's event (sent after its WAL sync) a second to reach the stalled session.
      await sleep(2500);
      await b.cmd('a1', 'APPEND Lists {8+}\r\nS: z\r\n\r\n');
      await sleep(1000);
      c.socket.resume();
      await finished;
      const out = chunks.join('');
      // The FETCH response is whole, then the overflow notice, then the tagged reply.
      const lastLit = out.lastIndexOf('{' + big.length + '}\r\n');
      expect(out.match(/\* \d+ FETCH/g)).toHaveLength(16);
      const overflow = out.indexOf('* OK [NOTIFICATIONOVERFLOW]');
      expect(overflow).toBeGreaterThan(lastLit + big.length);
      expect(out.indexOf('f OK')).toBeGreaterThan(overflow);
      expect(out).not.toContain('* STATUS');
      // Notification is off now.
      chunks.length = 0;
      await b.cmd('a2', 'APPEND Lists {8+}\r\nS: w\r\n\r\n');
      await sleep(300);
      expect(chunks.join('')).toBe('');
    } finally {
      c.close();
    }
  });
});
