/**
 * The migration case's source: a private Dovecot (IMAPS and STARTTLS on free loopback ports, its
 * own config, data and logs in the bench work dir) holding one account whose Maildir++ is written
 * directly on disk before the server starts (filling the source is not what is measured). The
 * corpus spreads over several folders, nested ones included, with flags and internal dates (the
 * file mtime) spread over a year, and a few large messages among the small ones.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { prng } from '../lib/prng.js';
import { variedMessages } from './messages.js';
import { freePorts, run, stopChild, waitPort } from './util.js';

/** Source folders as IMAP names ('/' separated) with their share of the corpus. */
export const SOURCE_FOLDERS: Array<{ name: string; share: number }> = [
  { name: 'INBOX', share: 0.5 },
  { name: 'Sent', share: 0.2 },
  { name: 'Archive', share: 0.1 },
  { name: 'Archive/2025', share: 0.1 },
  { name: 'Projects/Alpha', share: 0.1 },
];

export interface SourceCorpus {
  messages: number;
  bytes: number;
  perFolder: Record<string, number>;
}

const MAIL_USER = 'nobody';
const MAIL_GROUP = 'nogroup';
const FLAG_SETS = ['S', 'S', 'S', 'RS', 'FS', '', 'S', 'S'];

/** A message with a large attachment (about `bytes`), to put a few big ones in the corpus. */
function largeMessage(i: number, to: string, bytes: number): Buffer {
  const r = prng(9000 + i);
  const raw = Buffer.alloc(Math.floor((bytes * 3) / 4));
  for (let k = 0; k < raw.length; k++) raw[k] = Math.floor(r() * 256);
  const b = `=_large_${i}`;
  const head = [
    `From: "Large Sender" <large${i}@example.com>`,
    `To: <${to}>`,
    `Subject: Scanned contract ${i}`,
    `Date: ${new Date(Date.UTC(2025, 6, 1 + (i % 28))).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <large-${i}@example.com>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${b}"`,
  ].join('\r\n');
  const body = [
    `--${b}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'The scan is attached.',
    `--${b}`,
    `Content-Type: application/pdf; name="scan-${i}.pdf"`,
    'Content-Transfer-Encoding: base64',
    '',
    raw.toString('base64').replace(/.{76}/g, '$&\r\n'),
    `--${b}--`,
    '',
  ].join('\r\n');
  return Buffer.from(`${head}\r\n\r\n${body}`);
}

/** A self-signed certificate for 127.0.0.1 (the source's name here): Postern (NODE_EXTRA_CA_CERTS) and mbsync (CertificateFile) trust it. */
export function sourceCertificate(dir: string): { certFile: string; keyFile: string } {
  mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, 'source-cert.pem');
  const keyFile = path.join(dir, 'source-key.pem');
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-days', '2', '-keyout', keyFile, '-out', certFile]);
  return { certFile, keyFile };
}

/** Maildir++ directory of an IMAP folder name. */
const maildirOf = (root: string, name: string): string => (name === 'INBOX' ? root : path.join(root, `.${name.split('/').join('.')}`));

export class SourceDovecot {
  private child: ChildProcess | null = null;

  private constructor(
    readonly dir: string,
    readonly ports: { imaps: number; imap: number },
    readonly user: string,
    readonly password: string,
  ) {}

  /** Writes `n` messages (1 in 500 about 2 MB) into the account's Maildir++, then starts Dovecot. */
  static async start(opts: { workDir: string; user: string; password: string; certFile: string; keyFile: string; messages: number }): Promise<{ source: SourceDovecot; corpus: SourceCorpus }> {
    const [imaps, imap] = await freePorts(2);
    const s = new SourceDovecot(opts.workDir, { imaps: imaps!, imap: imap! }, opts.user, opts.password);
    const corpus = s.writeCorpus(opts.messages);
    s.writeConfig(opts.certFile, opts.keyFile);
    await s.launch();
    return { source: s, corpus };
  }

  private get mailRoot(): string {
    return path.join(this.dir, 'mail', 'Maildir');
  }

  private writeCorpus(n: number): SourceCorpus {
    const { messages } = variedMessages(n, this.user);
    for (let i = 250; i < n; i += 500) messages[i] = largeMessage(i, this.user, 2 * 1024 * 1024);
    const r = prng(4242);
    const perFolder: Record<string, number> = {};
    for (const f of [...SOURCE_FOLDERS.map((x) => x.name), 'Projects']) {
      const d = maildirOf(this.mailRoot, f);
      for (const sub of ['cur', 'new', 'tmp']) mkdirSync(path.join(d, sub), { recursive: true });
    }
    let bytes = 0;
    const base = Date.UTC(2025, 0, 1) / 1000;
    messages.forEach((m, i) => {
      let x = r();
      const folder = SOURCE_FOLDERS.find((f) => (x -= f.share) < 0) ?? SOURCE_FOLDERS[0]!;
      const file = path.join(maildirOf(this.mailRoot, folder.name), 'cur', `${1_700_000_000 + i}.M${i}P1.source:2,${FLAG_SETS[i % FLAG_SETS.length]}`);
      writeFileSync(file, m);
      const t = base + Math.floor(r() * 365 * 86400);
      utimesSync(file, t, t); // the internal date
      perFolder[folder.name] = (perFolder[folder.name] ?? 0) + 1;
      bytes += m.length;
    });
    return { messages: messages.length, bytes, perFolder };
  }

  private writeConfig(certFile: string, keyFile: string): void {
    const d = this.dir;
    for (const sub of ['run', 'state', 'logs']) mkdirSync(path.join(d, sub), { recursive: true });
    chmodSync(d, 0o755);
    const cert = path.join(d, 'cert.pem');
    const key = path.join(d, 'key.pem');
    copyFileSync(certFile, cert);
    copyFileSync(keyFile, key);
    chmodSync(key, 0o600);
    run('chown', ['-R', `${MAIL_USER}:${MAIL_GROUP}`, path.join(d, 'mail')]);
    const hash = run('doveadm', ['-c', '/dev/null', 'pw', '-s', 'SHA512-CRYPT', '-p', this.password]).stdout.trim();
    writeFileSync(path.join(d, 'users'), `${this.user}:${hash}::::::\n`, { mode: 0o640 });
    run('chown', ['root:dovecot', path.join(d, 'users')]);
    writeFileSync(
      path.join(d, 'dovecot.conf'),
      `# Postern benchmark: migration source (generated)
base_dir = ${d}/run
state_dir = ${d}/state
log_path = ${d}/logs/dovecot.log
instance_name = postern-bench-source-${this.ports.imaps}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <${cert}
ssl_key = <${key}
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:${d}/mail/Maildir
mail_uid = ${MAIL_USER}
mail_gid = ${MAIL_GROUP}
first_valid_uid = 1
mail_max_userip_connections = 100
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
  }
}
passdb {
  driver = passwd-file
  args = ${d}/users
}
userdb {
  driver = static
  args = uid=${MAIL_USER} gid=${MAIL_GROUP} home=${d}/mail
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${this.ports.imap}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${this.ports.imaps}
    ssl = yes
  }
}
`,
    );
  }

  private async launch(): Promise<void> {
    const child = spawn('dovecot', ['-F', '-c', path.join(this.dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    this.child = child;
    await waitPort(this.ports.imaps, 20_000, 'source Dovecot').catch((e: Error) => {
      throw new Error(`${e.message}\n${err}`);
    });
  }

  /** Has Dovecot build its index of every folder (so neither migrator pays for the first scan). */
  warmIndexes(): void {
    run('doveadm', ['-c', path.join(this.dir, 'dovecot.conf'), 'force-resync', '-u', this.user, '*']);
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 'SIGTERM', 10_000);
  }
}
