import { isIP } from 'node:net';
import type { DnsResolveFn } from '../../../appliance/net/resolver.js';

export interface MxTarget {
  exchange: string;
  priority: number;
  port: number;
}

function noRecord(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOTFOUND' || code === 'ENODATA';
}

async function addresses(resolve: DnsResolveFn, host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  const v4 = await resolve(host, 'A').catch((err) => (noRecord(err) ? [] : Promise.reject(err)));
  return v4 as string[];
}

/**
 * MX targets of a domain through our resolver (RFC 5321 §5.1: MX records by preference, else the
 * domain's own address; a null MX "." means the domain accepts no mail), as IP addresses so
 * Haraka does not resolve again through the system resolver.
 */
export async function lookupMx(resolve: DnsResolveFn, domain: string, port: number): Promise<MxTarget[] | 'null-mx'> {
  let mx: Array<{ exchange: string; priority: number }>;
  try {
    mx = (await resolve(domain, 'MX')) as Array<{ exchange: string; priority: number }>;
  } catch (err) {
    if (!noRecord(err)) throw err;
    mx = [{ exchange: domain, priority: 0 }];
  }
  if (mx.length === 1 && (mx[0]!.exchange === '' || mx[0]!.exchange === '.')) return 'null-mx';
  const out: MxTarget[] = [];
  for (const m of [...mx].sort((a, b) => a.priority - b.priority)) {
    for (const ip of await addresses(resolve, m.exchange)) out.push({ exchange: ip, priority: m.priority, port });
  }
  return out;
}
