/**
 * OBJECTID (RFC 8474), SAVEDATE (RFC 8514), STATUS=SIZE (RFC 8438), PREVIEW (RFC 8970),
 * BINARY (RFC 3516), COMPRESS=DEFLATE (RFC 4978), MULTIAPPEND (RFC 3502) and CATENATE (RFC 4469) on the wire.
 */
import tls from 'node:tls';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startImapEnv, type ImapTestEnv } from './imap-harness.js';

const USER = 'ids@ids.test';
const PASS = 'object id passphrase';

describe('OBJECTID, SAVEDATE, STATUS=SIZE', () => {
  let env: ImapTestEnv;
  let c: RawClient;
  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    await env.core.deliver(USER, Buffer.from('From: a@example.org\r\nSubject: one\r\n\r\nbody one\r\n'));
    c = await RawClient.connect(env.server.ports.imaps, true);
    await c.cmd('l', `LOGIN ${USER} "${PASS}"`);
  });
  afterAll(async () => {
    c?.close();
    await env?.close();
  });

  it('advertises the extensions', async () => {
    const caps = await c.cmd('c', 'CAPABILITY');
    for (const cap of ['OBJECTID', 'SAVEDATE', 'STATUS=SIZE', 'PREVIEW', 'BINARY', 'COMPRESS=DEFLATE', 'MULTIAPPEND', 'CATENATE']) expect(caps).toContain(` ${cap}`);
  });

  it('MAILBOXID in CREATE, SELECT and STATUS, unchanged by RENAME (RFC 8474 4.1-4.3)', async () => {
    const created = await c.cmd('a', 'CREATE Work');
    const id = /a OK \[MAILBOXID \(([A-Za-z0-9_-]{1,255})\)\]/.exec(created)?.[1];
    expect(id).toBeTruthy();
    expect(await c.cmd('b', 'STATUS Work (MAILBOXID MESSAGES)')).toContain(`* STATUS Work (MAILBOXID (${id}) MESSAGES 0)`);
    expect(await c.cmd('r', 'RENAME Work Job')).toMatch(/r OK/);
    expect(await c.cmd('s', 'SELECT Job')).toContain(`* OK [MAILBOXID (${id})]`);
    const inbox = await c.cmd('t', 'STATUS INBOX (MAILBOXID)');
    expect(inbox).not.toContain(`(${id})`);
  });

  it('EMAILID is kept by COPY and MOVE and searchable; THREADID is NIL (RFC 8474 5.1, 5.2, 6)', async () => {
    await c.cmd('s', 'SELECT INBOX');
    const f = await c.cmd('f', 'FETCH 1 (EMAILID THREADID)');
    const emailId = /EMAILID \(([A-Za-z0-9_-]+)\)/.exec(f)?.[1];
    expect(emailId).toBeTruthy();
    expect(f).toContain('THREADID NIL');
    expect(await c.cmd('c', 'COPY 1 Job')).toMatch(/c OK/);
    expect(await c.cmd('x', `SEARCH EMAILID ${emailId}`)).toContain('* SEARCH 1\r\n');
    expect(await c.cmd('y', 'SEARCH EMAILID Mnothing')).toContain('* SEARCH\r\n');
    await c.cmd('j', 'SELECT Job');
    expect(await c.cmd('g', 'FETCH 1 EMAILID')).toContain(`EMAILID (${emailId})`);
  });

  it('SAVEDATE is when the entry was saved in this folder, searchable by day (RFC 8514 3, 4)', async () => {
    await c.cmd('s', 'SELECT Job');
    const f = await c.cmd('f', 'FETCH 1 (SAVEDATE INTERNALDATE)');
    const m = /SAVEDATE "(\d{2})-(\w{3})-(\d{4}) \d{2}:\d{2}:\d{2} \+0000"/.exec(f);
    expect(m).toBeTruthy();
    const today = new Date();
    const day = `${today.getUTCDate()}-${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][today.getUTCMonth()]}-${today.getUTCFullYear()}`;
    expect(await c.cmd('a', `SEARCH SAVEDON ${day}`)).toContain('* SEARCH 1\r\n');
    expect(await c.cmd('b', `SEARCH SAVEDBEFORE ${day}`)).toContain('* SEARCH\r\n');
    expect(await c.cmd('d', 'SEARCH SAVEDATESUPPORTED')).toContain('* SEARCH 1\r\n');
  });

  it('STATUS SIZE sums the message sizes (RFC 8438 2)', async () => {
    const st = await c.cmd('a', 'STATUS INBOX (SIZE MESSAGES)');
    const size = Number(/SIZE (\d+)/.exec(st)?.[1]);
    const f = await c.cmd('b', 'FETCH 1 RFC822.SIZE');
    expect(size).toBe(Number(/RFC822.SIZE (\d+)/.exec(f)?.[1]));
  });

  it('PREVIEW: plain text start, quoted lines dropped, HTML reduced, base64 decoded, LAZY accepted (RFC 8970 3-4)', async () => {
    const long = 'word '.repeat(100);
    await env.core.deliver(USER, Buffer.from(`From: a@example.org\r\nSubject: plain\r\n\r\n> quoted old text\r\nNew   text here\r\n${long}\r\n`));
    const html = Buffer.from('<html><head><style>p{}</style></head><body><p>Hello &amp; <b>welcome</b></p></body></html>').toString('base64');
    await env.core.deliver(
      USER,
      Buffer.from(
        `From: a@example.org\r\nSubject: html\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${html}\r\n--b\r\nContent-Type: application/pdf\r\n\r\nxx\r\n--b--\r\n`,
      ),
    );
    await c.cmd('s', 'SELECT INBOX');
    const r = await c.cmd('p', 'FETCH 2:3 (PREVIEW)');
    const plain = /\* 2 FETCH \(PREVIEW "([^"]*)"\)/.exec(r)?.[1] ?? '';
    expect(plain.startsWith('New text here word word')).toBe(true);
    expect([...plain].length).toBeLessThanOrEqual(256);
    expect(r).toContain('* 3 FETCH (PREVIEW "Hello & welcome")');
    expect(await c.cmd('q', 'FETCH 3 (UID PREVIEW (LAZY))')).toContain('PREVIEW "Hello & welcome"');
    expect(await c.cmd('r', 'FETCH 3 (PREVIEW (EAGER))')).toMatch(/r BAD/);
  });

  it('BINARY: base64 and quoted-printable parts decoded, BINARY.SIZE, partials, literal8 for NUL, UNKNOWN-CTE, APPEND literal8 (RFC 3516 4.1-4.3)', async () => {
    const bin = Buffer.from([0x00, 0x01, 0x02, 0xff, 0x41, 0x00]);
    const raw = [
      'From: a@example.org',
      'Subject: binary',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary=x',
      '',
      '--x',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'caf=C3=A9 =3D ok=',
      '!',
      '--x',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: base64',
      '',
      bin.toString('base64'),
      '--x',
      'Content-Type: application/x-odd',
      'Content-Transfer-Encoding: x-uuencode',
      '',
      'begin 644 x',
      '--x--',
      '',
    ].join('\r\n');
    await env.core.deliver(USER, Buffer.from(raw));
    await c.cmd('s', 'SELECT INBOX');
    const n = '*'; // the message just delivered
    const qp = await c.cmd('a', `FETCH ${n} (BINARY.PEEK[1] BINARY.SIZE[1])`);
    expect(qp).toContain('BINARY[1] {11}\r\ncafé = ok!');
    expect(qp).toContain('BINARY.SIZE[1] 11');
    const b = await c.cmd('b', `FETCH ${n} (BINARY.PEEK[2] BINARY.SIZE[2])`);
    expect(b).toContain('BINARY[2] ~{6}\r\n');
    expect(b).toContain('BINARY.SIZE[2] 6');
    expect(await c.cmd('p', `FETCH ${n} BINARY.PEEK[2]<4.10>`)).toContain('BINARY[2]<4> ~{2}\r\nA');
    expect(await c.cmd('u', `FETCH ${n} BINARY.PEEK[3]`)).toMatch(/u NO \[UNKNOWN-CTE\]/);
    expect(await c.cmd('f', `FETCH ${n} FLAGS`)).not.toContain('\\Seen');
    expect(await c.cmd('g', `FETCH ${n} BINARY[1]`)).toContain('\\Seen');
    // APPEND with a literal8 carrying NUL bytes (RFC 3516 4.3).
    const msg = Buffer.concat([Buffer.from('From: a@example.org\r\nSubject: nul\r\nContent-Transfer-Encoding: binary\r\n\r\n'), bin, Buffer.from('\r\n')]);
    c.send(`ap APPEND INBOX ~{${msg.length}+}\r\n`);
    c.send(msg);
    c.send('\r\n');
    expect(await c.until((buf) => /ap (OK|NO|BAD)/.test(buf))).toMatch(/ap OK/);
    c.take();
  });

  it('COMPRESS DEFLATE: OK in clear, then both directions deflated; a second COMPRESS is refused (RFC 4978 3, 4)', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: env.server.ports.imaps, rejectUnauthorized: false });
    let clear = '';
    let inflated = '';
    const inflate = zlib.createInflateRaw();
    inflate.on('data', (d: Buffer) => (inflated += d.toString('latin1')));
    let compressed = false;
    socket.on('data', (d: Buffer) => {
      if (compressed) inflate.write(d);
      else clear += d.toString('latin1');
    });
    const waitFor = async (get: () => string, re: RegExp) => {
      for (let i = 0; i < 200 && !re.test(get()); i++) await new Promise((r) => setTimeout(r, 10));
      expect(get()).toMatch(re);
    };
    await waitFor(() => clear, /\* OK/);
    socket.write(`a LOGIN ${USER} "${PASS}"\r\n`);
    await waitFor(() => clear, /a OK/);
    socket.write('z COMPRESS DEFLATE\r\n');
    await waitFor(() => clear, /z OK/);
    compressed = true;
    const deflate = zlib.createDeflateRaw();
    deflate.on('data', (d: Buffer) => socket.write(d));
    const send = (line: string) => {
      deflate.write(line);
      deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    };
    send('b SELECT INBOX\r\n');
    await waitFor(() => inflated, /b OK \[READ-WRITE\]/);
    send('c FETCH 1 (BODY.PEEK[TEXT])\r\n');
    await waitFor(() => inflated, /c OK/);
    expect(inflated).toContain('body one');
    send('d COMPRESS DEFLATE\r\n');
    await waitFor(() => inflated, /d NO \[COMPRESSIONACTIVE\]/);
    send('e LOGOUT\r\n');
    await waitFor(() => inflated, /\* BYE[\s\S]*e OK/);
    socket.destroy();
  });

  it('MULTIAPPEND stores every message or none: APPENDUID with a UID set, quota and syntax failures leave the folder unchanged (RFC 3502 3, 6.3.11)', async () => {
    const m = (s: string) => `From: a@example.org\r\nSubject: ${s}\r\n\r\n${s} body\r\n`;
    const lit = (s: string) => `{${Buffer.byteLength(s)}+}\r\n${s}`;
    const before = Number(/MESSAGES (\d+)/.exec(await c.cmd('a', 'STATUS Job (MESSAGES)'))![1]);
    const r = await c.cmd('b', `APPEND Job (\\Seen) ${lit(m('one'))} "05-Dec-2026 10:00:00 +0100" ${lit(m('two'))} ${lit(m('three'))}`);
    const set = /b OK \[APPENDUID \d+ (\d+):(\d+)\]/.exec(r);
    expect(set).toBeTruthy();
    expect(Number(set![2]) - Number(set![1])).toBe(2);
    expect(await c.cmd('c', 'STATUS Job (MESSAGES)')).toContain(`MESSAGES ${before + 3}`);
    // A bad second message: nothing is stored.
    expect(await c.cmd('d', `APPEND Job ${lit(m('four'))} (\\Bogus) ${lit(m('five'))}`)).toMatch(/d BAD/);
    expect(await c.cmd('e', 'STATUS Job (MESSAGES)')).toContain(`MESSAGES ${before + 3}`);
    // Over quota at the third message: the first two are rolled back too.
    await env.core.createMailbox('tiny@ids.test', PASS, { quotaBytes: 300 });
    const t = await RawClient.connect(env.server.ports.imaps, true);
    await t.cmd('l', `LOGIN tiny@ids.test "${PASS}"`);
    const pad = (s: string) => m(s + ' ' + 'x'.repeat(60));
    expect(await t.cmd('f', `APPEND INBOX ${lit(pad('a'))} ${lit(pad('b'))} ${lit(pad('c'))} ${lit(pad('d'))}`)).toMatch(/f NO \[OVERQUOTA\]/);
    expect(await t.cmd('g', 'STATUS INBOX (MESSAGES)')).toContain('MESSAGES 0');
    t.close();
  });

  it('CATENATE builds a message from TEXT and URLs of this mailbox; an unknown URL is NO [BADURL] and stores nothing (RFC 4469 5, 6)', async () => {
    const uv = /UIDVALIDITY (\d+)/.exec(await c.cmd('a', 'STATUS INBOX (UIDVALIDITY MESSAGES)'))![1];
    const head = 'From: me@example.org\r\nSubject: forwarded\r\n\r\n';
    const tail = '\r\n-- end\r\n';
    const before = Number(/MESSAGES (\d+)/.exec(await c.cmd('b', 'STATUS Job (MESSAGES)'))![1]);
    const r = await c.cmd(
      'c',
      `APPEND Job CATENATE (TEXT {${head.length}+}\r\n${head} URL "/INBOX;UIDVALIDITY=${uv}/;UID=1/;SECTION=TEXT" TEXT {${tail.length}+}\r\n${tail} URL "imap://${encodeURIComponent(USER)}@127.0.0.1/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)")`,
    );
    const uid = /c OK \[APPENDUID \d+ (\d+)\]/.exec(r)?.[1];
    expect(uid).toBeTruthy();
    await c.cmd('s', 'SELECT Job');
    const got = await c.cmd('f', `UID FETCH ${uid} BODY.PEEK[]`);
    expect(got).toContain(`${head}body one\r\n${tail}Subject: one\r\n`);
    expect(await c.cmd('g', `APPEND Job CATENATE (TEXT {${head.length}+}\r\n${head} URL "/INBOX;UIDVALIDITY=${uv}/;UID=999")`)).toMatch(/g NO \[BADURL \/INBOX;UIDVALIDITY=\d+\/;UID=999\]/);
    expect(await c.cmd('h', `APPEND Job CATENATE (URL "/INBOX;UIDVALIDITY=1/;UID=1")`)).toMatch(/h NO \[BADURL/);
    expect(await c.cmd('i', 'STATUS Job (MESSAGES)')).toContain(`MESSAGES ${before + 1}`);
  });
});
