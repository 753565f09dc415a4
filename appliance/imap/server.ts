/**
 * The IMAP server: a plain listener (STARTTLS) on config.ports.imap and an implicit-TLS
 * listener on config.ports.imaps, both on config.listenHost, serving sessions over the mail
 * store and the credential module.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Config } from '../config.js';
import type { Credentials } from '../core/credentials.types.js';
import type { Logger } from '../logger.js';
import type { MailStore } from '../mailstore/store.types.js';
import { imapConnections } from '../metrics.js';
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
  /** The bound ports (useful when the config asks for port 0 in tests). */
  ports: { imap: number; imaps: number };
}

const MAX_SESSIONS = 10_000;

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
  const sessions = new Set<ImapSession>();
  const sessionDeps: SessionDeps = {
    config: deps.config,
    logger,
    store: deps.store,
    credentials: deps.credentials,
    secureContext,
    onClose: (s) => sessions.delete(s),
  };

  const accept = (socket: net.Socket, secure: boolean, plainPort: boolean) => {
    imapConnections.inc({ listener: plainPort ? 'imap' : 'imaps' });
    if (sessions.size >= MAX_SESSIONS) {
      socket.end('* BYE Too many connections\r\n');
      return;
    }
    try {
      const s = new ImapSession(sessionDeps, socket, { secure, plainPort });
      sessions.add(s);
    } catch (err) {
      logger.error({ err, event: 'imap.session.error' }, 'cannot start session');
      socket.destroy();
    }
  };

  const plain = net.createServer((socket) => accept(socket, false, true));
  const implicit = tls.createServer({ ...tlsOptions, secureContext }, (socket) => accept(socket, true, false));
  implicit.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'TLS handshake failed'));
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
    async close() {
      const closed = Promise.all([new Promise<void>((r) => plain.close(() => r())), new Promise<void>((r) => implicit.close(() => r()))]);
      for (const s of [...sessions]) s.close('Server shutting down');
      await closed;
    },
  };
}
