/**
 * SORT / SORT=DISPLAY / ESORT, THREAD=ORDEREDSUBJECT / REFERENCES (through Python's imaplib),
 * ESEARCH, SEARCHRES and PARTIAL (raw client). Each case cites the RFC section it checks.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const run = promisify(execFile);
const USER = 'sort@sort.test';
const PASS = 'sort thread passphrase';

const mail = (h: Record<string, string | undefined>, body = 'text') =>
  Buffer.from(
    `${Object.entries(h)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n${body}\r\n`,
  );

// Sequence numbers 1..7 in delivery order.
const MESSAGES = [
  { From: 'Zed <zed@b.example>', To: 'carol@x.example', Cc: 'b@x.example', Subject: 'Lunch', Date: 'Mon, 1 Jan 2024 10:00:00 +0000', 'Message-ID': '<m1@x>' },
  { From: 'adam@c.example', To: 'bob@x.example', Subject: 'Re: Lunch', Date: 'Mon, 1 Jan 2024 11:00:00 +0000', 'Message-ID': '<m2@x>', 'In-Reply-To': '<m1@x>' },
  { From: '"Bea" <yves@a.example>', To: 'Al <zz@x.example>', Cc: 'a@x.example', Subject: 'Budget', Date: 'Sun, 31 Dec 2023 09:00:00 +0000', 'Message-ID': '<m3@x>' },
  { From: 'carl@d.example', To: 'dan@x.example', Subject: 'RE: [list] Re: lunch', Date: 'Mon, 1 Jan 2024 12:00:00 +0000', 'Message-ID': '<m4@x>', References: '<m1@x> <m2@x>' },
  { From: 'eve@e.example', To: 'eve@x.example', Subject: 'Fwd: Budget (fwd)', Date: 'Tue, 2 Jan 2024 08:00:00 +0000', 'Message-ID': '<m5@x>' },
  { From: 'fay@f.example', To: 'fay@x.example', Subject: 'Other', Date: 'Tue, 2 Jan 2024 09:00:00 +0000', 'Message-ID': '<m6@x>', References: '<missing@x>' },
  { From: 'gus@g.example', To: 'gus@x.example', Subject: 'Other', Date: 'Tue, 2 Jan 2024 10:00:00 +0000', 'Message-ID': '<m7@x>', References: '<missing@x>' },
];

describe('SORT, THREAD, ESEARCH, SEARCHRES', () => {
  let env: ImapTestEnv;
  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    for (const m of MESSAGES) await env.core.deliver(USER, mail(m));
  });
  afterAll(async () => env?.close());

  const python = async (script: string) => {
    const { stdout } = await run('python3', ['-c', script], { env: { ...process.env, IMAPS_PORT: String(env.server.ports.imaps), IMAP_USER: USER, IMAP_PASS: PASS }, timeout: 20_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, string>;
  };
  const PRELUDE = `
import imaplib, json, os, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['IMAPS_PORT']), ssl_context=ctx)
m.login(os.environ['IMAP_USER'], os.environ['IMAP_PASS'])
m.select('INBOX', readonly=True)
out = {}
def r(name, typ, data):
    out[name] = typ + ' ' + ' '.join(d.decode() if isinstance(d, bytes) else str(d) for d in data if d is not None)
`;

  it('imaplib: SORT by each RFC 5256 key, REVERSE, SORT=DISPLAY and UID SORT (RFC 5256 3, RFC 5957 3)', async () => {
    const res = await python(`${PRELUDE}
for key in ['ARRIVAL', 'DATE', 'SUBJECT', 'FROM', 'TO', 'CC', 'SIZE', 'REVERSE DATE', 'DISPLAYFROM', 'DISPLAYTO', 'SUBJECT REVERSE DATE']:
    r(key, *m.sort('(' + key + ')', 'UTF-8', 'ALL'))
r('search', *m.sort('(DATE)', 'UTF-8', 'NOT', 'FROM', 'zed'))
r('uid', *m.uid('SORT', '(REVERSE DATE)', 'UTF-8', 'ALL'))
r('caps', 'OK', [' '.join(m.capabilities)])
m.logout()
print(json.dumps(out))
`);
    expect(res.caps).toMatch(/ SORT /);
    expect(res.caps).toContain('SORT=DISPLAY');
    expect(res.ARRIVAL).toBe('OK 1 2 3 4 5 6 7');
    expect(res.DATE).toBe('OK 3 1 2 4 5 6 7');
    expect(res['REVERSE DATE']).toBe('OK 7 6 5 4 2 1 3');
    // Base subjects: budget (3, 5), lunch (1, 2, 4), other (6, 7); ties by sequence number.
    expect(res.SUBJECT).toBe('OK 3 5 1 2 4 6 7');
    expect(res['SUBJECT REVERSE DATE']).toBe('OK 5 3 4 2 1 7 6');
    // FROM sorts on the local part (addr-mailbox): adam carl eve fay gus yves zed.
    expect(res.FROM).toBe('OK 2 4 5 6 7 3 1');
    expect(res.TO).toBe('OK 2 1 4 5 6 7 3');
    // CC: messages without Cc sort first (empty string), then a@ (3), b@ (1).
    expect(res.CC).toBe('OK 2 4 5 6 7 3 1');
    // DISPLAYFROM: display name when present (Bea, Zed), else the address.
    expect(res.DISPLAYFROM).toBe('OK 2 3 4 5 6 7 1');
    expect(res.DISPLAYTO).toBe('OK 3 2 1 4 5 6 7');
    expect(res.search).toBe('OK 3 2 4 5 6 7');
    expect(res.uid.split(' ').slice(1).map(Number)).toEqual([7, 6, 5, 4, 2, 1, 3]);
  });

  it('imaplib: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 2.1, 2.2, 4)', async () => {
    const res = await python(`${PRELUDE}
r('os', *m.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL'))
r('refs', *m.thread('REFERENCES', 'UTF-8', 'ALL'))
r('refsub', *m.thread('REFERENCES', 'UTF-8', 'SINCE', '1-Jan-2000'))
try:
    m.thread('NOSUCH', 'UTF-8', 'ALL'); out['unknown'] = 'OK'
except imaplib.IMAP4.error as e:
    out['unknown'] = 'BAD'
m.logout()
print(json.dumps(out))
`);
    // ORDEREDSUBJECT: threads by base subject, ordered by their first message's date.
    expect(res.os).toBe('OK (3 5)(1 (2)(4))(6 7)');
    // REFERENCES: 1 <- 2 (In-Reply-To) <- 4 (References) is a chain; 5 is a Fwd: of "budget"
    // and joins 3 by subject; 6 and 7 share a missing parent, a dummy kept at the root.
    expect(res.refs).toBe('OK (3 5)(1 2 4)((6)(7))');
    expect(res.refsub).toBe(res.refs);
    expect(res.unknown).toBe('BAD');
  });

  const login = async () => {
    const c = await RawClient.connect(env.server.ports.imaps, true);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
    await c.cmd('s', 'EXAMINE INBOX');
    return c;
  };

  it('ESEARCH: RETURN (MIN MAX COUNT ALL), RETURN (), no match, UID form (RFC 4731 3.1)', async () => {
    const c = await login();
    expect(await c.cmd('a', 'SEARCH RETURN (MIN MAX COUNT) FROM example')).toContain('* ESEARCH (TAG "a") MIN 1 MAX 7 COUNT 7\r\n');
    expect(await c.cmd('b', 'SEARCH RETURN () SUBJECT lunch')).toContain('* ESEARCH (TAG "b") ALL 1:2,4\r\n');
    expect(await c.cmd('c', 'SEARCH RETURN (MIN MAX ALL COUNT) SUBJECT nothing-like-this')).toContain('* ESEARCH (TAG "c") COUNT 0\r\n');
    expect(await c.cmd('d', 'UID SEARCH RETURN (COUNT) ALL')).toContain('* ESEARCH (TAG "d") UID COUNT 7\r\n');
    expect(await c.cmd('e', 'SEARCH RETURN (FOO) ALL')).toMatch(/e BAD/);
    c.close();
  });

  it('SEARCHRES: SAVE alone answers no ESEARCH, "$" works in SEARCH/FETCH, MIN/MAX save only those (RFC 5182 2.1-2.4)', async () => {
    const c = await login();
    const saved = await c.cmd('a', 'SEARCH RETURN (SAVE) SUBJECT lunch');
    expect(saved).not.toContain('ESEARCH');
    expect(saved).not.toContain('* SEARCH');
    expect(await c.cmd('b', 'FETCH $ (UID)')).toMatch(/\* 1 FETCH \(UID 1\)\r\n\* 2 FETCH \(UID 2\)\r\n\* 4 FETCH \(UID 4\)\r\nb OK/);
    expect(await c.cmd('c', 'SEARCH $ FROM carl')).toContain('* SEARCH 4\r\n');
    expect(await c.cmd('d', 'UID SEARCH UID $')).toContain('* SEARCH 1 2 4\r\n');
    expect(await c.cmd('e', 'SEARCH RETURN (SAVE MIN MAX) SUBJECT lunch')).toContain('* ESEARCH (TAG "e") MIN 1 MAX 4\r\n');
    expect(await c.cmd('f', 'SEARCH $')).toContain('* SEARCH 1 4\r\n');
    // A failing SEARCH ... SAVE empties "$".
    expect(await c.cmd('g', 'SEARCH RETURN (SAVE) BADKEY')).toMatch(/g BAD/);
    expect(await c.cmd('h', 'SEARCH $')).toContain('* SEARCH\r\n');
    c.close();
  });

  it('ESORT and PARTIAL: SORT RETURN (MIN MAX COUNT ALL) in sort order, PARTIAL ranges (RFC 5267 3, 4.4)', async () => {
    const c = await login();
    expect(await c.cmd('a', 'SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL')).toContain('* ESEARCH (TAG "a") MIN 3 MAX 7 ALL 3,1,2,4,5,6,7 COUNT 7\r\n');
    expect(await c.cmd('b', 'SORT RETURN (PARTIAL 2:3) (DATE) UTF-8 ALL')).toContain('* ESEARCH (TAG "b") PARTIAL (2:3 1,2)\r\n');
    expect(await c.cmd('c', 'SEARCH RETURN (PARTIAL 1:2) SUBJECT lunch')).toContain('* ESEARCH (TAG "c") PARTIAL (1:2 1:2)\r\n');
    expect(await c.cmd('d', 'SORT (NOSUCH) UTF-8 ALL')).toMatch(/d BAD/);
    expect(await c.cmd('e', 'SORT (DATE) KOI8-R ALL')).toMatch(/e NO \[BADCHARSET/);
    c.close();
  });

  it('SORT after a delivery, a flag change and an expunge sees the folder as it is now (RFC 5256 3)', async () => {
    await env.core.createMailbox('fresh@sort.test', PASS);
    for (const m of MESSAGES.slice(0, 3)) await env.core.deliver('fresh@sort.test', mail(m));
    const c = await RawClient.connect(env.server.ports.imaps, true);
    await c.cmd('l', `LOGIN fresh@sort.test "${PASS}"`);
    await c.cmd('s', 'SELECT INBOX');
    expect(await c.cmd('a', 'UID SORT (DATE) UTF-8 ALL')).toContain('* SORT 3 1 2\r\n');
    await env.core.deliver('fresh@sort.test', mail({ ...MESSAGES[3]!, Date: 'Sat, 1 Jan 2000 00:00:00 +0000' }));
    await c.cmd('n', 'NOOP');
    expect(await c.cmd('b', 'UID SORT (DATE) UTF-8 ALL')).toContain('* SORT 4 3 1 2\r\n');
    await c.cmd('f', 'UID STORE 3 +FLAGS (\\Deleted)');
    expect(await c.cmd('c', 'UID SORT (DATE) UTF-8 UNDELETED')).toContain('* SORT 4 1 2\r\n');
    await c.cmd('e', 'EXPUNGE');
    expect(await c.cmd('d', 'UID SORT (DATE) UTF-8 ALL')).toContain('* SORT 4 1 2\r\n');
    expect(await c.cmd('t', 'UID THREAD ORDEREDSUBJECT UTF-8 ALL')).toContain('* THREAD (4 (1)(2))\r\n');
    c.close();
  });
});
