/**
 * Base-protocol corners (RFC 3501 / RFC 5258) on the wire with a raw client: \Recent, SENT*
 * dates in the header's own zone, address search through comments, '[' in atoms, LSUB
 * \Noselect parents, LIST-EXTENDED CHILDINFO, empty flag lists, keywords in FLAGS, and the
 * bound on SEARCH nesting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, sleep, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'base@base.test';
const PASS = 'base protocol passphrase';

const mail = (headers: string, body = 'hello') => Buffer.from(`${headers.trim().replace(/\n/g, '\r\n')}\r\n\r\n${body}\r\n`);

describe('IMAP base protocol (RFC 3501)', () => {
  let env: ImapTestEnv;
  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    // Dates chosen so the header's own day differs from the UTC day (RFC 3501 6.4.4 SENT*).
    await env.core.deliver(USER, mail(`From: a@example.org\nTo: ${USER}\nDate: Sat, 24 Mar 2007 23:00:00 -0500\nSubject: late evening`));
    await env.core.deliver(USER, mail(`From: b@example.org\nTo: ${USER}\nDate: Sun, 25 Mar 2007 01:30:00 +0300\nSubject: early morning`));
    await env.core.deliver(USER, mail(`From: Real Name <user-from (comment)@ (comment) domain.org>\nTo: ${USER}\nDate: Mon, 26 Mar 2007 12:00:00 +0000\nSubject: comments`));
  });
  afterAll(async () => env?.close());

  const login = async () => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    expect(await c.cmd('l', `LOGIN ${USER} "${PASS}"`)).toMatch(/l OK/);
    return c;
  };

  it('SENTON/SENTBEFORE/SENTSINCE use the date as written in the header (RFC 3501 6.4.4)', async () => {
    const c = await login();
    await c.cmd('s', 'EXAMINE INBOX');
    // 24-Mar 23:00 -0500 is 25-Mar in UTC; 25-Mar 01:30 +0300 is 24-Mar in UTC.
    expect(await c.cmd('a', 'SEARCH SENTON 24-Mar-2007')).toMatch(/\* SEARCH 1\r\n/);
    expect(await c.cmd('b', 'SEARCH SENTON 25-Mar-2007')).toMatch(/\* SEARCH 2\r\n/);
    expect(await c.cmd('c', 'SEARCH SENTBEFORE 25-Mar-2007')).toMatch(/\* SEARCH 1\r\n/);
    expect(await c.cmd('d', 'SEARCH SENTSINCE 25-Mar-2007')).toMatch(/\* SEARCH 2 3\r\n/);
    c.close();
  });

  it('FROM matches an address written with comments inside the brackets (RFC 3501 6.4.4, RFC 5322 3.4)', async () => {
    const c = await login();
    await c.cmd('s', 'EXAMINE INBOX');
    expect(await c.cmd('a', 'SEARCH FROM user-from@domain.org')).toMatch(/\* SEARCH 3\r\n/);
    expect(await c.cmd('b', 'SEARCH FROM "real name"')).toMatch(/\* SEARCH 3\r\n/);
    expect(await c.cmd('c', 'SEARCH FROM nobody@domain.org')).toMatch(/\* SEARCH\r\n/);
    c.close();
  });

  it("accepts '[' in atoms used as mailbox names (RFC 3501 9: atom-char excludes only resp-specials ']')", async () => {
    const c = await login();
    expect(await c.cmd('a', "SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}")).toMatch(/a NO \[NONEXISTENT\]/);
    expect(await c.cmd('b', 'CREATE a[b]')).toMatch(/b OK/);
    expect(await c.cmd('c', 'SELECT a[b]')).toMatch(/c OK/);
    expect(await c.cmd('d', 'LIST "" a[b]')).toMatch(/\* LIST \([^)]*\) "\/" "?a\[b\]"?\r\n/);
    // FETCH sections still parse as sections.
    await c.cmd('e', 'SELECT INBOX');
    expect(await c.cmd('f', 'FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])')).toMatch(/Subject: late evening/);
    c.close();
  });

  it('accepts empty flag lists in STORE (RFC 3501 6.4.6, 9 flag-list)', async () => {
    const c = await login();
    await c.cmd('s', 'SELECT INBOX');
    expect(await c.cmd('a', 'STORE 1 +FLAGS ()')).toMatch(/\* 1 FETCH \(FLAGS \([^)]*\)\)\r\na OK/);
    expect(await c.cmd('b', 'STORE 1 -FLAGS.SILENT ()')).toMatch(/^b OK/);
    expect(await c.cmd('c', 'STORE 1 FLAGS ()')).toMatch(/c OK/);
    expect(await c.cmd('d', 'STORE 1 +FLAGS')).toMatch(/d BAD/);
    c.close();
  });

  it('answers BAD quickly to SEARCH nested beyond the bound instead of overflowing the stack', async () => {
    const c = await login();
    await c.cmd('s', 'EXAMINE INBOX');
    const started = Date.now();
    expect(await c.cmd('a', `SEARCH ${'NOT '.repeat(5000)}ALL`)).toMatch(/a BAD .*too deep/i);
    expect(await c.cmd('b', `SEARCH ${'OR ALL '.repeat(5000)}ALL`)).toMatch(/b BAD .*too deep/i);
    expect(Date.now() - started).toBeLessThan(2000);
    // A sane depth still works and the session is intact.
    expect(await c.cmd('c', `SEARCH ${'NOT '.repeat(20)}ALL`)).toMatch(/\* SEARCH 1 2 3\r\nc OK/);
    c.close();
  });

  it('\\Recent: the first session to see a message gets it, durably across reconnects (RFC 3501 2.3.2, 6.3.1, 7.3.2)', async () => {
    await env.core.createMailbox('recent@base.test', PASS);
    for (let i = 0; i < 2; i++) await env.core.deliver('recent@base.test', mail(`From: r@example.org\nSubject: r${i}`));
    const open = async () => {
      const c = await RawClient.connect(env.server.ports.imaps, true);
      await c.cmd('l', `LOGIN recent@base.test "${PASS}"`);
      return c;
    };
    const a = await open();
    const b = await open();
    // EXAMINE shows the unclaimed messages as recent and claims nothing (RFC 3501 6.3.2).
    expect(await b.cmd('x', 'STATUS INBOX (RECENT MESSAGES)')).toMatch(/\* STATUS INBOX \(RECENT 2 MESSAGES 2\)/);
    expect(await b.cmd('e', 'EXAMINE INBOX')).toMatch(/\* 2 RECENT\r\n/);
    await b.cmd('u', 'UNSELECT');
    const sa = await a.cmd('s', 'SELECT INBOX');
    expect(sa).toMatch(/\* 2 RECENT\r\n/);
    expect(await a.cmd('f', 'FETCH 1:* FLAGS')).toMatch(/\* 1 FETCH \(FLAGS \(\\Recent\)\)\r\n\* 2 FETCH \(FLAGS \(\\Recent\)\)/);
    expect(await a.cmd('r', 'SEARCH RECENT')).toMatch(/\* SEARCH 1 2\r\n/);
    expect(await a.cmd('n', 'SEARCH NEW')).toMatch(/\* SEARCH 1 2\r\n/);
    // Another session now sees none as recent; neither after reconnecting.
    expect(await b.cmd('s', 'SELECT INBOX')).toMatch(/\* 0 RECENT\r\n/);
    expect(await b.cmd('o', 'SEARCH OLD')).toMatch(/\* SEARCH 1 2\r\n/);
    b.close();
    const b2 = await open();
    expect(await b2.cmd('s', 'SELECT INBOX')).toMatch(/\* 0 RECENT\r\n/);
    expect(await b2.cmd('t', 'STATUS INBOX (RECENT)')).toMatch(/RECENT 0/);
    // A new delivery goes to the first session that learns of it.
    b2.send('i IDLE\r\n');
    await b2.until((buf) => buf.includes('+ '));
    await env.core.deliver('recent@base.test', mail(`From: r@example.org\nSubject: r2`));
    await b2.until((buf) => /\* 3 EXISTS\r\n\* 1 RECENT\r\n/.test(buf), 2000);
    b2.send('DONE\r\n');
    await b2.until((buf) => /i OK/.test(buf));
    b2.take();
    expect(await b2.cmd('f', 'FETCH 3 FLAGS')).toMatch(/\* 3 FETCH \(FLAGS \(\\Recent\)\)/);
    expect(await a.cmd('n', 'NOOP')).toMatch(/\* 3 EXISTS\r\n\* 2 RECENT\r\n/);
    expect(await a.cmd('f', 'FETCH 3 FLAGS')).toMatch(/\* 3 FETCH \(FLAGS \(\)\)/);
    a.close();
    b2.close();
  });

  it('keywords: FLAGS lists those in use, PERMANENTFLAGS has \\*, a new keyword updates FLAGS in every session (RFC 3501 7.2.6)', async () => {
    const a = await login();
    const b = await login();
    const sel = await a.cmd('s', 'SELECT INBOX');
    expect(sel).toMatch(/\* OK \[PERMANENTFLAGS \([^)]*\\\*\)\]/);
    expect(sel).not.toMatch(/\$Project7/);
    await b.cmd('s', 'SELECT INBOX');
    const st = await a.cmd('a', 'STORE 2 +FLAGS ($Project7)');
    // The FLAGS update comes before the FETCH that uses the keyword.
    expect(st).toMatch(/\* FLAGS \([^)]*\$Project7[^)]*\)\r\n\* OK \[PERMANENTFLAGS \([^)]*\$Project7[^)]*\\\*\)\][^\r]*\r\n\* 2 FETCH \(FLAGS \([^)]*\$Project7/);
    const seen = await b.cmd('n', 'NOOP');
    expect(seen).toMatch(/\* FLAGS \([^)]*\$Project7[^)]*\)\r\n[\s\S]*\* 2 FETCH \(UID \d+ FLAGS \([^)]*\$Project7/);
    const again = await b.cmd('s2', 'SELECT INBOX');
    expect(again).toMatch(/\* FLAGS \([^)]*\$Project7/);
    // Storing it again sends no second update.
    expect(await a.cmd('b', 'STORE 3 +FLAGS ($Project7)')).not.toMatch(/\* FLAGS/);
    await sleep(10);
    a.close();
    b.close();
  });
});

describe('LSUB and LIST-EXTENDED subscriptions (RFC 3501 6.3.9, RFC 5258 3.5)', () => {
  let env: ImapTestEnv;
  let c: RawClient;
  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    c = await RawClient.connect(env.server.ports.imaps, true);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
    for (const name of ['box', 'box/test', 'box/test2', 'box/test2/test', 'box/test3', 'box/test3/test3', 'box/t8', 'box/t8/t8', 'box/t8/t9']) {
      expect(await c.cmd('c', `CREATE ${name}`)).toMatch(/c OK/);
    }
    for (const name of ['box/test', 'box/test2/test', 'box/test3/test3', 'box/t8/t8', 'box/t8/t9']) await c.cmd('s', `SUBSCRIBE ${name}`);
  });
  afterAll(async () => {
    c?.close();
    await env?.close();
  });

  it('LSUB with % returns unsubscribed parents of subscribed children as \\Noselect (RFC 3501 6.3.9)', async () => {
    const r = await c.cmd('a', 'LSUB "" box/%');
    expect(r).toContain('* LSUB () "/" box/test\r\n');
    expect(r).toContain('* LSUB (\\Noselect) "/" box/test2\r\n');
    expect(r).toContain('* LSUB (\\Noselect) "/" box/test3\r\n');
    expect(r).not.toContain('box/test2/test');
    const star = await c.cmd('b', 'LSUB "" *test');
    expect(star).toContain('* LSUB () "/" box/test\r\n');
    expect(star).toContain('* LSUB () "/" box/test2/test\r\n');
    expect(star).not.toContain('Noselect');
  });

  it('LIST (SUBSCRIBED RECURSIVEMATCH) returns CHILDINFO only for parents whose subscribed child is not matched (RFC 5258 3.5)', async () => {
    const r = await c.cmd('a', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" box/test2% RETURN (CHILDREN)');
    expect(r).toMatch(/\* LIST \(\\HasChildren\) "\/" box\/test2 \("CHILDINFO" \("SUBSCRIBED"\)\)\r\n/);
    expect(r).not.toContain('box/test2/test');
    const both = await c.cmd('b', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" (box/test2 box/test2/test)');
    expect(both).not.toContain('CHILDINFO');
    expect(both).toMatch(/\* LIST \([^)]*\\Subscribed[^)]*\) "\/" box\/test2\/test\r\n/);
    const t8 = await c.cmd('c', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" *t8');
    expect(t8).toMatch(/ box\/t8 \("CHILDINFO" \("SUBSCRIBED"\)\)\r\n/);
    expect(t8).toMatch(/\\Subscribed[^)]*\) "\/" box\/t8\/t8\r\n/);
    const test3 = await c.cmd('d', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" *test3');
    expect(test3).not.toContain('CHILDINFO');
    expect(test3).not.toMatch(/ box\/test3\r\n/);
    expect(await c.cmd('e', 'LIST (RECURSIVEMATCH) "" *')).toMatch(/e BAD/);
  });

  it('DELETE of a mailbox with children is refused with the RFC 9051 HASCHILDREN code (no \\Noselect placeholders are kept), the children stay (RFC 9051 7.1)', async () => {
    expect(await c.cmd('a', 'DELETE box/t8')).toMatch(/a NO \[HASCHILDREN\]/);
    expect(await c.cmd('b', 'LIST "" box/t8/%')).toContain('* LIST (\\HasNoChildren) "/" box/t8/t8\r\n');
  });
});
