/**
 * Shared set-up of the IMAP integration tests: the real core (SQLite store, credentials) over
 * a temp data dir, the IMAP server on ephemeral loopback ports with a throw-away certificate,
 * and client helpers. Not a test file itself.
 */
import { generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import forge from 'node-forge';
import { ImapFlow } from 'imapflow';
import type { Config } from '../../appliance/config.js';
import { startImapServer, type ImapServerHandle } from '../../appliance/imap/server.js';
import { SqlMailStore } from '../../appliance/mailstore/store.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

let cached: { key: string; cert: string } | null = null;

/** A self-signed certificate for 127.0.0.1 (generated once per test process). */
export function testCertificate(): { key: string; cert: string } {
  if (cached) return cached;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const attrs = [{ name: 'commonName', value: 'mail.postern.test' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'mail.postern.test' },
        { type: 7, ip: '127.0.0.1' },
      ],
    },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  cached = { key: keyPem, cert: forge.pki.certificateToPem(cert) };
  return cached;
}

export interface ImapTestEnv {
  core: TestCore;
  server: ImapServerHandle;
  config: Readonly<Config>;
  close(): Promise<void>;
}

export async function startImapEnv(overrides: Partial<Config> = {}, env: Record<string, string> = {}): Promise<ImapTestEnv> {
  const core = await createTestCore(env);
  const config = Object.freeze({ ...core.config, ports: { ...core.config.ports, imap: 0, imaps: 0 }, ...overrides }) as Readonly<Config>;
  const server = await startImapServer({ config, logger: core.logger, store: core.store, credentials: core.credentials, tls: testCertificate() });
  return {
    core,
    server,
    config,
    async close() {
      await server.close();
      await core.close();
    },
  };
}

export function imapflow(env: ImapTestEnv, user: string, pass: string, opts: { secure?: boolean; qresync?: boolean } = {}): ImapFlow {
  const secure = opts.secure ?? true;
  return new ImapFlow({
    host: '127.0.0.1',
    port: secure ? env.server.ports.imaps : env.server.ports.imap,
    secure,
    doSTARTTLS: secure ? undefined : true,
    auth: { user, pass },
    tls: { rejectUnauthorized: false },
    logger: false,
    qresync: opts.qresync ?? false,
  });
}

/** A raw line-oriented client for protocol-level tests. */
export class RawClient {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  static async connect(port: number, secure = false): Promise<RawClient> {
    const socket = secure ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once(secure ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    const c = new RawClient(socket);
    await c.until((b) => b.includes('\r\n'));
    c.take();
    return c;
  }

  /** Waits until `pred(buffer)` holds (or the connection closes / times out). */
  async until(pred: (buf: string) => boolean, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.buf)) {
      if (this.closed) return this.buf;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting; buffer: ${JSON.stringify(this.buf.slice(-500))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.buf;
  }

  take(): string {
    const b = this.buf;
    this.buf = '';
    return b;
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends a tagged command and returns everything up to and including its tagged reply. */
  async cmd(tag: string, command: string, timeoutMs = 5000): Promise<string> {
    this.send(`${tag} ${command}\r\n`);
    const re = new RegExp(`(^|\\r\\n)${tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (OK|NO|BAD)[^\\r\\n]*\\r\\n`);
    await this.until((b) => re.test(b), timeoutMs);
    const m = re.exec(this.buf);
    if (!m) return this.take(); // the server closed the connection (BYE) instead of answering
    const end = m.index + m[0].length;
    const out = this.buf.slice(0, end);
    this.buf = this.buf.slice(end);
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Writer = (this: net.Socket, ...args: unknown[]) => unknown;

/** Counts the writes the server's sockets hand to their stream (_write/_writev: one TLS write and system call each) while `fn` runs. */
export async function serverWritesDuring(fn: () => Promise<unknown>): Promise<number> {
  const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', Writer>;
  const saved = { _write: proto._write, _writev: proto._writev };
  let n = 0;
  const isServer = (s: net.Socket) =>
    s instanceof tls.TLSSocket ? (s as unknown as { _tlsOptions?: { isServer?: boolean } })._tlsOptions?.isServer === true : Boolean((s as unknown as { server?: unknown }).server);
  for (const key of ['_write', '_writev'] as const) {
    const original = saved[key];
    proto[key] = function (this: net.Socket, ...args: unknown[]) {
      if (isServer(this)) n++;
      return original.apply(this, args);
    };
  }
  try {
    await fn();
  } finally {
    Object.assign(proto, saved);
  }
  return n;
}

/**
 * Appends `n` messages to a mailbox's INBOX and has a second store read the folder whole, which
 * writes its index copies (the full one and the narrow one a fresh SELECT reads) as an earlier
 * process would have. Returns INBOX's folder id.
 */
export async function inboxWithIndexCopies(env: ImapTestEnv, mailboxId: string, n: number, msg: (i: number) => Buffer, flagsOf: (i: number) => string[]): Promise<number> {
  await env.core.store.appendMany(
    mailboxId,
    'INBOX',
    Array.from({ length: n }, (_, i) => ({ raw: msg(i), flags: flagsOf(i) })),
  );
  const folderId = (await env.core.store.getFolder(mailboxId, 'INBOX'))!.id;
  const reader = new SqlMailStore({ db: env.core.db, blobs: env.core.blobs, maxMessageBytes: env.config.maxMessageBytes });
  await reader.listMessages(folderId);
  await reader.queue.drain();
  return folderId;
}

/** The FETCH responses of a reply, with `drop` (an item the general path was made to take) removed from each. */
export const fetchLines = (reply: string, drop: RegExp): string[] =>
  reply
    .split('\r\n')
    .filter((l) => /^\* \d+ FETCH /.test(l))
    .map((l) => l.replace(drop, ''));

/**
 * A new mailbox whose INBOX holds `count` messages with four flag lists in turn (none, \Seen,
 * \Seen \Flagged, a keyword), and two logged-in sessions with INBOX selected: `b` first (it
 * claims \Recent, so `a`'s view has none), then `a`, after `enable` when given (e.g. CONDSTORE).
 */
export async function twoSessionsOnFlaggedInbox(
  env: ImapTestEnv,
  user: string,
  pass: string,
  count: number,
  msg: (i: number) => Buffer,
  enable?: string,
): Promise<{ boxId: string; a: RawClient; b: RawClient }> {
  const box = await env.core.createMailbox(user, pass);
  const flags = [[], ['\\Seen'], ['\\Seen', '\\Flagged'], ['$Label']];
  await env.core.store.appendMany(
    box.id,
    'INBOX',
    Array.from({ length: count }, (_, i) => ({ raw: msg(i), flags: flags[i % flags.length]! })),
  );
  const a = await RawClient.connect(env.server.ports.imaps, true);
  const b = await RawClient.connect(env.server.ports.imaps, true);
  await a.cmd('l', `LOGIN ${user} "${pass}"`);
  await b.cmd('l', `LOGIN ${user} "${pass}"`);
  await b.cmd('s', 'SELECT INBOX');
  if (enable) await a.cmd('e', `ENABLE ${enable}`);
  await a.cmd('s', 'SELECT INBOX');
  return { boxId: box.id, a, b };
}
