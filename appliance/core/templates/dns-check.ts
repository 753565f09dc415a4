/**
 * The DNS records a hosted domain needs, how to compare them with what the resolver answers,
 * and the BIND zone snippet. Pure code apart from the resolver calls: no database.
 *
 * Required records (a domain is `failing` without them): MX, SPF, DKIM for every live selector,
 * DMARC. Recommended (`degraded` without them): MTA-STS (`_mta-sts` TXT and the `mta-sts` host
 * serving the policy), TLS-RPT, autoconfig/autodiscover host names and the RFC 6186 SRV records.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { DnsResolveFn } from '../../net/resolver.js';
import { dkimTxtValue } from './dkim.js';
import type { TemplateSettings } from './templates.js';

export type ExpectedType = 'MX' | 'TXT' | 'CNAME' | 'SRV';
export type RecordPurpose = 'mx' | 'spf' | 'dkim' | 'dmarc' | 'mta-sts' | 'tls-rpt' | 'autoconfig' | 'autodiscover' | 'srv';
export type RecordStatus = 'ok' | 'missing' | 'wrong' | 'conflict' | 'error';
export type DomainDnsStatus = 'ok' | 'degraded' | 'failing' | 'unknown';

export interface ExpectedRecord {
  type: ExpectedType;
  name: string;
  /** MX: "<priority> <host>"; SRV: "<priority> <weight> <port> <target>"; TXT: the text; CNAME: the target. */
  value: string;
  purpose: RecordPurpose;
  required: boolean;
  /**
   * Set when the record cannot be published as is: its target is an IP address (a CNAME, MX or
   * SRV target must be a host name), a loopback name or a reserved name (.test, .localhost,
   * .invalid, .example) no public DNS resolves. The text says why and which setting fixes it.
   */
  unpublishable?: string;
  /**
   * With `unpublishable`: true when no DNS server may carry the record at all (an IP address or
   * loopback name as target): the zone snippet comments it out. False for reserved names, which
   * a private test DNS can still serve: the snippet keeps the line, with the warning above it.
   */
  broken?: boolean;
}

export interface CheckedRecord {
  type: ExpectedType;
  name: string;
  purpose: RecordPurpose;
  required: boolean;
  expected: string;
  found: string[];
  status: RecordStatus;
  detail?: string;
}

export interface DnsHosts {
  /** The appliance's MX host name (config.hostname). */
  mx: string;
  /** The host that serves the console, MTA-STS policies and autoconfig (publicUrl's host). */
  web: string;
  /** The port of the web host as clients reach it (publicUrl's port; 443 for https by default). */
  webPort?: number;
  /** The host name mail clients connect to (config.publicHostname); default: mx. */
  client?: string;
  /** The ports mail clients reach (config.publicPorts); default: the standard ones. */
  ports?: { submission: number; submissions: number; imap: number; imaps: number };
}

const RESERVED_TLDS = ['test', 'localhost', 'invalid', 'example'];

/**
 * Why `host` cannot be the target of a published record, or null when it can: an IP address
 * (CNAME/MX/SRV targets are host names), a loopback name, or a reserved name (RFC 2606/6761).
 */
export function unpublishableHost(host: string): { reason: string; broken: boolean } | null {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (isIP(h.replace(/^\[|\]$/g, ''))) return { reason: `${h} is an IP address; a CNAME, MX or SRV target must be a host name`, broken: true };
  if (h === 'localhost' || h.endsWith('.localhost')) return { reason: `${h} is a loopback name`, broken: true };
  if (!h.includes('.')) return { reason: `${h} is not a fully qualified host name`, broken: true };
  const tld = h.slice(h.lastIndexOf('.') + 1);
  if (RESERVED_TLDS.includes(tld)) return { reason: `${h} is under the reserved .${tld} domain, which no public DNS resolves`, broken: false };
  return null;
}

const SETTING: Record<'mx' | 'web' | 'client', string> = { mx: 'POSTERN_HOSTNAME', web: 'POSTERN_PUBLIC_URL', client: 'POSTERN_PUBLIC_HOSTNAME' };

function marked(r: ExpectedRecord, host: string, which: keyof typeof SETTING): ExpectedRecord {
  const why = unpublishableHost(host);
  return why ? { ...r, unpublishable: `${why.reason}: set ${SETTING[which]} to the public host name`, broken: why.broken } : r;
}

/** The MTA-STS policy text served at https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461). */
export function mtaStsPolicy(settings: TemplateSettings, hosts: DnsHosts): string {
  return `version: STSv1\r\nmode: ${settings.mtaSts.mode}\r\nmx: ${hosts.mx}\r\nmax_age: ${settings.mtaSts.maxAgeSeconds}\r\n`;
}

/** The policy id: changes whenever the policy text does. */
export function mtaStsId(policy: string): string {
  return createHash('sha256').update(policy).digest('hex').slice(0, 20);
}

export function expectedRecords(domain: string, keys: ReadonlyArray<{ selector: string; algorithm: string; public_key: string }>, settings: TemplateSettings, hosts: DnsHosts): ExpectedRecord[] {
  const report = `${settings.dmarc.reportLocalPart}@${domain}`;
  const client = hosts.client ?? hosts.mx;
  const ports = hosts.ports ?? { submission: 587, submissions: 465, imap: 143, imaps: 993 };
  const out: ExpectedRecord[] = [
    marked({ type: 'MX', name: domain, value: `10 ${hosts.mx}`, purpose: 'mx', required: true }, hosts.mx, 'mx'),
    { type: 'TXT', name: domain, value: 'v=spf1 mx -all', purpose: 'spf', required: true },
    ...keys.map((k) => ({ type: 'TXT' as const, name: `${k.selector}._domainkey.${domain}`, value: dkimTxtValue(k.algorithm, k.public_key), purpose: 'dkim' as const, required: true })),
    { type: 'TXT', name: `_dmarc.${domain}`, value: `v=DMARC1; p=${settings.dmarc.policy}; rua=mailto:${report}`, purpose: 'dmarc', required: true },
  ];
  if (settings.mtaSts.mode !== 'none') {
    out.push(
      { type: 'TXT', name: `_mta-sts.${domain}`, value: `v=STSv1; id=${mtaStsId(mtaStsPolicy(settings, hosts))}`, purpose: 'mta-sts', required: false },
      marked({ type: 'CNAME', name: `mta-sts.${domain}`, value: hosts.web, purpose: 'mta-sts', required: false }, hosts.web, 'web'),
    );
  }
  // RFC 6186 / RFC 8314 SRV records name the ports clients reach; "0 0 0 ." would say "not offered".
  out.push(
    { type: 'TXT', name: `_smtp._tls.${domain}`, value: `v=TLSRPTv1; rua=mailto:${report}`, purpose: 'tls-rpt', required: false },
    marked({ type: 'CNAME', name: `autoconfig.${domain}`, value: hosts.web, purpose: 'autoconfig', required: false }, hosts.web, 'web'),
    marked({ type: 'CNAME', name: `autodiscover.${domain}`, value: hosts.web, purpose: 'autodiscover', required: false }, hosts.web, 'web'),
    marked({ type: 'SRV', name: `_autodiscover._tcp.${domain}`, value: `0 1 ${hosts.webPort ?? 443} ${hosts.web}`, purpose: 'autodiscover', required: false }, hosts.web, 'web'),
    marked({ type: 'SRV', name: `_imaps._tcp.${domain}`, value: `0 1 ${ports.imaps} ${client}`, purpose: 'srv', required: false }, client, 'client'),
    marked({ type: 'SRV', name: `_imap._tcp.${domain}`, value: `10 1 ${ports.imap} ${client}`, purpose: 'srv', required: false }, client, 'client'),
    marked({ type: 'SRV', name: `_submissions._tcp.${domain}`, value: `0 1 ${ports.submissions} ${client}`, purpose: 'srv', required: false }, client, 'client'),
    marked({ type: 'SRV', name: `_submission._tcp.${domain}`, value: `10 1 ${ports.submission} ${client}`, purpose: 'srv', required: false }, client, 'client'),
  );
  return out;
}

// ---- comparison --------------------------------------------------------------------------

const host = (h: string) => h.trim().toLowerCase().replace(/\.$/, '');

/** Tags of a `k=v; k=v` record, keys lower-cased, values trimmed. */
function tags(txt: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of txt.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).replace(/\s+/g, ''));
  }
  return out;
}

const normSpace = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

type Lookup = { ok: true; values: unknown[] } | { ok: false; missing: boolean; code: string };

async function lookup(resolve: DnsResolveFn, name: string, type: ExpectedType): Promise<Lookup> {
  try {
    const values = (await resolve(name, type)) as unknown[];
    return { ok: true, values: Array.isArray(values) ? values : [] };
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? 'ERROR');
    return { ok: false, missing: code === 'ENOTFOUND' || code === 'ENODATA' || code === 'NXDOMAIN', code };
  }
}

function txtStrings(values: unknown[]): string[] {
  return values.map((v) => (Array.isArray(v) ? v.join('') : String(v)));
}

/** Same-prefix TXT records at one name: none → missing, several → conflict, one → compare. */
function compareTxt(found: string[], prefix: RegExp, matches: (v: string) => boolean): { status: RecordStatus; relevant: string[]; detail?: string } {
  const relevant = found.filter((v) => prefix.test(v.trim()));
  if (relevant.length === 0) return { status: 'missing', relevant };
  if (relevant.length > 1) return { status: 'conflict', relevant, detail: `${relevant.length} records where exactly one is allowed` };
  return matches(relevant[0]!) ? { status: 'ok', relevant } : { status: 'wrong', relevant };
}

export async function checkRecord(resolve: DnsResolveFn, e: ExpectedRecord): Promise<CheckedRecord> {
  const base = { type: e.type, name: e.name, purpose: e.purpose, required: e.required, expected: e.value };
  const res = await lookup(resolve, e.name, e.type);
  if (!res.ok) return { ...base, found: [], status: res.missing ? 'missing' : 'error', ...(res.missing ? {} : { detail: `resolver: ${res.code}` }) };
  switch (e.type) {
    case 'MX': {
      const mx = (res.values as Array<{ exchange: string; priority: number }>).map((m) => ({ host: host(m.exchange), priority: m.priority }));
      const found = mx.map((m) => `${m.priority} ${m.host}`);
      const want = host(e.value.split(' ')[1]!);
      const ours = mx.filter((m) => m.host === want);
      const foreign = mx.filter((m) => m.host !== want);
      if (mx.length === 0) return { ...base, found, status: 'missing' };
      if (!ours.length) return { ...base, found, status: 'wrong', detail: 'no MX points at this appliance' };
      if (foreign.length) return { ...base, found, status: 'conflict', detail: `foreign MX: ${foreign.map((f) => f.host).join(', ')}` };
      return { ...base, found, status: 'ok' };
    }
    case 'CNAME': {
      const found = (res.values as string[]).map(host);
      if (!found.length) return { ...base, found, status: 'missing' };
      return { ...base, found, status: found.length === 1 && found[0] === host(e.value) ? 'ok' : 'wrong' };
    }
    case 'SRV': {
      const srv = res.values as Array<{ name: string; port: number; priority: number; weight: number }>;
      const found = srv.map((s) => `${s.priority} ${s.weight} ${s.port} ${host(s.name)}`);
      const [, , port, target] = e.value.split(' ');
      if (!found.length) return { ...base, found, status: 'missing' };
      return { ...base, found, status: srv.some((s) => String(s.port) === port && host(s.name) === host(target!)) ? 'ok' : 'wrong' };
    }
    case 'TXT': {
      const all = txtStrings(res.values);
      let r: ReturnType<typeof compareTxt>;
      switch (e.purpose) {
        case 'spf':
          r = compareTxt(all, /^v=spf1(\s|$)/i, (v) => normSpace(v) === normSpace(e.value));
          break;
        case 'dkim': {
          const want = tags(e.value);
          r = compareTxt(all, /(^|;)\s*(v=DKIM1|p=)/i, (v) => {
            const t = tags(v);
            return t.get('p') === want.get('p') && (t.get('k') ?? 'rsa').toLowerCase() === want.get('k');
          });
          break;
        }
        case 'dmarc': {
          const want = tags(e.value);
          r = compareTxt(all, /^v=DMARC1/i, (v) => {
            const t = tags(v);
            const rua = (t.get('rua') ?? '').toLowerCase().split(',');
            return (t.get('p') ?? '').toLowerCase() === want.get('p') && rua.includes(want.get('rua')!.toLowerCase());
          });
          break;
        }
        case 'mta-sts':
          r = compareTxt(all, /^v=STSv1/i, (v) => tags(v).get('id') === tags(e.value).get('id'));
          break;
        case 'tls-rpt':
          r = compareTxt(all, /^v=TLSRPTv1/i, (v) => (tags(v).get('rua') ?? '').toLowerCase().split(',').includes(tags(e.value).get('rua')!.toLowerCase()));
          break;
        default:
          r = compareTxt(all, /.*/, (v) => normSpace(v) === normSpace(e.value));
      }
      return { ...base, found: r.relevant, status: r.status, ...(r.detail ? { detail: r.detail } : {}) };
    }
  }
}

/** Records no DNS server may carry (an IP address as CNAME/SRV target) are not checked. */
export function checkable(e: ExpectedRecord): boolean {
  return !(e.unpublishable && e.broken);
}

export async function checkRecords(resolve: DnsResolveFn, expected: ExpectedRecord[]): Promise<CheckedRecord[]> {
  return Promise.all(expected.filter(checkable).map((e) => checkRecord(resolve, e)));
}

/** failing: a required record is not ok; unknown: a required record could not be looked up; degraded: a recommended one is not ok. */
export function domainStatus(records: CheckedRecord[]): DomainDnsStatus {
  const req = records.filter((r) => r.required);
  if (req.some((r) => r.status !== 'ok' && r.status !== 'error')) return 'failing';
  if (req.some((r) => r.status === 'error')) return 'unknown';
  if (records.some((r) => !r.required && r.status !== 'ok')) return 'degraded';
  return 'ok';
}

// ---- zone snippet --------------------------------------------------------------------------

function quoted(value: string): string {
  const chunks: string[] = [];
  for (let i = 0; i < value.length; i += 255)
    chunks.push(
      `"${value
        .slice(i, i + 255)
        .replace(/\\/g, '\\\\')
        .replace(/"/g, '\\"')}"`,
    );
  return chunks.length > 1 ? `( ${chunks.join(' ')} )` : chunks[0]!;
}

/**
 * The records as a BIND zone snippet with absolute names. A record that cannot be published
 * anywhere (`broken`) is written commented out, with the reason on the line above it, so the
 * snippet always loads into a zone; one only a private DNS can serve keeps a warning above it.
 */
export function zoneSnippet(domain: string, records: ExpectedRecord[], header: string, ttl = 3600): string {
  const lines = [`; ${header}`, `; ${domain}: required records first, then recommended ones`];
  for (const r of [...records].sort((a, b) => Number(b.required) - Number(a.required))) {
    const name = `${r.name}.`;
    const data = r.type === 'TXT' ? quoted(r.value) : `${r.value.replace(/\.$/, '')}.`;
    const line = `${name} ${ttl} IN ${r.type} ${data}`;
    if (r.unpublishable && r.broken) lines.push(`; NOT PUBLISHED: ${r.unpublishable}`, `; ${line}`);
    else if (r.unpublishable) lines.push(`; WARNING: ${r.unpublishable}`, line);
    else lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}
