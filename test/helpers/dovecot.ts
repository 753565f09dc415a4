/**
 * A private Dovecot (Debian's dovecot-imapd) on loopback, with its own configuration, Maildirs
 * and run directory in a temporary dir: IMAPS (implicit TLS) and IMAP with STARTTLS, passwords
 * in a passwd-file, special-use folders declared by the server ("Sent Items" \Sent, "Drafts",
 * "Spam" \Junk) and '.' as hierarchy separator (Maildir++), like many hosting providers.
 * Tests fill it over IMAP (imapflow APPEND) and may kill its per-session `imap` processes to
 * cut a client's connection. Never the system's instance.
 *
 * With `oauth2`, it also takes OAuth2 access tokens (SASL XOAUTH2, as Google and Microsoft
 * require): a second passdb (driver oauth2, XOAUTH2 only) asks an RFC 7662 introspection
 * endpoint about each token — `startTokenIntrospection()`, a tiny HTTP server on loopback that
 * the test starts and that issues, expires and revokes tokens. Passwords keep working (the
 * passwd-file passdb serves PLAIN and LOGIN).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';

const MAIL_USER = 'nobody';
const MAIL_GROUP = 'nogroup';

export interface DovecotUser {
  user: string;
  password: string;
}

export interface Dovecot {
  host: string;
  /** Implicit TLS. */
  imapsPort: number;
  /** Plain port that offers STARTTLS. */
  imapPort: number;
  dir: string;
  pid: number;
  /** An imapflow client logged in as `user` (over IMAPS, trusting the test certificate). */
  client(user: DovecotUser): ImapFlow;
  /** Pids of the per-session `imap` processes (one per logged-in connection). */
  sessionPids(): number[];
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`Dovecot did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface DovecotOptions {
  /** Take OAuth2 access tokens (XOAUTH2) checked by this RFC 7662 introspection endpoint. */
  oauth2?: { introspectionUrl: string };
}

/** The passdbs: passwords from the passwd-file (PLAIN, LOGIN); with oauth2, tokens (XOAUTH2) from the introspection endpoint. */
function passdbs(dir: string, opts: DovecotOptions): string {
  const passwords = `passdb {
  driver = passwd-file
  args = ${dir}/users${opts.oauth2 ? '\n  mechanisms = plain login' : ''}
}
`;
  if (!opts.oauth2) return passwords;
  return `${passwords}passdb {
  driver = oauth2
  mechanisms = xoauth2
  args = ${dir}/dovecot-oauth2.conf.ext
}
`;
}

/** dovecot-oauth2.conf.ext: Dovecot 2.3's oauth2 passdb, RFC 7662 introspection by POST (token=…), the token's user in "username", inactive tokens refused. */
function oauth2Config(introspectionUrl: string): string {
  return `introspection_mode = post
introspection_url = ${introspectionUrl}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
`;
}

function config(dir: string, ports: { imap: number; imaps: number }, opts: DovecotOptions = {}): string {
  return `# Postern tests: private Dovecot (generated)
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
instance_name = postern-test-${ports.imaps}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <${dir}/cert.pem
ssl_key = <${dir}/key.pem
auth_mechanisms = plain login${opts.oauth2 ? ' xoauth2' : ''}
auth_failure_delay = 0
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:${dir}/mail/%n/Maildir
mail_uid = ${MAIL_USER}
mail_gid = ${MAIL_GROUP}
first_valid_uid = 1
# a throw-away test instance: no fsync per message (fills thousands of messages in seconds)
mail_fsync = never
mail_max_userip_connections = 100
namespace inbox {
  inbox = yes
  separator = .
  mailbox "Sent Items" {
    special_use = \\Sent
  }
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Spam {
    special_use = \\Junk
  }
}
${passdbs(dir, opts)}userdb {
  driver = static
  args = uid=${MAIL_USER} gid=${MAIL_GROUP} home=${dir}/mail/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${ports.imap}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${ports.imaps}
    ssl = yes
  }
}
`;
}

/** Starts Dovecot with these users; `tls` is the certificate it serves (trusted by the test's clients). */
export async function startDovecot(users: DovecotUser[], tls: { key: string; cert: string }, opts: DovecotOptions = {}): Promise<Dovecot> {
  const dir = await mkdtemp(path.join(tmpdir(), 'postern-dovecot-'));
  chmodSync(dir, 0o755); // the mail user must reach its Maildir
  for (const d of ['run', 'state', 'mail']) mkdirSync(path.join(dir, d));
  execFileSync('chown', [`${MAIL_USER}:${MAIL_GROUP}`, path.join(dir, 'mail')]);
  writeFileSync(path.join(dir, 'cert.pem'), tls.cert);
  writeFileSync(path.join(dir, 'key.pem'), tls.key, { mode: 0o600 });
  // Passwords as {PLAIN}: a test fixture (the reference bench stack uses SHA512-CRYPT).
  writeFileSync(path.join(dir, 'users'), users.map((u) => `${u.user}:{PLAIN}${u.password}::::::\n`).join(''), { mode: 0o640 });
  execFileSync('chown', ['root:dovecot', path.join(dir, 'users')]);
  const ports = { imap: await freePort(), imaps: await freePort() };
  if (opts.oauth2) {
    writeFileSync(path.join(dir, 'dovecot-oauth2.conf.ext'), oauth2Config(opts.oauth2.introspectionUrl), { mode: 0o640 });
    execFileSync('chown', ['root:dovecot', path.join(dir, 'dovecot-oauth2.conf.ext')]);
  }
  writeFileSync(path.join(dir, 'dovecot.conf'), config(dir, ports, opts));
  const child: ChildProcess = spawn('dovecot', ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitPort(ports.imaps, 20_000).catch((e: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}: ${stderr}`);
  });
  await waitPort(ports.imap, 5_000);
  const pid = child.pid!;
  return {
    host: '127.0.0.1',
    imapsPort: ports.imaps,
    imapPort: ports.imap,
    dir,
    pid,
    client: (u) => new ImapFlow({ host: '127.0.0.1', port: ports.imaps, secure: true, auth: { user: u.user, pass: u.password }, tls: { ca: tls.cert }, logger: false }),
    sessionPids: () => childrenNamed(pid, 'imap'),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Direct children of `parent` whose command name is `name` (Linux /proc). */
function childrenNamed(parent: number, name: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

export interface TokenIntrospection {
  /** The introspection endpoint (Dovecot's introspection_url). */
  url: string;
  /** A new opaque access token for `user`, active for `ttlMs` (default an hour). */
  issue(user: string, ttlMs?: number): string;
  /** Makes a token inactive at once (as a revocation at the provider). */
  revoke(token: string): void;
  /** Introspection requests answered, and how many of them named an active token. */
  readonly asked: { total: number; active: number };
  close(): Promise<void>;
}

/**
 * A tiny OAuth2 token introspection endpoint (RFC 7662) on 127.0.0.1: POST `token=…` (form) or
 * GET …?token=… answers `{active: true, username, exp, scope}` for a token it issued that has
 * neither expired nor been revoked, else `{active: false}` — as Google's or Microsoft's
 * authorization servers answer the mail provider's IMAP server.
 */
export async function startTokenIntrospection(): Promise<TokenIntrospection> {
  const tokens = new Map<string, { user: string; expires: number; revoked: boolean }>();
  const asked = { total: 0, active: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const form = new URLSearchParams(req.method === 'POST' ? Buffer.concat(chunks).toString('utf8') : url.search);
      const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const token = form.get('token') ?? bearer ?? '';
      const t = tokens.get(token);
      const active = !!t && !t.revoked && t.expires > Date.now();
      asked.total++;
      if (active) asked.active++;
      const body = active ? { active: true, username: t.user, scope: 'https://mail.example/imap', token_type: 'Bearer', exp: Math.floor(t.expires / 1000) } : { active: false };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/introspect`,
    issue(user, ttlMs = 3_600_000) {
      const token = `ya29.${randomBytes(24).toString('base64url')}`;
      tokens.set(token, { user, expires: Date.now() + ttlMs, revoked: false });
      return token;
    },
    revoke(token) {
      const t = tokens.get(token);
      if (t) t.revoked = true;
    },
    asked,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
