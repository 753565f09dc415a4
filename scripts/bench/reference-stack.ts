/**
 * The reference stack hosting providers know: a private Postfix (inbound MX and submission with
 * SASL through Dovecot, relaying to the same smart host as Postern) delivering over LMTP to a
 * private Dovecot (IMAPS, Maildir). Both run from their own configuration in the bench work dir,
 * on free loopback ports, as foreground children of this process; the system services stay off.
 *
 * Same domain, same mailboxes, same password and the same TLS certificate and key as Postern.
 * Passwords are SHA512-CRYPT hashes in a passwd-file, the usual Dovecot setup (a few ms per
 * verification, paid on every login: Dovecot's auth cache keeps the looked-up hash, not the
 * verdict). Postern stores scrypt hashes (~50 ms) and keeps verified credentials for 5 minutes,
 * so after the first login of a user it verifies nothing.
 *
 * Submission is DKIM-signed as Postern's is: a private OpenDKIM (Debian's `opendkim`, RSA-2048,
 * relaxed/relaxed, its own config and key in the work dir) is the submission service's milter
 * over a unix socket in the work dir; the system's opendkim service is never used.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cpuSeconds } from './procs.js';
import type { BenchStack } from './stack.js';
import { freePorts, run, sleep, stopChild, waitPort, waitUntil } from './util.js';

export interface ReferenceOptions {
  workDir: string;
  domain: string;
  localParts: string[];
  password: string;
  certFile: string;
  keyFile: string;
  smarthostPort: number;
  /** A milter for smtpd (`inet:127.0.0.1:port`): rspamd's proxy in the spam case. */
  milter?: string;
}

/** Unprivileged owner of the Maildirs (Dovecot refuses root; `nobody` exists on every Debian). */
const MAIL_USER = 'nobody';
const MAIL_GROUP = 'nogroup';

export class ReferenceStack implements BenchStack {
  readonly name = 'reference' as const;
  private postfix: ChildProcess | null = null;
  private dovecot: ChildProcess | null = null;
  private opendkim: ChildProcess | null = null;
  readonly dirs: { postfixConf: string; queue: string; postfixData: string; dovecot: string; mail: string; logs: string; opendkim: string };

  private constructor(
    readonly opts: ReferenceOptions,
    readonly ports: { smtp: number; submission: number; imaps: number; lmtp: number },
  ) {
    const d = (p: string) => path.join(opts.workDir, p);
    this.dirs = { postfixConf: d('postfix'), queue: d('postfix-queue'), postfixData: d('postfix-data'), dovecot: d('dovecot'), mail: d('mail'), logs: d('logs'), opendkim: d('opendkim') };
  }

  static async start(opts: ReferenceOptions): Promise<ReferenceStack> {
    const [smtp, submission, imaps, lmtp] = await freePorts(4);
    const s = new ReferenceStack(opts, { smtp: smtp!, submission: submission!, imaps: imaps!, lmtp: lmtp! });
    s.writeConfig();
    await s.launch();
    return s;
  }

  get smtpPort(): number {
    return this.ports.smtp;
  }
  get submissionPort(): number {
    return this.ports.submission;
  }
  get imapsPort(): number {
    return this.ports.imaps;
  }

  rootPids(): number[] {
    return [this.postfix?.pid, this.dovecot?.pid, this.opendkim?.pid].filter((p): p is number => typeof p === 'number');
  }

  /** The MTA side (Postfix and its DKIM signer), then Dovecot. */
  cpuParts(): [number, number] {
    const mta = [this.postfix?.pid, this.opendkim?.pid].filter((p): p is number => typeof p === 'number');
    return [cpuSeconds(mta), cpuSeconds(this.dovecotPids())];
  }

  /** The selector the reference signs submissions with (d= the bench domain). */
  static readonly DKIM_SELECTOR = 'refbench';

  /** OpenDKIM's private configuration: signing mode, RSA-2048 key, relaxed/relaxed, a unix socket Postfix reaches. */
  private writeOpendkimConfig(): string {
    const { opts, dirs } = this;
    const keyFile = path.join(dirs.opendkim, 'dkim.key');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
    writeFileSync(keyFile, privateKey, { mode: 0o600 });
    const conf = path.join(dirs.opendkim, 'opendkim.conf');
    writeFileSync(
      conf,
      `# Postern benchmark: private OpenDKIM (generated)
Syslog no
Mode s
Domain ${opts.domain}
Selector ${ReferenceStack.DKIM_SELECTOR}
KeyFile ${keyFile}
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
InternalHosts 127.0.0.1
Socket local:${this.opendkimSocket}
UMask 000
PidFile ${path.join(dirs.opendkim, 'opendkim.pid')}
# the work dir lives under the world-writable tmp dir, which OpenDKIM's safety check refuses; the key itself is 0600
RequireSafeKeys false
`,
    );
    return conf;
  }

  private get opendkimSocket(): string {
    return path.join(this.dirs.opendkim, 'opendkim.sock');
  }

  /** Dovecot's side only (IMAP cases compare servers, not MTAs). */
  dovecotPids(): number[] {
    return this.dovecot?.pid ? [this.dovecot.pid] : [];
  }

  private writeConfig(): void {
    const { opts, dirs, ports } = this;
    mkdirSync(opts.workDir, { recursive: true });
    chmodSync(opts.workDir, 0o755); // the mail user must reach its Maildir (so must every parent)
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    chmodSync(dirs.mail, 0o755);
    run('chown', [`${MAIL_USER}:${MAIL_GROUP}`, dirs.mail]);
    const cert = path.join(dirs.dovecot, 'cert.pem');
    const key = path.join(dirs.dovecot, 'key.pem');
    copyFileSync(opts.certFile, cert);
    copyFileSync(opts.keyFile, key);
    chmodSync(key, 0o600);

    // ---- Dovecot ----
    const hash = run('doveadm', ['-c', '/dev/null', 'pw', '-s', 'SHA512-CRYPT', '-p', opts.password]).stdout.trim();
    if (!hash.startsWith('{SHA512-CRYPT}')) throw new Error(`doveadm pw: unexpected output ${hash}`);
    const scheme = hash;
    writeFileSync(path.join(dirs.dovecot, 'users'), opts.localParts.map((lp) => `${lp}@${opts.domain}:${scheme}::::::\n`).join(''), { mode: 0o640 });
    run('chown', ['root:dovecot', path.join(dirs.dovecot, 'users')]); // read by Dovecot's auth process
    const dovecotConf = `# Postern benchmark: private Dovecot (generated)
base_dir = ${dirs.dovecot}/run
state_dir = ${dirs.dovecot}/state
log_path = ${dirs.logs}/dovecot.log
instance_name = postern-bench-${ports.imaps}
protocols = imap lmtp
listen = 127.0.0.1
ssl = required
ssl_cert = <${cert}
ssl_key = <${key}
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_cache_size = 10M
auth_cache_ttl = 5 min
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:${dirs.mail}/%d/%n/Maildir
mail_uid = ${MAIL_USER}
mail_gid = ${MAIL_GROUP}
first_valid_uid = 1
mail_max_userip_connections = 5000
passdb {
  driver = passwd-file
  args = ${dirs.dovecot}/users
}
userdb {
  driver = static
  args = uid=${MAIL_USER} gid=${MAIL_GROUP} home=${dirs.mail}/%d/%n
}
# one imap process per session (Dovecot's design); logins handled in high-performance mode
# (long-lived imap-login processes), as Dovecot's documentation advises for many connections
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${ports.imaps}
    ssl = yes
  }
  service_count = 0
  process_min_avail = 2
  client_limit = 2000
}
service imap {
  process_limit = 2000
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${ports.lmtp}
  }
}
service auth {
  unix_listener ${dirs.queue}/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
protocol lmtp {
  postmaster_address = postmaster@${opts.domain}
}
`;
    writeFileSync(path.join(dirs.dovecot, 'dovecot.conf'), dovecotConf);

    // ---- Postfix ----
    writeFileSync(path.join(dirs.postfixConf, 'vmailbox'), opts.localParts.map((lp) => `${lp}@${opts.domain} OK\n`).join(''));
    const mainCf = `# Postern benchmark: private Postfix (generated)
compatibility_level = 3.6
queue_directory = ${dirs.queue}
data_directory = ${dirs.postfixData}
mail_owner = postfix
setgid_group = postdrop
myhostname = ref.bench.test
mydomain = bench.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
biff = no
smtpd_banner = $myhostname ESMTP
maillog_file = ${dirs.logs}/postfix.log
maillog_file_prefixes = ${dirs.logs}
virtual_mailbox_domains = ${opts.domain}
virtual_mailbox_maps = texthash:${dirs.postfixConf}/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:${ports.lmtp}
relayhost = [127.0.0.1]:${opts.smarthostPort}
smtp_tls_security_level = may
smtpd_tls_cert_file = ${cert}
smtpd_tls_key_file = ${key}
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
milter_default_action = tempfail
milter_protocol = 6
${opts.milter ? `smtpd_milters = ${opts.milter}\n` : ''}`;
    const svc = (name: string, type: string, priv: string, wakeup: string, limit: string, cmd: string, extra = '') =>
      `${name.padEnd(16)} ${type.padEnd(10)} ${priv} - n ${wakeup} ${limit} ${cmd}${extra}\n`;
    const masterCf =
      '# Postern benchmark: private Postfix services, none chrooted (generated)\n' +
      svc(`127.0.0.1:${ports.smtp}`, 'inet', 'n', '-', '-', 'smtpd') +
      svc(`127.0.0.1:${ports.submission}`, 'inet', 'n', '-', '-', 'smtpd',
        '\n  -o syslog_name=postfix/submission\n  -o smtpd_tls_security_level=encrypt\n  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject' +
        `\n  -o smtpd_milters=unix:${this.opendkimSocket}`) +
      svc('pickup', 'unix', 'n', '60', '1', 'pickup') +
      svc('cleanup', 'unix', 'n', '-', '0', 'cleanup') +
      svc('qmgr', 'unix', 'n', '300', '1', 'qmgr') +
      svc('tlsmgr', 'unix', '-', '1000?', '1', 'tlsmgr') +
      svc('rewrite', 'unix', '-', '-', '-', 'trivial-rewrite') +
      svc('bounce', 'unix', '-', '-', '0', 'bounce') +
      svc('defer', 'unix', '-', '-', '0', 'bounce') +
      svc('trace', 'unix', '-', '-', '0', 'bounce') +
      svc('verify', 'unix', '-', '-', '1', 'verify') +
      svc('flush', 'unix', 'n', '1000?', '0', 'flush') +
      svc('proxymap', 'unix', '-', '-', '-', 'proxymap') +
      svc('proxywrite', 'unix', '-', '-', '1', 'proxymap') +
      svc('smtp', 'unix', '-', '-', '-', 'smtp') +
      svc('relay', 'unix', '-', '-', '-', 'smtp') +
      svc('showq', 'unix', 'n', '-', '-', 'showq') +
      svc('error', 'unix', '-', '-', '-', 'error') +
      svc('retry', 'unix', '-', '-', '-', 'error') +
      svc('discard', 'unix', '-', '-', '-', 'discard') +
      svc('lmtp', 'unix', '-', '-', '-', 'lmtp') +
      svc('anvil', 'unix', '-', '-', '1', 'anvil') +
      svc('scache', 'unix', '-', '-', '1', 'scache') +
      svc('postlog', 'unix-dgram', 'n', '-', '1', 'postlogd');
    writeFileSync(path.join(dirs.postfixConf, 'main.cf'), mainCf);
    writeFileSync(path.join(dirs.postfixConf, 'master.cf'), masterCf);
    // queue directories with Postfix's own ownership and modes
    run('postfix', ['-c', dirs.postfixConf, 'set-permissions'], { allowFail: true });
    run('postfix', ['-c', dirs.postfixConf, 'check']);
    this.writeOpendkimConfig();
  }

  private async launch(): Promise<void> {
    const { dirs, ports } = this;
    const dovecot = spawn('dovecot', ['-F', '-c', path.join(dirs.dovecot, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let dovecotErr = '';
    dovecot.stderr!.on('data', (d: Buffer) => (dovecotErr += d.toString()));
    this.dovecot = dovecot;
    await waitPort(ports.imaps, 20_000, `Dovecot (${dovecotErr.trim()})`).catch((e: Error) => {
      throw new Error(`${e.message}\n${dovecotErr}`);
    });
    await waitPort(ports.lmtp, 20_000, 'Dovecot LMTP');
    rmSync(this.opendkimSocket, { force: true }); // a stale socket from a previous launch
    const opendkim = spawn('opendkim', ['-f', '-x', path.join(dirs.opendkim, 'opendkim.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let opendkimOut = '';
    for (const s of [opendkim.stdout!, opendkim.stderr!]) s.on('data', (d: Buffer) => (opendkimOut += d.toString()));
    this.opendkim = opendkim;
    await waitUntil(() => existsSync(this.opendkimSocket) || opendkim.exitCode !== null, 20_000, 'the OpenDKIM socket').catch((e: Error) => {
      throw new Error(`OpenDKIM: ${e.message}\n${opendkimOut}`);
    });
    if (opendkim.exitCode !== null) throw new Error(`OpenDKIM exited with ${opendkim.exitCode}: ${opendkimOut}`);
    const postfix = spawn('postfix', ['-c', dirs.postfixConf, 'start-fg'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let postfixOut = '';
    for (const s of [postfix.stdout!, postfix.stderr!]) s.on('data', (d: Buffer) => (postfixOut += d.toString()));
    this.postfix = postfix;
    await waitPort(ports.smtp, 20_000, 'Postfix').catch((e: Error) => {
      throw new Error(`${e.message}\n${postfixOut}`);
    });
    await waitPort(ports.submission, 20_000, 'Postfix submission');
  }

  /** Messages in every Maildir (new/ and cur/). */
  storedCount(): number {
    let n = 0;
    const domainDir = path.join(this.dirs.mail, this.opts.domain);
    let users: string[] = [];
    try {
      users = readdirSync(domainDir);
    } catch {
      return 0;
    }
    for (const u of users) {
      for (const sub of ['new', 'cur']) {
        try {
          n += readdirSync(path.join(domainDir, u, 'Maildir', sub)).length;
        } catch {
          /* not created yet */
        }
      }
    }
    return n;
  }

  async restart(): Promise<void> {
    await this.stopProcesses();
    await this.launch();
  }

  private async stopProcesses(): Promise<void> {
    if (this.postfix && this.postfix.exitCode === null) {
      run('postfix', ['-c', this.dirs.postfixConf, 'stop'], { allowFail: true });
      await stopChild(this.postfix, 'SIGTERM', 10_000);
    }
    await stopChild(this.dovecot, 'SIGTERM', 10_000);
    await stopChild(this.opendkim, 'SIGTERM', 10_000);
    await sleep(200);
  }

  async stop(): Promise<void> {
    await this.stopProcesses();
  }
}
