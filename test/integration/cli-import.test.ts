/**
 * `postern import` against the real appliance (child process) and a private Dovecot: start with
 * --wait prints progress and ends done; status lists the job; an ended job needs its credential
 * again to run. (A restart mid-copy is tested in imap-migration.test.ts: this corpus copies in
 * well under a second.) The appliance trusts the test Dovecot's certificate through NODE_EXTRA_CA_CERTS,
 * as an operator would for a provider with a private CA.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { cliJson, runCli } from '../helpers/cli.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { testCertificate } from './imap-harness.js';

const SOURCE = { user: 'carol', password: 'carol source secret' };
const COUNT = 800;

let app: Appliance;
let dovecot: Dovecot;
let tmp: string;

const msg = (i: number) => Buffer.from(`From: a${i}@old.example\r\nTo: carol@old.example\r\nSubject: import ${i}\r\nMessage-ID: <import-${i}@old.example>\r\n\r\n${'line of text\r\n'.repeat(40)}`);

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'postern-cli-import-'));
  const ca = path.join(tmp, 'source-ca.pem');
  await writeFile(ca, testCertificate().cert);
  dovecot = await startDovecot([SOURCE], testCertificate());
  const c = dovecot.client(SOURCE);
  await c.connect();
  await c.mailboxCreate('Archiv 2019');
  for (let i = 0; i < 5; i++) await c.append('INBOX', msg(i), ['\\Seen']);
  for (let i = 5; i < COUNT; i++) await c.append('Archiv 2019', msg(i), []);
  await c.logout();
  app = await Appliance.start({ env: { NODE_EXTRA_CA_CERTS: ca, POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0', POSTERN_SPAM: 'false' } });
  await app.provisionMailbox('carol@import.test');
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await dovecot?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('postern import', () => {
  it('start --wait copies with progress lines and ends done; status lists the job', async () => {
    const env = { POSTERN_IMPORT_PASSWORD: SOURCE.password };
    const r = await runCli(app, ['import', 'start', 'carol@import.test', '--host', '127.0.0.1', '--port', String(dovecot.imapPort), '--tls', 'starttls', '--user', 'carol', '--wait'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/queued for carol@import\.test/);
    expect(r.stdout).toContain(`carol@import.test: done ${COUNT}/${COUNT} messages (100%)`);
    expect(r.stdout).toMatch(/Archiv 2019\s+Archiv 2019\s+795\/795/);
    expect(r.stdout).not.toContain(SOURCE.password);
    const list = cliJson(await runCli(app, ['import', 'status', 'carol@import.test', '--json']));
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ state: 'done', credentialsHeld: false, progress: { messages: COUNT, totalMessages: COUNT } });
    const again = await runCli(app, ['import', 'run', list[0].id, '--wait']); // no credential: the ended job holds none
    expect(again.code).toBe(2); // a usage error: the CLI asks for the password before calling run
    expect(again.stderr).toMatch(/no longer holds its source password: give it again in POSTERN_IMPORT_PASSWORD or --password-file/);
    const rerun = await runCli(app, ['import', 'run', list[0].id, '--wait'], env); // given again: an incremental pass copies nothing new
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain(`carol@import.test: done ${COUNT}/${COUNT} messages (100%)`);
    expect(rerun.stdout).toMatch(/last run:\s+copied 0 /);
    expect(rerun.stdout).toMatch(/credential held:\s+no \(wiped\)/);
  }, 60_000);
});
