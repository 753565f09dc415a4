/**
 * The MTA's questions about one address, answered by the core: may this recipient receive
 * mail here (RCPT), and where does a message for a domain go (local, a smarthost, or MX).
 */
import type { OutboundRouteInfo } from '../sending/sending.js';
import type { DeliveryDeps } from './delivery.types.js';
import type { RecipientRefusal } from './routing.js';

export type RecipientCheck =
  | { ok: true; mailboxIds: string[] }
  /** A valid SRS address of ours: bounces for forwarded mail go back to `original`. */
  | { ok: true; srsOriginal: string }
  | { ok: false; refusal: RecipientRefusal };

/**
 * RCPT TO: a bounce to one of our SRS addresses goes back to the original sender; any other
 * address resolves through the router with the declared size (quota checks).
 */
export async function checkRecipient(deps: Pick<DeliveryDeps, 'router' | 'forwards' | 'srs'>, rawAddress: string, size?: number): Promise<RecipientCheck> {
  const address = rawAddress.toLowerCase();
  if (/^srs0=/i.test(address)) {
    const original = (await deps.srs()).reverse(address);
    if (original && (await deps.forwards.isHosted(address.slice(address.lastIndexOf('@') + 1)))) return { ok: true, srsOriginal: original };
  }
  const r = await deps.router.resolve(address, size);
  return r.ok ? { ok: true, mailboxIds: r.mailboxes.map((m) => m.id) } : { ok: false, refusal: r.refusal };
}

export type OutboundRoute = { kind: 'local' } | { kind: 'smarthost'; route: OutboundRouteInfo } | { kind: 'mx' };

export interface RouteSource {
  isHosted(domain: string): Promise<boolean>;
  route(senderDomain: string | null): Promise<OutboundRouteInfo | null>;
}

/** Smarthost settings of the appliance (config.smarthost). */
export interface GlobalSmarthost {
  host: string;
  port: number;
  tls: OutboundRouteInfo['tls'];
  user: string | null;
  password: string | null;
}

/** Where a message from `senderDomain` to `rcptDomain` goes: a hosted domain is local; else the sender's route, the global smarthost, or MX. */
export async function lookupRoute(sending: RouteSource, smarthost: GlobalSmarthost | null | undefined, p: { senderDomain: string | null; rcptDomain: string }): Promise<OutboundRoute> {
  if (await sending.isHosted(p.rcptDomain)) return { kind: 'local' };
  const route = await sending.route(p.senderDomain);
  if (route) return { kind: 'smarthost', route };
  if (smarthost) return { kind: 'smarthost', route: { host: smarthost.host, port: smarthost.port, tls: smarthost.tls, authUser: smarthost.user, authPass: smarthost.password, scope: 'global' } };
  return { kind: 'mx' };
}
