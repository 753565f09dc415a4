/**
 * PROXY protocol on the real appliance (Haraka for SMTP, our IMAP server) with
 * POSTERN_PROXY_PROTOCOL_FROM=127.0.0.1/32: a real HAProxy 2.6 in TCP mode with `send-proxy`
 * in front of it (clients bound to 127.0.0.3), raw sockets that write a header themselves, and
 * an untrusted peer (bound to 127.0.0.2) whose header is refused.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { freePorts } from '../helpers/ports.js';
import { storedMessages } from '../helpers/stored.js';
import { swaks } from '../helpers/swaks.js';

const ADDRESS = 'proxied@proxy-e2e.test';
const PASSWORD = 'Sturdy-Passw0rd!';

/** A line-reading socket: `next(re)` resolves with the buffered text once it matches. */
function reader(sock: net.Socket | tls.TLSSocket) {
  let buf = '';
  let closed = false;
  const waiters: Array<() => void> = [];
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    buf += d;
    waiters.splice(0).forEach((w) => w());
  });
  sock.on('close', () => {
    closed = true;
    waiters.splice(0).forEach((w) => w());
  });
  sock.on('error', () => undefined);
  return {
    get text() {
      return buf;
    },
    get closed() {
      return closed;
    },
    async next(re: RegExp, timeoutMs = 10_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(buf)) {
        if (closed) throw new Error(`closed before ${re}: ${JSON.stringify(buf)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}: ${JSON.stringify(buf)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
      const m = re.exec(buf)!;
      const out = buf.slice(0, m.index + m[0].length);
      buf = buf.slice(m.index + m[0].length);
      return out;
    },
    async closedWithin(ms: number): Promise<boolean> {
      const deadline = Date.now() + ms;
      while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return closed;
    },
  };
}

function connectFrom(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

function haproxyInstalled(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('PROXY protocol (HAProxy send-proxy, trusted and untrusted peers)', () => {
  let app: Appliance;
  let haproxy: ChildProcess | null = null;
  let hp: { smtp: number; imap: number; imaps: number };
  let hpDir = '';

  beforeAll(async () => {
    app = await Appliance.start({ env: { POSTERN_PROXY_PROTOCOL_FROM: '127.0.0.1/32', POSTERN_ALLOW_PLAINTEXT_AUTH_LOOPBACK: 'true', POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0' } });
    await app.provisionMailbox(ADDRESS, PASSWORD);
    if (!haproxyInstalled()) throw new Error('haproxy is not installed (scripts/test.sh installs it)');
    const [smtp, imap, imaps] = await freePorts(3);
    hp = { smtp: smtp!, imap: imap!, imaps: imaps! };
    hpDir = mkdtempSync(path.join(tmpdir(), 'postern-haproxy-'));
    const cfg = path.join(hpDir, 'haproxy.cfg');
    const listen = (name: string, front: number, back: number) => [`listen ${name}`, `  bind 127.0.0.1:${front}`, `  server node1 127.0.0.1:${back} send-proxy source 127.0.0.1`].join('\n');
    writeFileSync(
      cfg,
      [
        'global',
        '  maxconn 200',
        'defaults',
        '  mode tcp',
        '  timeout connect 5s',
        '  timeout client 60s',
        '  timeout server 60s',
        listen('smtp', hp.smtp, app.ports.smtp),
        listen('imap', hp.imap, app.ports.imap),
        listen('imaps', hp.imaps, app.ports.imaps),
        '',
      ].join('\n'),
    );
    execFileSync('haproxy', ['-c', '-q', '-f', cfg]);
    haproxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Ready when its frontends accept.
    for (let i = 0; i < 100; i++) {
      const ok = await connectFrom(hp.imap).then(
        (s) => (s.destroy(), true),
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 60_000);

  afterAll(async () => {
    if (haproxy?.pid) haproxy.kill('SIGTERM');
    if (hpDir) rmSync(hpDir, { recursive: true, force: true });
    await app?.stop();
  });

  const logLines = () =>
    app.logs
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('IMAP through HAProxy: the session sees the client (127.0.0.3), not the balancer', async () => {
    const c = new ImapFlow({ host: '127.0.0.1', port: hp.imaps, secure: true, auth: { user: ADDRESS, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });
    // imapflow has no local-address option; its socket goes through a bound raw connection instead.
    const raw = await connectFrom(hp.imaps, '127.0.0.3');
    const sock = tls.connect({ socket: raw, rejectUnauthorized: false });
    await new Promise<void>((r) => sock.once('secureConnect', () => r()));
    const r = reader(sock);
    await r.next(/^\* OK .*\r\n/m);
    sock.write(`a1 LOGIN ${ADDRESS} "${PASSWORD}"\r\n`);
    expect(await r.next(/^a1 .*\r\n/m)).toMatch(/^a1 OK/m);
    sock.write('a2 LOGOUT\r\n');
    await r.next(/^a2 OK/m);
    await new Promise((res) => setTimeout(res, 100));
    const ok = logLines().filter((l) => l.event === 'imap.auth.ok' && l.username === ADDRESS);
    expect(ok.map((l) => l.remote)).toContain('127.0.0.3');
    // imapflow through HAProxy from 127.0.0.1: served normally.
    await c.connect();
    const box = await c.mailboxOpen('INBOX');
    expect(box.path).toBe('INBOX');
    await c.logout();
  });

  it('IMAP with a header written by hand: the forwarded address decides plaintext login and is the one logged and throttled', async () => {
    // The plain port: a forwarded public address is not loopback, so LOGIN in clear is off.
    const plain = await connectFrom(app.ports.imap);
    plain.write('PROXY TCP4 192.0.2.8 127.0.0.1 40001 143\r\n');
    const rp = reader(plain);
    const greeting = await rp.next(/^\* OK .*\r\n/m);
    expect(greeting).toContain('LOGINDISABLED');
    plain.destroy();
    // The TLS port, a v2 header this time: a failed LOGIN is logged with the forwarded address.
    const raw = await connectFrom(app.ports.imaps);
    const block = Buffer.from([192, 0, 2, 7, 127, 0, 0, 1, 0x9c, 0x41, 0x03, 0xe1]);
    raw.write(Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a', 'hex'), Buffer.from([0x21, 0x11, 0, block.length]), block]));
    const sock = tls.connect({ socket: raw, rejectUnauthorized: false });
    const r = reader(sock);
    await r.next(/^\* OK .*\r\n/m);
    sock.write(`a1 LOGIN ${ADDRESS} wrong-password\r\n`);
    expect(await r.next(/^a1 .*\r\n/m)).toMatch(/^a1 NO/m);
    sock.destroy();
    await new Promise((res) => setTimeout(res, 100));
    const fails = logLines().filter((l) => l.event === 'imap.auth.fail');
    expect(fails.map((l) => l.remote)).toContain('192.0.2.7');
    expect(fails.map((l) => l.ip)).toContain('192.0.2.7');
    expect(fails.some((l) => l.remote === '127.0.0.1' || l.ip === '127.0.0.1')).toBe(false);
  });

  it('IMAP: a trusted peer must send the header; an untrusted peer may not', async () => {
    // Trusted peer without a header: no greeting, cut when its first bytes are not a header.
    const trusted = await connectFrom(app.ports.imap);
    const rt = reader(trusted);
    trusted.write('a1 CAPABILITY\r\n');
    expect(await rt.closedWithin(3000)).toBe(true);
    expect(rt.text).toBe('');
    // Untrusted peer: served as itself; a PROXY header from it ends the session with BYE.
    const untrusted = await connectFrom(app.ports.imap, '127.0.0.2');
    const ru = reader(untrusted);
    await ru.next(/^\* OK .*\r\n/m);
    untrusted.write('PROXY TCP4 192.0.2.66 127.0.0.1 40002 143\r\n');
    expect(await ru.next(/^\* BYE .*\r\n/m)).toContain('PROXY header not accepted');
    expect(await ru.closedWithin(3000)).toBe(true);
    expect(logLines().some((l) => l.event === 'imap.proxy.refused' && l.remote === '127.0.0.2')).toBe(true);
    expect(logLines().some((l) => l.remote === '192.0.2.66')).toBe(false);
  });

  it('SMTP through HAProxy and with a hand-written header: Haraka records the client in the Received header', async () => {
    const res = await swaks(['--server', `127.0.0.1:${hp.smtp}`, '--local-interface', '127.0.0.3', '--from', 'sender@elsewhere.test', '--to', ADDRESS, '--header', 'Subject: via-haproxy']);
    expect(res.exitCode, res.output).toBe(0);
    const sock = await connectFrom(app.ports.smtp);
    const r = reader(sock);
    sock.write('PROXY TCP4 192.0.2.9 127.0.0.1 40003 25\r\n');
    await r.next(/^220 .*\r\n/m);
    for (const [cmd, want] of [
      ['EHLO client.example', /^250 .*\r\n/m],
      ['MAIL FROM:<sender@elsewhere.test>', /^250 .*\r\n/m],
      [`RCPT TO:<${ADDRESS}>`, /^250 .*\r\n/m],
      ['DATA', /^354 .*\r\n/m],
    ] as const) {
      sock.write(`${cmd}\r\n`);
      await r.next(want);
    }
    sock.write('Subject: raw-proxy\r\nFrom: <sender@elsewhere.test>\r\n\r\nHello.\r\n.\r\n');
    expect(await r.next(/^\d{3} .*\r\n/m)).toMatch(/^250 /);
    sock.end('QUIT\r\n');
    const stored = storedMessages(app.dataDir, ADDRESS, 'INBOX');
    const viaHaproxy = stored.find((m) => m.raw.includes('Subject: via-haproxy'));
    const viaRaw = stored.find((m) => m.raw.includes('Subject: raw-proxy'));
    const received = (raw: string) => /^Received: [\s\S]*?(?=\r?\n\S)/m.exec(raw)?.[0] ?? '';
    expect(received(viaHaproxy!.raw)).toContain('127.0.0.3');
    expect(received(viaRaw!.raw)).toContain('192.0.2.9');
  });

  it('SMTP: an untrusted peer sending a header is turned away with 421', async () => {
    const sock = await connectFrom(app.ports.smtp, '127.0.0.2');
    const r = reader(sock);
    await r.next(/^220 .*\r\n/m);
    sock.write('PROXY TCP4 192.0.2.67 127.0.0.1 40004 25\r\n');
    expect(await r.next(/^\d{3} .*\r\n/m)).toMatch(/^421 /);
    expect(await r.closedWithin(3000)).toBe(true);
  });
});
