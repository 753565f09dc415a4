/**
 * What a person types into a mail client, and what autoconfig, autodiscover, `.mobileconfig`
 * and SRV records publish: the public host name and the public ports (they differ from the
 * listen ports behind compose or NAT). Pure code over the configuration.
 */
import type { CoreDeps } from '../deps.js';

export interface ClientServer {
  protocol: 'imap' | 'smtp';
  host: string;
  port: number;
  /** SSL: TLS from the first byte (IMAPS, submissions); STARTTLS: upgrade on the plain port. */
  socket: 'SSL' | 'STARTTLS';
}

export interface ClientSettings {
  /** The address; also the user name (clients log in with the full address). */
  email: string;
  username: string;
  displayName: string;
  /** Preferred first: implicit TLS (RFC 8314), then STARTTLS. */
  incoming: ClientServer[];
  outgoing: ClientServer[];
}

export function publicMailHost(deps: Pick<CoreDeps, 'config'>): string {
  return (deps.config.publicHostname ?? deps.config.hostname).toLowerCase();
}

export function clientSettings(deps: Pick<CoreDeps, 'config'>, email: string, domain: string): ClientSettings {
  const host = publicMailHost(deps);
  const p = deps.config.publicPorts ?? { smtp: 25, submission: 587, submissions: 465, imap: 143, imaps: 993 };
  return {
    email,
    username: email,
    displayName: domain,
    incoming: [
      { protocol: 'imap', host, port: p.imaps, socket: 'SSL' },
      { protocol: 'imap', host, port: p.imap, socket: 'STARTTLS' },
    ],
    outgoing: [
      { protocol: 'smtp', host, port: p.submissions, socket: 'SSL' },
      { protocol: 'smtp', host, port: p.submission, socket: 'STARTTLS' },
    ],
  };
}
