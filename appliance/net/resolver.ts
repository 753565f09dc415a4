/**
 * The configurable DNS resolver (POSTERN_DNS_RESOLVER=host:port, else the system's), shaped as
 * mailauth expects: resolve(name, rrtype) like dns.promises.resolve, failing with an error whose
 * `code` is ENOTFOUND/ENODATA when there is no record.
 */
import { promises as dns } from 'node:dns';

export type DnsResolveFn = (name: string, rrtype: string) => Promise<any>;

export function createResolver(server: { host: string; port: number } | null, opts: { timeoutMs?: number; tries?: number } = {}): DnsResolveFn {
  const resolver = new dns.Resolver({ timeout: opts.timeoutMs ?? 3000, tries: opts.tries ?? 2 });
  if (server) resolver.setServers([server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`]);
  return (name, rrtype) => resolver.resolve(name, rrtype as 'A');
}
