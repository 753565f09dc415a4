/**
 * Two more real clients we did not write: curl (imap/imaps URLs: list, fetch, search) and
 * Python's imaplib (login, select, fetch, store, expunge), over STARTTLS and implicit TLS.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImapEnv, type ImapTestEnv } from './imap-harness.js';

const run = promisify(execFile);
const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures/mail', name));
const USER = 'reader@clients.test';
const PASS = 'another long passphrase';

describe('IMAP with curl and Python imaplib', () => {
  let env: ImapTestEnv;
  beforeAll(async () => {
    env = await startImapEnv();
    await env.core.createMailbox(USER, PASS);
    await env.core.deliver(USER, fixture('multipart-attachment.eml'));
    await env.core.deliver(USER, fixture('nested-rfc822.eml'));
    await env.core.deliver(USER, Buffer.from('From: carol@example.org\r\nTo: reader@clients.test\r\nSubject: third one\r\n\r\nplain text body\r\n'));
  });
  afterAll(async () => env?.close());

  const curl = async (url: string, extra: string[] = []) => {
    const { stdout } = await run('curl', ['-sS', '-k', '--max-time', '10', '--user', `${USER}:${PASS}`, ...extra, url]);
    return stdout;
  };

  it('curl lists mailboxes over imaps', async () => {
    const out = await curl(`imaps://127.0.0.1:${env.server.ports.imaps}/`);
    expect(out).toMatch(/\* LIST \(\\HasNoChildren\) "\/" INBOX/);
    expect(out).toMatch(/\\Sent\) "\/" Sent/);
  });

  it('curl fetches a message by UID over STARTTLS', async () => {
    const out = await curl(`imap://127.0.0.1:${env.server.ports.imap}/INBOX;UID=3`, ['--ssl-reqd']);
    expect(out).toContain('Subject: third one');
    expect(out).toContain('plain text body');
  });

  it('curl fetches one MIME part', async () => {
    const out = await curl(`imaps://127.0.0.1:${env.server.ports.imaps}/INBOX;UID=2;SECTION=2.1`);
    expect(out).toContain('Lunch at noon?');
    expect(out).not.toContain('See below');
  });

  it('curl searches', async () => {
    const out = await curl(`imaps://127.0.0.1:${env.server.ports.imaps}/INBOX?SUBJECT%20lunch`);
    expect(out.trim()).toBe('* SEARCH 2');
    const all = await curl(`imaps://127.0.0.1:${env.server.ports.imaps}/INBOX?ALL`);
    expect(all.trim()).toBe('* SEARCH 1 2 3');
  });

  it('curl refuses to log in without TLS when the server says LOGINDISABLED', async () => {
    await expect(curl(`imap://127.0.0.1:${env.server.ports.imap}/`)).rejects.toThrow();
  });

  const python = async (script: string) => {
    const { stdout } = await run('python3', ['-c', script], {
      env: { ...process.env, IMAPS_PORT: String(env.server.ports.imaps), IMAP_PORT: String(env.server.ports.imap), IMAP_USER: USER, IMAP_PASS: PASS },
      timeout: 20_000,
    });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  };

  it('imaplib logs in, selects, fetches, stores flags and expunges', async () => {
    const result = await python(`
import imaplib, json, os, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['IMAPS_PORT']), ssl_context=ctx)
out = {}
out['login'] = m.login(os.environ['IMAP_USER'], os.environ['IMAP_PASS'])[0]
typ, data = m.select('INBOX')
out['exists'] = int(data[0])
typ, data = m.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])')
out['header'] = data[0][1].decode()
typ, data = m.uid('FETCH', '3', '(RFC822.SIZE BODY[TEXT])')
out['text'] = data[0][1].decode()
typ, data = m.store('3', '+FLAGS', '(\\\\Deleted \\\\Seen)')
out['store'] = data[0].decode()
typ, data = m.search(None, 'DELETED')
out['deleted'] = data[0].decode()
typ, data = m.expunge()
out['expunged'] = [d.decode() for d in data if d]
typ, data = m.select('INBOX', readonly=True)
out['after'] = int(data[0])
typ, data = m.status('INBOX', '(MESSAGES UNSEEN UIDNEXT)')
out['status'] = data[0].decode()
m.logout()
print(json.dumps(out))
`);
    expect(result.login).toBe('OK');
    expect(result.exists).toBe(3);
    expect(result.header).toContain('Subject: Quarterly report');
    expect(result.header).toContain('From: "Alice Example" <alice@example.org>');
    expect(result.header).not.toContain('To:');
    expect(result.text).toContain('plain text body');
    expect(result.store).toMatch(/FLAGS \(\\Seen \\Deleted\)|FLAGS \(\\Deleted \\Seen\)/);
    expect(result.deleted).toBe('3');
    expect(result.expunged).toEqual(['3']);
    expect(result.after).toBe(2);
    // message 2 was read by curl without PEEK above, which set Seen
    expect(result.status).toMatch(/MESSAGES 2 UNSEEN 1 UIDNEXT 4/);
  });

  it('imaplib uses STARTTLS on the plain port', async () => {
    const result = await python(`
import imaplib, json, os, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4('127.0.0.1', int(os.environ['IMAP_PORT']))
caps_before = list(m.capabilities)
m.starttls(ssl_context=ctx)
typ, _ = m.login(os.environ['IMAP_USER'], os.environ['IMAP_PASS'])
typ2, data = m.list()
m.logout()
print(json.dumps({'before': caps_before, 'login': typ, 'folders': len(data)}))
`);
    expect(result.before).toEqual(expect.arrayContaining(['STARTTLS', 'LOGINDISABLED']));
    expect(result.login).toBe('OK');
    expect(result.folders).toBe(6);
  });
});
