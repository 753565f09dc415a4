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
import { isTrustedPeer, proxyPeers, readProxyHeader } from '../net/proxy-protocol.js';
import { LogLimiter } from './log-limit.js';
import { ImapSession, type SessionDeps } from './session.js';
import { warmUpImap } from './warm-up.js';
import type { SharedServing } from './shared-access.js';

export interface ImapDeps {
  config: Readonly<Config>;
  logger: Logger;
  store: MailStore;
  credentials: Credentials;
  tls: { key: string; cert: string };
  /** Shared mailboxes and delegated access (issue 19); absent: every login reaches its own mailbox only. */
  shared?: SharedServing;
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

/** A trusted load balancer sends its PROXY header at once (HAProxy: with the connection). */
const PROXY_HEADER_TIMEOUT_MS = 5_000;

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

/**
 * Accepts connections of both listeners: refuses those over the limits, starts a session for
 * the others, and keeps the live sessions and the not-yet-authenticated ones, counted per
 * address (IPv6: /64).
 */
class Acceptor {
  readonly sessions = new Set<ImapSession>();
  private readonly unauthenticated = new Map<ImapSession, string>();
  private readonly perAddress = new Map<string, number>();
  private readonly sessionDeps: SessionDeps;
  /** Refusals are logged at most this often (a flood must not become a log flood). */
  private readonly refusalLog: LogLimiter;
  /** Load balancers allowed to name the client in a PROXY header (POSTERN_PROXY_PROTOCOL_FROM), or null. */
  private readonly proxyPeers: ReturnType<typeof proxyPeers>;

  constructor(
    deps: ImapDeps,
    private readonly logger: Logger,
    private readonly secureContext: tls.SecureContext,
    private readonly limits: Config['imapLimits'],
  ) {
    this.sessionDeps = {
      config: deps.config,
      logger,
      store: deps.store,
      credentials: deps.credentials,
      secureContext,
      spillDir: prepareSpillDir(path.join(deps.config.dataDir, 'tmp', 'imap')),
      logLimiter: new LogLimiter(logger),
      shared: deps.shared,
      onAuthenticated: (s) => this.leaveUnauthenticated(s),
      onClose: (s) => {
        this.leaveUnauthenticated(s);
        this.sessions.delete(s);
      },
    };
    this.refusalLog = new LogLimiter(logger, 1, 5);
    this.proxyPeers = proxyPeers(deps.config.proxyProtocolFrom);
  }

  private leaveUnauthenticated(s: ImapSession): void {
    const key = this.unauthenticated.get(s);
    if (key === undefined) return;
    this.unauthenticated.delete(s);
    const n = (this.perAddress.get(key) ?? 1) - 1;
    if (n > 0) this.perAddress.set(key, n);
    else this.perAddress.delete(key);
    setImapUnauthenticatedSessions(this.unauthenticated.size);
  }

  private refuse(raw: net.Socket, reason: 'max-connections' | 'per-ip', text: string, implicitTls: boolean, remote: string): void {
    countImapRefusal(reason);
    if (this.refusalLog.allow(`imap.limit.${reason}`)) this.logger.warn({ event: 'imap.limit.connections', reason, remote }, 'connection refused by a limit');
    raw.on('error', () => undefined);
    let socket: net.Socket = raw;
    if (implicitTls) {
      // The client only understands the refusal over TLS; a client that never finishes the handshake is cut after a second.
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.secureContext });
      secure.on('error', () => secure.destroy());
      socket = secure;
    }
    socket.end(`* BYE ${text}\r\n`);
    setTimeout(() => raw.destroy(), 1000).unref();
  }

  /**
   * Both listeners accept plain TCP; the implicit-TLS port wraps the socket itself, so a client
   * that never finishes its handshake already holds a session slot, counts against its
   * address's cap and meets the pre-authentication timeout.
   */
  accept(raw: net.Socket, implicitTls: boolean): void {
    imapConnections.inc({ listener: implicitTls ? 'imaps' : 'imap' });
    if (this.proxyPeers && isTrustedPeer(this.proxyPeers, raw.remoteAddress)) {
      // A trusted load balancer: the connection starts with the PROXY header naming the client.
      raw.on('error', () => undefined);
      readProxyHeader(raw, PROXY_HEADER_TIMEOUT_MS).then(
        (h) => this.admit(raw, implicitTls, h.source ?? raw.remoteAddress ?? '', false),
        (err: Error) => {
          if (this.refusalLog.allow('imap.proxy.invalid')) this.logger.warn({ event: 'imap.proxy.invalid', peer: raw.remoteAddress, reason: err.message }, 'bad PROXY header from a trusted peer');
          raw.destroy();
        },
      );
      return;
    }
    this.admit(raw, implicitTls, raw.remoteAddress ?? '', this.proxyPeers !== null);
  }

  /** Starts a session for the client at `remote` (the socket's peer, or the client a trusted PROXY header named). */
  private admit(raw: net.Socket, implicitTls: boolean, remote: string, refuseProxyHeader: boolean): void {
    if (this.sessions.size >= this.limits.maxConnections) {
      this.refuse(raw, 'max-connections', 'Too many connections', implicitTls, remote);
      return;
    }
    const key = addressKey(remote);
    const held = this.perAddress.get(key) ?? 0;
    if (held >= this.limits.maxUnauthenticatedPerIp) {
      this.refuse(raw, 'per-ip', 'Too many connections from your address', implicitTls, remote);
      return;
    }
    try {
      let socket: net.Socket = raw;
      if (implicitTls) {
        const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.secureContext });
        secure.on('error', (err) => {
          this.logger.debug({ err: err.message }, 'TLS handshake failed');
          secure.destroy();
        });
        socket = secure;
      }
      const s = new ImapSession(this.sessionDeps, socket, { secure: implicitTls, plainPort: !implicitTls, remoteAddress: remote, refuseProxyHeader });
      this.sessions.add(s);
      if (!implicitTls && raw.isPaused()) raw.resume(); // paused after a PROXY header until the session listened (TLS reads the handle itself)
      if (!s.isClosed) {
        this.unauthenticated.set(s, key);
        this.perAddress.set(key, held + 1);
        setImapUnauthenticatedSessions(this.unauthenticated.size);
      }
    } catch (err) {
      this.logger.error({ err, event: 'imap.session.error' }, 'cannot start session');
      raw.destroy();
    }
  }
}

/** The handle of running listeners: ports, session figures, and a close that ends every session. */
function serverHandle(plain: net.Server, implicit: net.Server, sessions: Set<ImapSession>, ports: ImapServerHandle['ports']): ImapServerHandle {
  return {
    ports,
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

export async function startImapServer(deps: ImapDeps): Promise<ImapServerHandle> {
  const logger = deps.logger.child({ service: 'imap' });
  const tlsOptions: tls.SecureContextOptions = { key: deps.tls.key, cert: deps.tls.cert, minVersion: 'TLSv1.2' };
  const secureContext = tls.createSecureContext(tlsOptions);
  const limits = deps.config.imapLimits;
  setImapLimits(limits);
  const acceptor = new Acceptor(deps, logger, secureContext, limits);
  // Code of a first SELECT compiled before the first client, on made-up values (store.warmUp).
  await deps.store.warmUp?.().catch(() => undefined);
  // And of the first FETCH (FLAGS), SELECT and SEARCH, on made-up folders in memory (warm-up.ts): reading no data.
  warmUpImap();

  const plain = net.createServer((socket) => acceptor.accept(socket, false));
  const implicit = net.createServer((socket) => acceptor.accept(socket, true));
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
  return serverHandle(plain, implicit, acceptor.sessions, { imap: imapPort, imaps: imapsPort });
}
