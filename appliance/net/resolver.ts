/**
 * The configurable DNS resolver (POSTERN_DNS_RESOLVER=host:port, else the system's), shaped as
 * mailauth expects: resolve(name, rrtype) like dns.promises.resolve, failing with an error whose
 * `code` is ENOTFOUND/ENODATA when there is no record.
 */
import { promises as dns } from 'node:dns';

export type DnsResolveFn = (name: string, rrtype: string) => Promise<any>;

export interface ResolverOptions {
  timeoutMs?: number;
  tries?: number;
  /** Keep answers (and "no such record") this long, at most; 0 or absent: no cache. */
  cacheMs?: number;
  /** Most answers kept (oldest dropped first). */
  cacheEntries?: number;
}

export function createResolver(server: { host: string; port: number } | null, opts: ResolverOptions = {}): DnsResolveFn {
  const resolver = new dns.Resolver({ timeout: opts.timeoutMs ?? 3000, tries: opts.tries ?? 2 });
  if (server) resolver.setServers([server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`]);
  const resolve: DnsResolveFn = (name, rrtype) => resolver.resolve(name, rrtype as 'A');
  return opts.cacheMs ? cachingResolver(resolve, opts.cacheMs, opts.cacheEntries ?? 10_000) : resolve;
}

/** Answers that are facts about the name (cached); anything else (timeouts, SERVFAIL) is asked again. */
const DEFINITE = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * A short-lived answer cache in front of `resolve`: the MTA asks the same questions for every
 * message from a sender (SPF, DMARC, PTR; MX of the same domains), and concurrent identical
 * questions share one query. Node's resolver gives no TTL for TXT or MX answers, so entries
 * live `ttlMs` (seconds, far below usual record TTLs) whatever the record says.
 */
export function cachingResolver(resolve: DnsResolveFn, ttlMs: number, maxEntries: number): DnsResolveFn {
  const cache = new Map<string, { expires: number; answer: Promise<any> }>();
  return (name, rrtype) => {
    const key = `${rrtype} ${name.toLowerCase()}`;
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.expires > now) return hit.answer;
    if (hit) cache.delete(key);
    const answer = resolve(name, rrtype);
    const entry = { expires: now + ttlMs, answer };
    cache.set(key, entry);
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
    answer.catch((err: { code?: string }) => {
      if (!DEFINITE.has(String(err?.code)) && cache.get(key) === entry) cache.delete(key);
    });
    return answer;
  };
}
