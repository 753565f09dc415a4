/**
 * The IMAP server: a plain listener (STARTTLS) on config.ports.imap and an implicit-TLS
 * listener on config.ports.imaps, both on config.listenHost, serving sessions over the mail
 * store and the credential module.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import type { Config } from '../config.js';
import type { Credentials } from '../core/access/credentials.types.js';
import type { Logger } from '../logger.js';
import type { MailStore } from '../mailstore/store.types.js';
import { countImapRefusal, imapConnections, setImapLimits, setImapUnauthenticatedSessions } from '../metrics.js';
import { LogLimiter } from './log-limit.js';
import { ImapSession, type SessionDeps } from './session.js';

export interface ImapDeps {
  config: Readonly<Config>;
  logger: Logger;
  store: MailStore;
  credentials: Credentials;
  tls: { key: string; cert: string };
}

export interface ImapServerHandle {
  close(): Promise<void>;
  sessionCount(): number;
  /** Output bytes queued in the server for clients that are not reading (bounded by back-pressure). */
  bufferedOutputBytes(): number;
  /** The bound ports (useful when the config asks for port 0 in tests). */
  ports: { imap: number; imaps: number };
}

/** The address a per-address cap counts by: IPv4 as is, IPv6 by its /64. */
export function addressKey(address: string): string {
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!address.includes(':')) return address;
  // Expand "::" so the first four groups are the /64.
  const [head = '', tail] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return (
    groups
      .slice(0, 4)
      .map((g) => g.replace(/^0+(?=.)/, '').toLowerCase())
      .join(':') + '::/64'
  );
}

/** Removes temporary literal files a previous run left behind (they belong to no session). */
function prepareSpillDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const f of readdirSync(dir)) if (f.startsWith('literal-')) rmSync(path.join(dir, f), { force: true });
  return dir;
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

export async function startImapServer(deps: ImapDeps): Promise<ImapServerHandle> {
  const logger = deps.logger.child({ service: 'imap' });
  const tlsOptions: tls.SecureContextOptions = { key: deps.tls.key, cert: deps.tls.cert, minVersion: 'TLSv1.2' };
  const secureContext = tls.createSecureContext(tlsOptions);
  const limits = deps.config.imapLimits;
  setImapLimits(limits);
  const sessions = new Set<ImapSession>();
  // Sessions not logged in yet, and how many of them each address (IPv6: /64) holds.
  const unauthenticated = new Map<ImapSession, string>();
  const perAddress = new Map<string, number>();
  const leaveUnauthenticated = (s: ImapSession) => {
    const key = unauthenticated.get(s);
    if (key === undefined) return;
    unauthenticated.delete(s);
    const n = (perAddress.get(key) ?? 1) - 1;
    if (n > 0) perAddress.set(key, n);
    else perAddress.delete(key);
    setImapUnauthenticatedSessions(unauthenticated.size);
  };
  const sessionDeps: SessionDeps = {
    config: deps.config,
    logger,
    store: deps.store,
    credentials: deps.credentials,
    secureContext,
    spillDir: prepareSpillDir(path.join(deps.config.dataDir, 'tmp', 'imap')),
    logLimiter: new LogLimiter(logger),
    onAuthenticated: leaveUnauthenticated,
    onClose: (s) => {
      leaveUnauthenticated(s);
      sessions.delete(s);
    },
  };
  // Refusals are logged at most this often (a flood must not become a log flood).
  const refusalLog = new LogLimiter(logger, 1, 5);

  const refuse = (raw: net.Socket, reason: 'max-connections' | 'per-ip', text: string, implicitTls: boolean) => {
    countImapRefusal(reason);
    if (refusalLog.allow(`imap.limit.${reason}`)) logger.warn({ event: 'imap.limit.connections', reason, remote: raw.remoteAddress }, 'connection refused by a limit');
    raw.on('error', () => undefined);
    let socket: net.Socket = raw;
    if (implicitTls) {
      // The client only understands the refusal over TLS; a client that never finishes the handshake is cut after a second.
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext });
      secure.on('error', () => secure.destroy());
      socket = secure;
    }
    socket.end(`* BYE ${text}\r\n`);
    setTimeout(() => raw.destroy(), 1000).unref();
  };

  // Both listeners accept plain TCP; the implicit-TLS port wraps the socket itself, so a client
  // that never finishes its handshake already holds a session slot, counts against its
  // address's cap and meets the pre-authentication timeout.
  const accept = (raw: net.Socket, implicitTls: boolean) => {
    imapConnections.inc({ listener: implicitTls ? 'imaps' : 'imap' });
    if (sessions.size >= limits.maxConnections) {
      refuse(raw, 'max-connections', 'Too many connections', implicitTls);
      return;
    }
    const key = addressKey(raw.remoteAddress ?? '');
    const held = perAddress.get(key) ?? 0;
    if (held >= limits.maxUnauthenticatedPerIp) {
      refuse(raw, 'per-ip', 'Too many connections from your address', implicitTls);
      return;
    }
    try {
      let socket: net.Socket = raw;
      if (implicitTls) {
        const secure = new tls.TLSSocket(raw, { isServer: true, secureContext });
        secure.on('error', (err) => {
          logger.debug({ err: err.message }, 'TLS handshake failed');
          secure.destroy();
        });
        socket = secure;
      }
      const s = new ImapSession(sessionDeps, socket, { secure: implicitTls, plainPort: !implicitTls, remoteAddress: raw.remoteAddress ?? '' });
      sessions.add(s);
      if (!s.isClosed) {
        unauthenticated.set(s, key);
        perAddress.set(key, held + 1);
        setImapUnauthenticatedSessions(unauthenticated.size);
      }
    } catch (err) {
      logger.error({ err, event: 'imap.session.error' }, 'cannot start session');
      raw.destroy();
    }
  };

  const plain = net.createServer((socket) => accept(socket, false));
  const implicit = net.createServer((socket) => accept(socket, true));
  plain.on('error', (err) => logger.error({ err, event: 'imap.server.error' }, 'IMAP listener error'));
  implicit.on('error', (err) => logger.error({ err, event: 'imap.server.error' }, 'IMAPS listener error'));

  const host = deps.config.listenHost;
  const imapPort = await listen(plain, deps.config.ports.imap, host);
  let imapsPort: number;
  try {
    imapsPort = await listen(implicit, deps.config.ports.imaps, host);
  } catch (err) {
    plain.close();
    throw err;
  }
  logger.info({ event: 'imap.server.listening', host, imap: imapPort, imaps: imapsPort }, 'IMAP listening');

  return {
    ports: { imap: imapPort, imaps: imapsPort },
    sessionCount: () => sessions.size,
    bufferedOutputBytes: () => {
      let n = 0;
      for (const s of sessions) n += s.outputBuffered;
      return n;
    },
    async close() {
      const closed = Promise.all([new Promise<void>((r) => plain.close(() => r())), new Promise<void>((r) => implicit.close(() => r()))]);
      const open = [...sessions];
      for (const s of open) s.close('Server shutting down');
      // A client that never reads its socket would keep the listener from closing: after a
      // second of grace, cut what is left (this timer keeps the process alive until then).
      const cut = setTimeout(() => open.forEach((s) => s.destroy()), 1000);
      await closed;
      clearTimeout(cut);
    },
  };
}
