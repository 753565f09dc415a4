/**
 * IMAP4rev2 (RFC 9051) as a second revision next to IMAP4rev1: what `ENABLE IMAP4rev2` switches
 * for one session, on the wire with a raw client, while a rev1 session on the same mailbox keeps
 * RFC 3501's behaviour; and imapflow's whole connect sequence against the server (it enables
 * IMAP4rev2 when advertised).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImapFlow } from 'imapflow';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'rev2@rev2.test';
const PASS = 'revision two passphrase';
/** The imapflow case runs on its own mailbox, independent of the raw-socket cases. */
const FLOW = 'flow@rev2.test';

const mail = (headers: string, body = 'hello') => Buffer.from(`${headers.trim().replace(/\n/g, '\r\n')}\r\n\r\n${body}\r\n`);

/** A message whose attachment names use RFC 2231 continuations and charset'lang'value. */
const RFC2231 = mail(
  `From: a@example.org
To: ${USER}
Subject: rates
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"`,
  [
    '--b1',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'see attached',
    '--b1',
    "Content-Type: text/plain; name*=iso-8859-1'de'F%FCr.txt",
    'Content-Disposition: attachment; filename*0*=utf-8\'\'%E2%82%AC%20rates; filename*1=" 2024.txt"',
    '',
    'numbers',
    '--b1--',
  ].join('\r\n'),
);

describe('IMAP4rev2 (RFC 9051) next to IMAP4rev1', () => {
  let env: ImapTestEnv;
  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    await env.core.deliver(USER, mail(`From: a@example.org\nTo: ${USER}\nSubject: one`));
    await env.core.deliver(USER, mail(`From: b@example.org\nTo: ${USER}\nSubject: two`));
    await env.core.deliver(USER, RFC2231);
    await env.core.createMailbox(FLOW, PASS);
    await env.core.deliver(FLOW, mail(`From: a@example.org\nTo: ${FLOW}\nSubject: one`));
    await env.core.deliver(FLOW, mail(`From: b@example.org\nTo: ${FLOW}\nSubject: two`));
    await env.core.deliver(FLOW, RFC2231);
  });
  afterAll(async () => env?.close());

  const login = async (rev2: boolean) => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    expect(await c.cmd('l', `LOGIN ${USER} "${PASS}"`)).toMatch(/l OK/);
    if (rev2) expect(await c.cmd('e', 'ENABLE IMAP4rev2')).toMatch(/\* ENABLED IMAP4rev2\r\ne OK/);
    return c;
  };

  it('advertises both revisions and switches with ENABLE IMAP4rev2 (RFC 9051 Appendix A, 6.3.1)', async () => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    expect(await c.cmd('a', 'CAPABILITY')).toMatch(/\* CAPABILITY IMAP4rev1 IMAP4rev2 /);
    expect(await c.cmd('l', `LOGIN ${USER} "${PASS}"`)).toMatch(/l OK/);
    // Unknown names are ignored (RFC 5161 3.1); IMAP4rev2 once.
    expect(await c.cmd('b', 'ENABLE X-UNKNOWN IMAP4rev2')).toMatch(/\* ENABLED IMAP4rev2\r\nb OK/);
    expect(await c.cmd('c', 'ENABLE IMAP4rev2')).toMatch(/\* ENABLED\r\nc OK/);
    c.close();
  });

  it('mailbox names are UTF-8 in NFC under rev2 and modified UTF-7 under rev1, for the same folder (RFC 9051 5.1, RFC 3501 5.1.3)', async () => {
    const two = await login(true);
    const one = await login(false);
    expect(await two.cmd('a', 'CREATE "Entwürfe/Grüße"')).toMatch(/a OK/);
    expect(await two.cmd('b', 'LIST "" "Entw*"')).toMatch(/\* LIST \([^)]*\) "\/" "Entwürfe\/Grüße"\r\n/);
    expect(await one.cmd('b', 'LIST "" "Entw*"')).toMatch(/\* LIST \([^)]*\) "\/" Entw&APw-rfe\/Gr&APwA3w-e\r\n/);
    // "&" is an ordinary character under rev2, and rev1 sees it as "&-".
    expect(await two.cmd('c', 'CREATE "R&D"')).toMatch(/c OK/);
    expect(await one.cmd('c', 'LIST "" "R*"')).toMatch(/\* LIST \([^)]*\) "\/" R&-D\r\n/);
    expect(await one.cmd('d', 'SELECT R&-D')).toMatch(/d OK/);
    // A name in NFD is stored in NFC; CREATE and SELECT say so with OLDNAME.
    const nfd = 'Cafe\u0301';
    const created = await two.cmd('d', `CREATE "${nfd}"`);
    expect(created).toContain(`* LIST () "/" "Café" ("OLDNAME" ("${nfd}"))`);
    expect(created).toMatch(/d OK/);
    const selected = await two.cmd('e', `SELECT "${nfd}"`);
    expect(selected).toContain(`* LIST () "/" "Café" ("OLDNAME" ("${nfd}"))`);
    expect(selected).toMatch(/e OK \[READ-WRITE\]/);
    expect(await one.cmd('f', 'STATUS Caf&AOk- (MESSAGES)')).toMatch(/\* STATUS Caf&AOk- \(MESSAGES 0\)/);
    two.close();
    one.close();
  });

  it('has no \\Recent: no RECENT response, flag, STATUS item or search key; rev1 sessions still get it (RFC 9051 Appendix E, 6.3.2, 6.4.4)', async () => {
    await env.core.deliver(USER, mail(`From: c@example.org\nTo: ${USER}\nSubject: fresh`));
    const two = await login(true);
    const sel = await two.cmd('s', 'SELECT INBOX');
    expect(sel).toMatch(/\* 4 EXISTS\r\n/);
    expect(sel).not.toMatch(/RECENT|\[UNSEEN/);
    expect(sel).toMatch(/\* LIST \(\) "\/" INBOX\r\n/);
    const flags = await two.cmd('f', 'FETCH 4 FLAGS');
    expect(flags).toMatch(/\* 4 FETCH \(FLAGS \(\)\)/);
    expect(await two.cmd('g', 'STATUS INBOX (MESSAGES RECENT)')).toMatch(/g BAD/);
    expect(await two.cmd('h', 'STATUS INBOX (MESSAGES DELETED SIZE)')).toMatch(/\* STATUS INBOX \(MESSAGES 4 DELETED 0 SIZE \d+\)\r\nh OK/);
    for (const key of ['RECENT', 'NEW', 'OLD']) expect(await two.cmd('k', `SEARCH ${key}`)).toMatch(/k BAD/);
    // The rev2 session claimed nothing: a rev1 session is the first to be told of message 4.
    const one = await login(false);
    const sel1 = await one.cmd('s', 'SELECT INBOX');
    expect(sel1).toMatch(/\* 4 RECENT\r\n/);
    expect(await one.cmd('f', 'FETCH 4 FLAGS')).toMatch(/\* 4 FETCH \(FLAGS \(\\Recent\)\)/);
    // New mail while selected: EXISTS alone under rev2, EXISTS and RECENT under rev1.
    await one.cmd('i', 'EXAMINE INBOX');
    await env.core.deliver(USER, mail(`From: d@example.org\nTo: ${USER}\nSubject: fresher`));
    const n2 = await two.cmd('n', 'NOOP');
    expect(n2).toMatch(/\* 5 EXISTS\r\n/);
    expect(n2).not.toMatch(/RECENT/);
    expect(await one.cmd('n', 'NOOP')).toMatch(/\* 5 EXISTS\r\n\* 1 RECENT\r\n/);
    // Message 5 goes again, so the imapflow case below starts from four messages.
    expect(await two.cmd('x', 'UID STORE 5 +FLAGS.SILENT (\\Deleted)')).toMatch(/x OK/);
    expect(await two.cmd('y', 'EXPUNGE')).toMatch(/y OK/);
    two.close();
    one.close();
  });

  it('answers SEARCH with ESEARCH, for sequence numbers and UIDs, empty results included (RFC 9051 6.4.4, 7.3.4)', async () => {
    const two = await login(true);
    await two.cmd('s', 'EXAMINE INBOX');
    const all = await two.cmd('a', 'SEARCH ALL');
    expect(all).toMatch(/\* ESEARCH \(TAG "a"\) ALL 1:\d\r\na OK/);
    expect(all).not.toMatch(/\* SEARCH/);
    expect(await two.cmd('b', 'UID SEARCH SUBJECT two')).toMatch(/\* ESEARCH \(TAG "b"\) UID ALL 2\r\nb OK/);
    expect(await two.cmd('c', 'UID SEARCH SUBJECT nothing-like-this')).toMatch(/\* ESEARCH \(TAG "c"\) UID\r\nc OK/);
    expect(await two.cmd('d', 'SEARCH RETURN (COUNT) ALL')).toMatch(/\* ESEARCH \(TAG "d"\) COUNT \d\r\nd OK/);
    // A rev1 session keeps the SEARCH response.
    const one = await login(false);
    await one.cmd('s', 'EXAMINE INBOX');
    expect(await one.cmd('b', 'UID SEARCH SUBJECT two')).toMatch(/\* SEARCH 2\r\nb OK/);
    two.close();
    one.close();
  });

  it('sends OK [CLOSED] when SELECT closes the previous mailbox, without QRESYNC (RFC 9051 7.1)', async () => {
    const two = await login(true);
    expect(await two.cmd('a', 'SELECT INBOX')).not.toMatch(/CLOSED/);
    const again = await two.cmd('b', 'EXAMINE Sent');
    expect(again).toMatch(/^\* OK \[CLOSED\]/);
    const one = await login(false);
    await one.cmd('a', 'SELECT INBOX');
    expect(await one.cmd('b', 'EXAMINE Sent')).not.toMatch(/CLOSED/);
    two.close();
    one.close();
  });

  it('DELETE of a mailbox with children leaves a \\Noselect name under rev2; rev1 is refused with HASCHILDREN (RFC 9051 6.3.4, 7.3.1)', async () => {
    const two = await login(true);
    const one = await login(false);
    expect(await two.cmd('a', 'CREATE Projects/2026')).toMatch(/a OK/);
    expect(await two.cmd('b', 'SUBSCRIBE Projects/2026')).toMatch(/b OK/);
    expect(await one.cmd('a', 'DELETE Projects')).toMatch(/a NO \[HASCHILDREN\]/);
    expect(await two.cmd('c', 'DELETE Projects')).toMatch(/c OK/);
    expect(await two.cmd('d', 'SELECT Projects')).toMatch(/d NO \[NONEXISTENT\]/);
    const list = await two.cmd('e', 'LIST "" "Projects*"');
    expect(list).toMatch(/\* LIST \(\\Noselect \\HasChildren\) "\/" Projects\r\n/);
    expect(list).toMatch(/\* LIST \(\\HasNoChildren\) "\/" Projects\/2026\r\n/);
    // The \Noselect name cannot be deleted while it has children.
    expect(await two.cmd('f', 'DELETE Projects')).toMatch(/f NO \[HASCHILDREN\]/);
    // RECURSIVEMATCH: the name is neither a mailbox nor subscribed, so \NonExistent + CHILDINFO (RFC 9051 6.3.9 table).
    expect(await two.cmd('g', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "Proj%"')).toMatch(/\* LIST \(\\NonExistent \\HasChildren\) "\/" Projects \("CHILDINFO" \("SUBSCRIBED"\)\)\r\n/);
    // A subscribed name whose mailbox is gone is \NonExistent under SUBSCRIBED (RFC 9051 6.3.9).
    expect(await two.cmd('h', 'DELETE Projects/2026')).toMatch(/h OK/);
    expect(await two.cmd('i', 'LIST (SUBSCRIBED) "" "Projects*"')).toMatch(/\* LIST \(\\NonExistent \\HasNoChildren \\Subscribed\) "\/" Projects\/2026\r\n/);
    expect(await two.cmd('j', 'LIST "" "Projects*"')).toMatch(/^j OK/);
    expect(await two.cmd('k', 'CREATE Projects')).toMatch(/k OK/);
    two.close();
    one.close();
  });

  it('decodes RFC 2231 parameters in BODYSTRUCTURE under rev2 and passes them on as sent under rev1 (RFC 9051 7.5.2, RFC 2231 3-4)', async () => {
    const two = await login(true);
    await two.cmd('s', 'EXAMINE INBOX');
    const bs2 = await two.cmd('a', 'UID FETCH 3 BODYSTRUCTURE');
    expect(bs2).toContain('("NAME" "Für.txt")');
    expect(bs2).toContain('("ATTACHMENT" ("FILENAME" "€ rates 2024.txt"))');
    const one = await login(false);
    await one.cmd('s', 'EXAMINE INBOX');
    const bs1 = await one.cmd('a', 'UID FETCH 3 BODYSTRUCTURE');
    expect(bs1).toContain(`("NAME*" "iso-8859-1'de'F%FCr.txt")`);
    expect(bs1).toContain(`("ATTACHMENT" ("FILENAME*" "utf-8''%E2%82%AC%20rates%202024.txt"))`);
    two.close();
    one.close();
  });

  it("imapflow's whole session enables IMAP4rev2 and works: connect, list, status, select, fetch, search, append, idle, logout", async () => {
    // imapflow logs every command it sends (src "c"): kept to check what it negotiated.
    const lines: string[] = [];
    const record = (o: { src?: string; msg?: string }) => {
      if (o?.src === 'c' && typeof o.msg === 'string') lines.push(o.msg);
    };
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: env.server.ports.imaps,
      secure: true,
      auth: { user: FLOW, pass: PASS },
      tls: { rejectUnauthorized: false },
      logger: { debug: record, info: record, warn: () => undefined, error: () => undefined, trace: () => undefined },
    });
    await client.connect();
    expect(client.enabled.has('IMAP4REV2')).toBe(true);
    // imapflow sends UTF-8 names to a rev2 session; a rev1 client sees the same folder in modified UTF-7.
    await client.mailboxCreate('Entwürfe/Grüße');
    const names = (await client.list()).map((f) => f.path);
    expect(names).toContain('Entwürfe/Grüße');
    expect(names).toContain('INBOX');
    const raw = await RawClient.connect(env.server.ports.imaps, true);
    await raw.cmd('l', `LOGIN ${FLOW} "${PASS}"`);
    expect(await raw.cmd('a', 'LIST "" "Entw*/*"')).toContain('"/" Entw&APw-rfe/Gr&APwA3w-e\r\n');
    raw.close();
    const st = await client.status('INBOX', { messages: true, unseen: true, uidNext: true });
    expect(st && st.messages).toBe(3);
    expect(st && st.unseen).toBe(3);
    const box = await client.mailboxOpen('INBOX');
    expect(box.exists).toBe(3);
    const msgs: Array<{ uid: number; subject?: string; flags?: Set<string> }> = [];
    for await (const m of client.fetch('1:*', { uid: true, envelope: true, flags: true, bodyStructure: true })) {
      msgs.push({ uid: m.uid, subject: m.envelope?.subject, flags: m.flags });
      if (m.uid === 3) expect(m.bodyStructure?.childNodes?.[1]?.dispositionParameters?.filename).toBe('€ rates 2024.txt');
    }
    expect(msgs.map((m) => m.subject)).toEqual(['one', 'two', 'rates']);
    expect(msgs.every((m) => !m.flags?.has('\\Recent'))).toBe(true);
    expect(await client.search({ subject: 'two' }, { uid: true })).toEqual([2]);
    const appended = await client.append('Entwürfe/Grüße', mail(`From: me@rev2.test\nTo: x@example.org\nSubject: draft`), ['\\Draft']);
    expect(appended && appended.uid).toBe(1);
    const draft = await client.status('Entwürfe/Grüße', { messages: true });
    expect(draft && draft.messages).toBe(1);

    const got = new Promise<number>((resolve) => client.on('exists', (d: { count: number }) => resolve(d.count)));
    const idling = client.idle();
    const sent = Date.now();
    await env.core.deliver(FLOW, mail(`From: e@example.org\nTo: ${FLOW}\nSubject: during idle`));
    expect(await got).toBe(4);
    expect(Date.now() - sent).toBeLessThan(1000);
    await client.logout();
    await idling.catch(() => undefined);
    // What imapflow sent: ENABLE with IMAP4rev2, and no RECENT asked of a rev2 session.
    expect(
      lines.some((l) => /ENABLE .*IMAP4rev2/i.test(l)),
      lines.join('\n'),
    ).toBe(true);
    expect(lines.some((l) => /STATUS .*RECENT/.test(l))).toBe(false);
  });
});
