/**
 * Session behaviour on the wire (raw client): TLS rules for login, AUTHENTICATE PLAIN,
 * literals, limits, implicit \Seen, CONDSTORE conflicts, quota on APPEND, unsolicited updates
 * between concurrent sessions, revocation and the idle timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../appliance/imap/session.js';
import { RawClient, sleep, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'sess@session.test';
const PASS = 'session test passphrase';
const msg = (subject: string, body = 'body') => Buffer.from(`From: a@example.org\r\nTo: ${USER}\r\nSubject: ${subject}\r\n\r\n${body}\r\n`);
const plain = (user: string, pass: string) => Buffer.from(`\u0000${user}\u0000${pass}`).toString('base64');

describe('IMAP session', () => {
  let env: ImapTestEnv;
  let mailboxId: string;
  beforeAll(async () => {
    env = await startImapEnv();
    mailboxId = (await env.core.createMailbox(USER, PASS)).id;
    await env.core.createMailbox('tiny@session.test', PASS, { quotaBytes: 2000 });
    for (let i = 1; i <= 5; i++) await env.core.deliver(USER, msg(`message ${i}`));
  });
  afterAll(async () => env?.close());

  const login = async (secure = true) => {
    const c = await RawClient.connect(secure ? env.server.ports.imaps : env.server.ports.imap, secure);
    expect(await c.cmd('l', `LOGIN ${USER} "${PASS}"`)).toMatch(/l OK/);
    return c;
  };

  it('advertises LOGINDISABLED and refuses LOGIN before STARTTLS on the plain port', async () => {
    const c = await RawClient.connect(env.server.ports.imap);
    const caps = await c.cmd('a', 'CAPABILITY');
    expect(caps).toContain('STARTTLS');
    expect(caps).toContain('LOGINDISABLED');
    expect(caps).not.toContain('AUTH=PLAIN');
    expect(await c.cmd('b', `LOGIN ${USER} "${PASS}"`)).toMatch(/b NO \[PRIVACYREQUIRED\]/);
    expect(await c.cmd('c', `AUTHENTICATE PLAIN ${plain(USER, PASS)}`)).toMatch(/c NO \[PRIVACYREQUIRED\]/);
    c.close();
  });

  it('allows plaintext login from loopback only when configured for development', async () => {
    const dev = await startImapEnv({ allowPlaintextAuthLoopback: true });
    try {
      await dev.core.createMailbox(USER, PASS);
      const c = await RawClient.connect(dev.server.ports.imap);
      const caps = await c.cmd('a', 'CAPABILITY');
      expect(caps).toContain('AUTH=PLAIN');
      expect(caps).not.toContain('LOGINDISABLED');
      expect(await c.cmd('b', `LOGIN ${USER} "${PASS}"`)).toMatch(/b OK/);
      c.close();
    } finally {
      await dev.close();
    }
  });

  it('authenticates with SASL PLAIN, inline (SASL-IR) and by continuation', async () => {
    const a = await RawClient.connect(env.server.ports.imaps, true);
    expect(await a.cmd('a', `AUTHENTICATE PLAIN ${plain(USER, PASS)}`)).toMatch(/a OK \[CAPABILITY /);
    a.close();
    const b = await RawClient.connect(env.server.ports.imaps, true);
    b.send('b AUTHENTICATE PLAIN\r\n');
    await b.until((s) => s.startsWith('+ '));
    b.take();
    b.send(plain(USER, PASS) + '\r\n');
    expect(await b.until((s) => /b (OK|NO)/.test(s))).toMatch(/b OK/);
    b.close();
    const c = await RawClient.connect(env.server.ports.imaps, true);
    expect(await c.cmd('c', `AUTHENTICATE PLAIN ${plain(USER, 'wrong')}`)).toMatch(/c NO \[AUTHENTICATIONFAILED\]/);
    expect(await c.cmd('d', 'SELECT INBOX')).toMatch(/d BAD Log in first/);
    c.close();
  });

  it('discards commands pipelined after STARTTLS in plaintext', async () => {
    const c = await RawClient.connect(env.server.ports.imap);
    c.send('s STARTTLS\r\nx CAPABILITY\r\n');
    await c.until((b) => b.includes('s OK'));
    await sleep(100);
    expect(c.take()).not.toContain('x OK');
    c.close();
  });

  it('takes synchronising literals and refuses an APPEND over APPENDLIMIT before reading it', async () => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    c.send(`l LOGIN {${Buffer.byteLength(USER)}}\r\n`);
    await c.until((b) => b.startsWith('+'));
    c.take();
    c.send(`${USER} {${PASS.length}}\r\n`);
    await c.until((b) => b.startsWith('+'));
    c.take();
    c.send(`${PASS}\r\n`);
    expect(await c.until((b) => /l (OK|NO)/.test(b))).toMatch(/l OK/);
    c.take();
    c.send(`a APPEND INBOX {${env.config.maxMessageBytes + 1}}\r\n`);
    expect(await c.until((b) => /a (OK|NO|BAD)/.test(b))).toMatch(/^a NO \[TOOBIG\]/);
    c.take();
    expect(await c.cmd('n', 'NOOP')).toMatch(/n OK/);
    c.close();
  });

  it('answers an over-long line with BAD [TOOBIG] and keeps the session', async () => {
    const c = await login();
    c.send(`t SEARCH SUBJECT ${'x'.repeat(LIMITS.maxLineBytes + 10)}\r\n`);
    expect(await c.until((b) => /t BAD/.test(b))).toMatch(/t BAD \[TOOBIG\]/);
    c.take();
    expect(await c.cmd('n', 'NOOP')).toMatch(/n OK/);
    c.close();
  });

  it('sets \\Seen when BODY[] is fetched without PEEK, and reports the new flags', async () => {
    const c = await login();
    await c.cmd('s', 'SELECT INBOX');
    const out = await c.cmd('f', 'FETCH 1 (BODY[TEXT])');
    // This session is the first to select INBOX, so the message is also \Recent here (RFC 3501 2.3.2).
    expect(out).toMatch(/\* 1 FETCH \(BODY\[TEXT\] \{6\}\r\nbody\r\n FLAGS \(\\Seen \\Recent\)\)/);
    expect(await c.cmd('g', 'FETCH 1 FLAGS')).toContain('* 1 FETCH (FLAGS (\\Seen \\Recent))');
    await c.cmd('e', 'EXAMINE INBOX');
    expect(await c.cmd('h', 'FETCH 2 (BODY[TEXT] FLAGS)')).toContain('FLAGS ()');
    c.close();
  });

  it('answers STORE UNCHANGEDSINCE conflicts with [MODIFIED]', async () => {
    const c = await login();
    const sel = await c.cmd('s', 'SELECT INBOX (CONDSTORE)');
    expect(sel).toMatch(/\[HIGHESTMODSEQ \d+\]/);
    const f = await c.cmd('f', 'FETCH 3 (MODSEQ)');
    const modseq = Number(/MODSEQ \((\d+)\)/.exec(f)![1]);
    const stored = await c.cmd('a', `STORE 3 (UNCHANGEDSINCE ${modseq}) +FLAGS (\\Flagged)`);
    expect(stored).toMatch(/FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)[\s\S]*a OK/);
    const newModseq = Number(/MODSEQ \((\d+)\)/.exec(stored)![1]);
    expect(newModseq).toBeGreaterThan(modseq);
    expect(await c.cmd('b', `STORE 3 (UNCHANGEDSINCE ${modseq}) -FLAGS (\\Flagged)`)).toMatch(/b OK \[MODIFIED 3\]/);
    expect(await c.cmd('c', `UID SEARCH MODSEQ ${newModseq}`)).toContain(`* SEARCH 3 (MODSEQ ${newModseq})`);
    c.close();
  });

  it('refuses an APPEND over quota with [OVERQUOTA]', async () => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    await c.cmd('l', `LOGIN tiny@session.test "${PASS}"`);
    const big = `Subject: big\r\n\r\n${'x'.repeat(3000)}`;
    c.send(`a APPEND INBOX {${big.length}+}\r\n${big}\r\n`);
    expect(await c.until((b) => /a (OK|NO|BAD)/.test(b))).toMatch(/a NO \[OVERQUOTA\]/);
    c.close();
  });

  it('keeps sequence numbers consistent across concurrent sessions', async () => {
    const a = await login();
    const b = await login();
    await a.cmd('s', 'SELECT INBOX');
    await b.cmd('s', 'SELECT INBOX');
    // A flags and expunges message 2; B learns about it only when EXPUNGE is allowed.
    await a.cmd('f', 'STORE 2 +FLAGS.SILENT (\\Deleted)');
    expect(await b.cmd('n1', 'NOOP')).toMatch(/\* 2 FETCH \(UID 2 FLAGS \(\\Deleted\)\)/);
    expect(await a.cmd('x', 'EXPUNGE')).toContain('* 2 EXPUNGE');
    const during = await b.cmd('f2', 'FETCH 3 (UID)');
    expect(during).not.toContain('EXPUNGE');
    expect(during).toContain('* 3 FETCH (UID 3)'); // still the old numbering
    expect(await b.cmd('n2', 'NOOP')).toContain('* 2 EXPUNGE');
    expect(await b.cmd('f3', 'FETCH 2 (UID)')).toContain('* 2 FETCH (UID 3)');
    // New mail reaches both as EXISTS with the same count.
    await env.core.deliver(USER, msg('late arrival'));
    expect(await a.cmd('n3', 'NOOP')).toContain('* 5 EXISTS');
    expect(await b.cmd('n4', 'NOOP')).toContain('* 5 EXISTS');
    expect(await a.cmd('u', 'UID SEARCH SUBJECT late')).toContain('* SEARCH 6');
    a.close();
    b.close();
  });

  it('pushes updates to an IDLE session within one second', async () => {
    const a = await login();
    const b = await login();
    await a.cmd('s', 'SELECT INBOX');
    await b.cmd('s', 'SELECT INBOX');
    a.send('i IDLE\r\n');
    await a.until((s) => s.includes('+ idling'));
    a.take();
    let t0 = Date.now();
    await b.cmd('f', 'STORE 1 +FLAGS (\\Answered)');
    await a.until((s) => /\* 1 FETCH \(UID 1 FLAGS \(\\Seen \\Answered\)\)/.test(s), 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    t0 = Date.now();
    await b.cmd('e', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
    await b.cmd('x', 'EXPUNGE');
    await a.until((s) => s.includes('* 1 EXPUNGE'), 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    a.send('DONE\r\n');
    await a.until((s) => s.includes('i OK'));
    a.close();
    b.close();
  });

  it('closes an IDLE session with BYE within one second of revocation', async () => {
    const c = await login();
    await c.cmd('s', 'SELECT INBOX');
    c.send('i IDLE\r\n');
    await c.until((s) => s.includes('+ idling'));
    const t0 = Date.now();
    await env.core.credentials.revokeAccess(mailboxId, 'suspended');
    await c.until((s) => s.includes('* BYE'), 1000);
    await c.until(() => c.closed, 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(c.closed).toBe(true);
  });

  it('answers hundreds of pipelined commands in order (bounded queue, flow control)', async () => {
    const c = await login();
    const n = 500;
    c.send(Array.from({ length: n }, (_, i) => `p${i} NOOP\r\n`).join(''));
    const out = await c.until((b) => b.includes(`p${n - 1} OK`), 10_000);
    const tags = [...out.matchAll(/^(p\d+) OK/gm)].map((m) => m[1]);
    expect(tags).toHaveLength(n);
    expect(tags[0]).toBe('p0');
    expect(tags[n - 1]).toBe(`p${n - 1}`);
    c.close();
  });

  it('resynchronises quickly with QRESYNC: VANISHED (EARLIER) and changed flags on SELECT, VANISHED on EXPUNGE', async () => {
    const c = await login();
    expect(await c.cmd('e', 'ENABLE QRESYNC')).toContain('* ENABLED QRESYNC');
    const sel = await c.cmd('s', 'SELECT INBOX');
    const uidValidity = Number(/UIDVALIDITY (\d+)/.exec(sel)![1]);
    const modseq = Number(/HIGHESTMODSEQ (\d+)/.exec(sel)![1]);
    await env.core.deliver(USER, msg('qresync one'));
    await env.core.deliver(USER, msg('qresync two'));
    const n = await c.cmd('n', 'NOOP');
    const uids = [...n.matchAll(/\* (\d+) EXISTS/g)];
    expect(uids.length).toBeGreaterThan(0);
    const search = await c.cmd('u', 'UID SEARCH SUBJECT qresync');
    const [u1, u2] = /\* SEARCH (\d+) (\d+)/.exec(search)!.slice(1).map(Number) as [number, number];
    // Another session flags one and expunges the other while this client is "offline".
    const other = await login();
    await other.cmd('s', 'SELECT INBOX');
    await other.cmd('a', `UID STORE ${u1} +FLAGS (\\Flagged)`);
    await other.cmd('b', `UID STORE ${u2} +FLAGS (\\Deleted)`);
    await other.cmd('c', `UID EXPUNGE ${u2}`);
    other.close();
    const again = await c.cmd('r', `SELECT INBOX (QRESYNC (${uidValidity} ${modseq}))`);
    expect(again).toContain('* OK [CLOSED]');
    expect(again).toContain(`* VANISHED (EARLIER) ${u2}`);
    expect(again).toMatch(new RegExp(`\\* \\d+ FETCH \\(UID ${u1} FLAGS \\(\\\\Flagged\\) MODSEQ \\(\\d+\\)\\)`));
    expect(await c.cmd('v', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq} VANISHED)`)).toContain(`* VANISHED (EARLIER) ${u2}`);
    await c.cmd('d', `UID STORE ${u1} +FLAGS (\\Deleted)`);
    expect(await c.cmd('x', 'EXPUNGE')).toContain(`* VANISHED ${u1}`);
    c.close();
  });

  it('deselects a mailbox the session deletes itself, and disconnects others that had it selected', async () => {
    const a = await login();
    const b = await login();
    await a.cmd('c', 'CREATE Doomed');
    await a.cmd('s', 'SELECT Doomed');
    await b.cmd('s', 'SELECT Doomed');
    expect(await a.cmd('d', 'DELETE Doomed')).toMatch(/d OK/);
    expect(await a.cmd('f', 'FETCH 1 FLAGS')).toMatch(/f BAD Select a mailbox first/);
    expect(await a.cmd('n', 'NOOP')).toMatch(/n OK/);
    const out = await b.cmd('n', 'NOOP');
    expect(out).toContain('* BYE Selected mailbox was deleted');
    expect(b.closed || (await b.until(() => b.closed, 2000), b.closed)).toBe(true);
    a.close();
    b.close();
  });

  it('logs out idle connections after the idle timeout', async () => {
    // The setting allows 30 minutes at least (RFC 9051 5.4); the test sets the value directly,
    // long enough for the TLS handshake and LOGIN to fit in it on a loaded box.
    const idleEnv = await startImapEnv({ imapLimits: { ...env.config.imapLimits, idleTimeoutMs: 3000 } });
    try {
      await idleEnv.core.createMailbox(USER, PASS);
      const c = await RawClient.connect(idleEnv.server.ports.imaps, true);
      expect(await c.cmd('l', `LOGIN ${USER} "${PASS}"`)).toMatch(/l OK/);
      await c.until(() => c.closed, 15_000);
      expect(c.take()).toContain('* BYE Autologout');
    } finally {
      await idleEnv.close();
    }
  });
});
