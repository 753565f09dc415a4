/**
 * The client's reverse DNS name, as Haraka looks it up for every connection (its default
 * `lookup_rdns`: the system resolver, NXDOMAIN or DNSERROR when there is no answer), with the
 * answer kept 10 s (issue 18): an MX hears from the same few addresses over and over, and each
 * fresh query cost Haraka's event loop a resolver round trip per session. Definite answers (a
 * name, or no such name) are kept; failures are asked again.
 */
import { promises as dns } from 'node:dns';
import { cachingResolver } from '../../../appliance/net/resolver.js';

export type ReverseLookup = (ip: string) => Promise<string[]>;

const TTL_MS = 10_000;
const ENTRIES = 10_000;

/** The name Haraka records for the client, as its own lookup does: the first PTR name, 'NXDOMAIN' when the name does not exist, 'DNSERROR' on any other failure (no PTR record included). */
export function remoteHostNames(lookup: ReverseLookup = systemReverse()): (ip: string) => Promise<string> {
  const cached = cachingResolver((ip) => lookup(ip), TTL_MS, ENTRIES);
  return async (ip) => {
    try {
      const names = (await cached(ip, 'PTR')) as string[];
      return names[0] || 'Unknown';
    } catch (err) {
      const code = (err as { code?: string }).code;
      return code === 'ENOTFOUND' ? 'NXDOMAIN' : 'DNSERROR';
    }
  };
}

function systemReverse(): ReverseLookup {
  const resolver = new dns.Resolver();
  return (ip) => resolver.reverse(ip);
}
