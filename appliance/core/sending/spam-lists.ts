/**
 * Allow and block list values (issue 15): sender addresses, sender domains (and their
 * subdomains) and client IP networks; how a value is read and how an entry matches a sender.
 */
import { BlockList, isIP } from 'node:net';
import { invalid } from '../kernel/errors.js';

export type ListKind = 'allow' | 'block';
export type ListValueType = 'address' | 'domain' | 'ip';

const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Classifies and normalises a list value: `user@example.com`, `example.com` (and its subdomains), `192.0.2.0/24`. */
export function parseListValue(raw: string): { value: string; type: ListValueType } {
  const v = String(raw ?? '')
    .trim()
    .toLowerCase();
  if (!v || v.length > 320) throw invalid('value must be a sender address, a domain or an IP network', { field: 'value' });
  const ip = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(v);
  if (ip && isIP(ip[1]!)) {
    const max = isIP(ip[1]!) === 4 ? 32 : 128;
    const prefix = ip[2] === undefined ? max : Number(ip[2]);
    if (prefix > max) throw invalid(`prefix must be at most ${max}`, { field: 'value' });
    return { value: `${ip[1]}/${prefix}`, type: 'ip' };
  }
  if (v.includes('@')) {
    const at = v.lastIndexOf('@');
    if (at < 1 || !DOMAIN_RE.test(v.slice(at + 1)) || /\s/.test(v)) throw invalid('not a valid sender address', { field: 'value' });
    return { value: v, type: 'address' };
  }
  if (!DOMAIN_RE.test(v)) throw invalid('value must be a sender address, a domain or an IP network', { field: 'value' });
  return { value: v, type: 'domain' };
}

/** Whether `ip` is in `network` (`<address>/<prefix>`); an IPv4-mapped IPv6 client is read as IPv4. */
export function ipInNetwork(ip: string, network: string): boolean {
  const [net, prefix] = network.split('/') as [string, string];
  const addr = ip.replace(/^::ffff:(?=\d+\.)/, '');
  const family = isIP(addr);
  if (!family || family !== isIP(net)) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  list.addSubnet(net, Number(prefix), type);
  return list.check(addr, type);
}

/** Whether an entry matches the sender (address, its domain or a parent domain) or the client IP. */
export function listMatches(entry: { value: string; value_type: string }, sender: string, ip: string): boolean {
  if (entry.value_type === 'ip') return ipInNetwork(ip, entry.value);
  const s = sender.toLowerCase();
  if (!s) return false;
  if (entry.value_type === 'address') return s === entry.value;
  const domain = s.slice(s.lastIndexOf('@') + 1);
  return domain === entry.value || domain.endsWith(`.${entry.value}`);
}
