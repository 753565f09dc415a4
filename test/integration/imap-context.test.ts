/**
 * CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4): RETURN (UPDATE) keeps a SEARCH or SORT result
 * current with ADDTO/REMOVETO as other sessions and deliveries change the folder; CANCELUPDATE
 * ends it; NOUPDATE where no context is kept. Raw sockets, two sessions on the same folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, sleep, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'ctx@ctx.test';
const PASS = 'context update passphrase';
const mail = (subject: string) => Buffer.from(`From: a@example.org\r\nSubject: ${subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody\r\n`);

describe('CONTEXT=SEARCH, CONTEXT=SORT', () => {
  let env: ImapTestEnv;
  let a: RawClient;
  let b: RawClient;
  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    for (const s of ['bravo', 'delta', 'foxtrot']) await env.core.deliver(USER, mail(s)); // UIDs 1..3
    a = await RawClient.connect(env.server.ports.imaps, true);
    b = await RawClient.connect(env.server.ports.imaps, true);
    await a.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await b.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await a.cmd('s', 'SELECT INBOX');
    await b.cmd('s', 'SELECT INBOX');
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    await env?.close();
  });

  it('advertises CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4)', async () => {
    const caps = await a.cmd('c', 'CAPABILITY');
    expect(caps).toContain(' CONTEXT=SEARCH');
    expect(caps).toContain(' CONTEXT=SORT');
    expect(caps).toContain(' ESORT');
  });

  it('SEARCH RETURN (UPDATE): ADDTO for new and newly matching messages, REMOVETO for flag changes and expunges, UIDs and position 0 (RFC 5267 4.2, 4.3)', async () => {
    const first = await a.cmd('S1', 'SEARCH RETURN (COUNT UPDATE) UNSEEN');
    expect(first).toContain('* ESEARCH (TAG "S1") COUNT 3\r\n');
    // Another session marks UID 2 seen: it leaves the result.
    expect(await b.cmd('b1', 'UID STORE 2 +FLAGS (\\Seen)')).toMatch(/b1 OK/);
    let r = await a.cmd('n1', 'NOOP');
    expect(r).toContain('* ESEARCH (TAG "S1") UID REMOVETO (0 2)\r\n');
    expect(r.indexOf('* 2 FETCH')).toBeLessThan(r.indexOf('REMOVETO'));
    // A delivery: ADDTO after the EXISTS that introduces it.
    await env.core.deliver(USER, mail('alpha')); // UID 4
    r = await a.cmd('n2', 'NOOP');
    expect(r).toMatch(/\* 4 EXISTS\r\n[\s\S]*\* ESEARCH \(TAG "S1"\) UID ADDTO \(0 4\)\r\n/);
    expect(r.indexOf('EXISTS')).toBeLessThan(r.indexOf('ADDTO'));
    // Unmarking makes it match again; a change that keeps it matching sends nothing.
    await b.cmd('b2', 'UID STORE 2 -FLAGS (\\Seen)');
    await b.cmd('b3', 'UID STORE 3 +FLAGS (\\Flagged)');
    r = await a.cmd('n3', 'NOOP');
    expect(r).toContain('* ESEARCH (TAG "S1") UID ADDTO (0 2)\r\n');
    expect(r.match(/ESEARCH/g)).toHaveLength(1);
    // The session's own STORE updates its context too.
    r = await a.cmd('st', 'UID STORE 1 +FLAGS.SILENT (\\Seen)');
    expect(r).toContain('* ESEARCH (TAG "S1") UID REMOVETO (0 1)\r\n');
    // An expunge by another session: REMOVETO once the EXPUNGE is reported.
    await b.cmd('b4', 'UID STORE 3 +FLAGS (\\Deleted)');
    await b.cmd('b5', 'EXPUNGE');
    r = await a.cmd('n4', 'NOOP');
    expect(r).toMatch(/\* 3 EXPUNGE\r\n[\s\S]*\* ESEARCH \(TAG "S1"\) UID REMOVETO \(0 3\)\r\n/);
    expect(await a.cmd('c1', 'CANCELUPDATE "S1"')).toMatch(/c1 OK/);
  });

  it('updates arrive during IDLE without a command (RFC 5267 4.3, RFC 2177)', async () => {
    // UPDATE alone: no result data now, only updates later.
    expect(await a.cmd('S2', 'UID SEARCH RETURN (UPDATE) FLAGGED')).toContain('* ESEARCH (TAG "S2") UID\r\n');
    a.send('i IDLE\r\n');
    await a.until((buf) => buf.includes('+ idling') || buf.includes('+ '));
    a.take();
    const t0 = Date.now();
    await b.cmd('b1', 'UID STORE 4 +FLAGS (\\Flagged)');
    await a.until((buf) => buf.includes('* ESEARCH (TAG "S2") UID ADDTO (0 4)\r\n'), 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    a.send('DONE\r\n');
    await a.until((buf) => /i OK/.test(buf));
    a.take();
    await a.cmd('c', 'CANCELUPDATE "S2"');
  });

  it('SORT RETURN (UPDATE): ADDTO and REMOVETO carry the place in the sorted result (RFC 5267 4.3)', async () => {
    // Messages now: UID 1 bravo, 2 delta, 4 alpha.
    const first = await a.cmd('T1', 'UID SORT RETURN (ALL UPDATE) (SUBJECT) UTF-8 ALL');
    expect(first).toContain('* ESEARCH (TAG "T1") UID ALL 4,1,2\r\n');
    await env.core.deliver(USER, mail('charlie')); // UID 5, between bravo and delta
    await env.core.deliver(USER, mail('echo')); // UID 6, last
    let r = await a.cmd('n1', 'NOOP');
    expect(r).toContain('* ESEARCH (TAG "T1") UID ADDTO (3 5 5 6)\r\n');
    await b.cmd('b1', 'UID STORE 1 +FLAGS (\\Deleted)');
    await b.cmd('b2', 'UID EXPUNGE 1');
    r = await a.cmd('n2', 'NOOP');
    expect(r).toContain('* ESEARCH (TAG "T1") UID REMOVETO (2 1)\r\n');
    // The kept result matches a fresh SORT.
    expect(await a.cmd('v', 'UID SORT (SUBJECT) UTF-8 ALL')).toContain('* SORT 4 5 2 6\r\n');
    // A criterion on flags: a flag change moves a message in or out at its sorted place.
    await a.cmd('T2', 'UID SORT RETURN (UPDATE) (REVERSE SUBJECT) UTF-8 UNFLAGGED');
    await b.cmd('b3', 'UID STORE 2 +FLAGS (\\Flagged)');
    r = await a.cmd('n3', 'NOOP');
    expect(r).toContain('* ESEARCH (TAG "T2") UID REMOVETO (2 2)\r\n');
    await b.cmd('b4', 'UID STORE 2 -FLAGS (\\Flagged)');
    r = await a.cmd('n4', 'NOOP');
    expect(r).toContain('* ESEARCH (TAG "T2") UID ADDTO (2 2)\r\n');
    expect(await a.cmd('c', 'CANCELUPDATE "T1" "T2"')).toMatch(/c OK/);
  });

  it('CANCELUPDATE ends updates; unknown tags are refused; closing the mailbox ends contexts (RFC 5267 4.2)', async () => {
    await a.cmd('S3', 'SEARCH RETURN (MIN UPDATE) UNSEEN');
    expect(await a.cmd('c1', 'CANCELUPDATE "S3"')).toMatch(/c1 OK/);
    await env.core.deliver(USER, mail('golf'));
    let r = await a.cmd('n', 'NOOP');
    expect(r).toContain('EXISTS');
    expect(r).not.toContain('ESEARCH');
    expect(await a.cmd('c2', 'CANCELUPDATE "S3"')).toMatch(/c2 BAD/);
    expect(await a.cmd('c3', 'CANCELUPDATE')).toMatch(/c3 BAD/);
    await a.cmd('S4', 'SEARCH RETURN (UPDATE) ALL');
    await a.cmd('x', 'UNSELECT');
    await a.cmd('s', 'SELECT INBOX');
    await env.core.deliver(USER, mail('hotel'));
    r = await a.cmd('n2', 'NOOP');
    expect(r).not.toContain('ESEARCH');
    expect(await a.cmd('c4', 'CANCELUPDATE "S4"')).toMatch(/c4 BAD/);
  });

  it('NOUPDATE where no context is kept: PARTIAL, SAVE, a tag already being updated (RFC 5267 4.2)', async () => {
    await a.cmd('D1', 'SEARCH RETURN (UPDATE) ALL');
    expect(await a.cmd('D1', 'SEARCH RETURN (COUNT UPDATE) ALL')).toContain('* NO [NOUPDATE "D1"]');
    expect(await a.cmd('c', 'CANCELUPDATE "D1"')).toMatch(/c OK/);
    expect(await a.cmd('e', 'SEARCH RETURN (UPDATE UPDATE) ALL')).toMatch(/e BAD/);
    const p = await a.cmd('P1', 'SEARCH RETURN (PARTIAL 1:2 UPDATE) ALL');
    expect(p).toContain('* NO [NOUPDATE "P1"]');
    expect(p).toContain('* ESEARCH (TAG "P1") PARTIAL (1:2 1:2)');
    expect(p).toMatch(/P1 OK/);
    const s = await a.cmd('P2', 'SEARCH RETURN (SAVE UPDATE) ALL');
    expect(s).toContain('* NO [NOUPDATE "P2"]');
    await env.core.deliver(USER, mail('india'));
    await sleep(20);
    expect(await a.cmd('n', 'NOOP')).not.toContain('ESEARCH');
  });
});
