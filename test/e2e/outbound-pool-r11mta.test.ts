/**
 * Haraka's outbound queue keeps a relayed message's connection for the next message to the same
 * target (issue 18, eleventh round: mta-plugins/outbound.postern-routing/lib/pool.ts), as Postfix
 * does: RSET instead of QUIT after an accepted message, then MAIL FROM on the same connection.
 * The sink here is a small SMTP server of the test's own (STARTTLS, AUTH PLAIN) that records each
 * connection's commands and tells when it answered a RSET, so the next message is submitted only
 * once the connection is idle again. Every message still arrives whole, over TLS, with its DKIM
 * signatures verified by dkimpy; a smarthost with AUTH is authenticated once per connection.
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSelfSigned } from '../../appliance/tls.js';
import { Appliance } from '../helpers/appliance.js';
import { freePorts } from '../helpers/ports.js';
import { swaks } from '../helpers/swaks.js';

const PASSWORD = 'Sturdy-Passw0rd!';
const cert = generateSelfSigned('sink.r11.test');

interface Conn {
  commands: string[];
  secure: boolean;
  messages: Array<{ raw: string; secure: boolean }>;
}

/** A line-based SMTP sink: STARTTLS, optional AUTH PLAIN, RSET; emits 'message' and 'rset'. */
class RecordingSink extends EventEmitter {
  readonly conns: Conn[] = [];
  private server: net.Server | null = null;
  port = 0;

  constructor(private readonly auth: { user: string; pass: string } | null) {
    super();
  }

  async start(): Promise<void> {
    [this.port] = (await freePorts(1)) as [number];
    this.server = net.createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', () => resolve()));
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  get messages(): Array<{ raw: string; secure: boolean }> {
    return this.conns.flatMap((c) => c.messages);
  }

  /** Resolves once `pred` holds, checked after every message and RSET (no polling). */
  until(pred: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!pred()) return;
        this.off('message', check);
        this.off('rset', check);
        resolve();
      };
      this.on('message', check);
      this.on('rset', check);
      check();
    });
  }

  private serve(raw: net.Socket): void {
    const conn: Conn = { commands: [], secure: false, messages: [] };
    this.conns.push(conn);
    let socket: net.Socket | tls.TLSSocket = raw;
    let buffer = '';
    let data: string[] | null = null;
    let authed = false;
    const send = (line: string) => socket.write(`${line}\r\n`);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      let i: number;
      while ((i = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (data) {
          if (line === '.') {
            conn.messages.push({ raw: data.join('\r\n'), secure: conn.secure });
            data = null;
            send('250 2.0.0 queued');
            this.emit('message');
          } else data.push(line.startsWith('..') ? line.slice(1) : line);
          continue;
        }
        const verb = line.split(' ')[0]!.toUpperCase();
        conn.commands.push(verb === 'AUTH' ? 'AUTH' : verb);
        if (verb === 'EHLO') {
          send('250-sink.r11.test');
          if (!conn.secure) send('250-STARTTLS');
          if (this.auth && conn.secure) send('250-AUTH PLAIN');
          send('250 8BITMIME');
        } else if (verb === 'STARTTLS') {
          send('220 2.0.0 ready');
          raw.removeListener('data', onData);
          const secure = new tls.TLSSocket(raw, { isServer: true, key: cert.key, cert: cert.cert });
          secure.on('data', onData);
          secure.on('error', () => undefined);
          socket = secure;
          conn.secure = true;
          return;
        } else if (verb === 'AUTH') {
          const [, mech, b64] = line.split(' ');
          const [, user, pass] = Buffer.from(b64 ?? '', 'base64')
            .toString()
            .split('\0');
          authed = mech === 'PLAIN' && user === this.auth?.user && pass === this.auth?.pass;
          send(authed ? '235 2.7.0 ok' : '535 5.7.8 no');
        } else if (verb === 'MAIL') {
          send(this.auth && !authed ? '530 5.7.0 auth first' : '250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          send('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          data = [];
          send('354 go on');
        } else if (verb === 'RSET') {
          send('250 2.0.0 reset');
          this.emit('rset');
        } else if (verb === 'QUIT') {
          send('221 2.0.0 bye');
          socket.end();
        } else send('502 5.5.1 unknown');
      }
    };
    raw.on('data', onData);
    raw.on('error', () => undefined);
    send('220 sink.r11.test ESMTP');
  }
}

function verifyWithDkimpy(raw: string, records: Record<string, string>): Promise<Array<{ selector: string; algorithm: string; ok: boolean }>> {
  const file = path.join(tmpdir(), `postern-dkim-r11-${process.pid}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(records));
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/python3', [path.resolve(__dirname, '../helpers/dkim_verify.py'), file], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
    child.stdin!.end(raw);
  });
}

describe('outbound connections kept between relayed messages', () => {
  const sink = new RecordingSink(null);
  const authSink = new RecordingSink({ user: 'relayuser', pass: 'relaypass' });
  let app: Appliance;
  const dkimRecords: Record<string, string> = {};

  const submit = (from: string, subject: string) =>
    swaks([
      '--server',
      `127.0.0.1:${app.ports.submission}`,
      '-tls',
      '--auth',
      'PLAIN',
      '--auth-user',
      from,
      '--auth-password',
      PASSWORD,
      '--from',
      from,
      '--to',
      `friend@remote.r11.test`,
      '--header',
      `Subject: ${subject}`,
    ]);

  beforeAll(async () => {
    await Promise.all([sink.start(), authSink.start()]);
    app = await Appliance.start({ env: { POSTERN_SMARTHOST: `127.0.0.1:${sink.port}` } });
    await app.provisionMailbox('alice@pool.r11.test', PASSWORD);
    await app.provisionMailbox('carol@relay.r11.test', PASSWORD);
    const domain = await app.ensureDomain('pool.r11.test');
    const relay = await app.ensureDomain('relay.r11.test');
    await app.expectApi('PUT', `/api/v1/domains/${relay}/outbound-route`, { host: '127.0.0.1', port: authSink.port, authUser: 'relayuser', authPassword: 'relaypass' }, 200);
    const dns = await app.expectApi<Array<{ type: string; name: string; value: string }>>('GET', `/api/v1/domains/${domain}/dns`, undefined, 200);
    for (const r of dns.filter((x) => x.type === 'TXT' && x.name.includes('._domainkey.'))) dkimRecords[r.name] = r.value;
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all([sink.close(), authSink.close()]);
  });

  it('relays three messages over one connection (one EHLO, STARTTLS once, RSET between them), each whole, over TLS and DKIM-signed', async () => {
    for (let i = 1; i <= 3; i++) {
      const r = await submit('alice@pool.r11.test', `kept-${i}`);
      expect(r.exitCode, r.output).toBe(0);
      // The next message is submitted once the connection answered RSET, i.e. is idle again.
      await sink.until(() => sink.messages.length === i && sink.conns.reduce((n, c) => n + c.commands.filter((x) => x === 'RSET').length, 0) === i);
    }
    expect(sink.conns).toHaveLength(1);
    const conn = sink.conns[0]!;
    expect(conn.commands.filter((c) => c === 'EHLO')).toHaveLength(2); // before and after STARTTLS
    expect(conn.commands.filter((c) => c === 'STARTTLS')).toHaveLength(1);
    expect(conn.commands.filter((c) => c === 'MAIL')).toHaveLength(3);
    expect(conn.commands).not.toContain('QUIT');
    expect(conn.messages.map((m) => [/^Subject: ([^\r\n]*)/m.exec(m.raw)?.[1], m.secure])).toEqual([
      ['kept-1', true],
      ['kept-2', true],
      ['kept-3', true],
    ]);
    for (const m of conn.messages) {
      const verified = await verifyWithDkimpy(`${m.raw}\r\n`, dkimRecords);
      expect(verified.map((s) => [s.algorithm, s.ok]).sort()).toEqual([
        ['ed25519-sha256', true],
        ['rsa-sha256', true],
      ]);
    }
  });

  it('authenticates with a smarthost once per connection and sends the next message over the authenticated connection', async () => {
    for (let i = 1; i <= 2; i++) {
      const r = await submit('carol@relay.r11.test', `auth-kept-${i}`);
      expect(r.exitCode, r.output).toBe(0);
      await authSink.until(() => authSink.messages.length === i && authSink.conns.reduce((n, c) => n + c.commands.filter((x) => x === 'RSET').length, 0) === i);
    }
    expect(authSink.conns).toHaveLength(1);
    expect(authSink.conns[0]!.commands.filter((c) => c === 'AUTH')).toHaveLength(1);
    expect(authSink.messages.map((m) => /^Subject: ([^\r\n]*)/m.exec(m.raw)?.[1])).toEqual(['auth-kept-1', 'auth-kept-2']);
  });
});
