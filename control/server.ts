/**
 * Listens with the control plane on config.listenHost:config.ports.http (HTTPS with deps.tls
 * when config.httpTls) and closes gracefully: in-flight requests finish, then the socket closes.
 */
import type { ControlDeps } from './app.js';
import { buildApp } from './app.js';

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

export async function startControlServer(deps: ControlDeps): Promise<ControlServer> {
  const app = await buildApp(deps);
  await app.listen({ host: deps.config.listenHost, port: deps.config.ports.http });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : deps.config.ports.http;
  const host = deps.config.listenHost.includes(':') ? `[${deps.config.listenHost}]` : deps.config.listenHost;
  const url = `${deps.config.httpTls ? 'https' : 'http'}://${host}:${port}`;
  deps.logger.info({ event: 'control.listen', url }, 'control plane listening');
  let closing: Promise<void> | null = null;
  return {
    url,
    close() {
      closing ??= app.close().then(() => undefined);
      return closing;
    },
  };
}
