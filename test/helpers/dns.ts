/**
 * A real DNS server for tests: Debian's dnsmasq on a loopback port, authoritative for the zones
 * the test names (NXDOMAIN for anything else in them), never forwarding to the internet.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.js';

export type DnsRecord =
  | { type: 'TXT'; name: string; value: string }
  | { type: 'MX'; name: string; value: string; priority?: number }
  | { type: 'A'; name: string; value: string }
  /** The target must be a name dnsmasq knows (give it an A record here). */
  | { type: 'CNAME'; name: string; value: string }
  | { type: 'SRV'; name: string; value: string; port: number; priority?: number; weight?: number };

export interface DnsServer {
  port: number;
  /** `host:port` for POSTERN_DNS_RESOLVER. */
  address: string;
  /** Replaces every record (restarts dnsmasq on the same port). */
  setRecords(records: DnsRecord[]): Promise<void>;
  stop(): Promise<void>;
}

function quoteTxt(value: string): string {
  const chunks: string[] = [];
  for (let i = 0; i < value.length; i += 250) chunks.push(value.slice(i, i + 250));
  return chunks.map((c) => `"${c.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',');
}

function configFor(port: number, zones: string[], records: DnsRecord[]): string {
  const lines = [`port=${port}`, 'listen-address=127.0.0.1', 'bind-interfaces', 'no-resolv', 'no-hosts', 'no-negcache', 'user=root', ...zones.map((z) => `local=/${z}/`)];
  for (const r of records) {
    if (r.type === 'TXT') lines.push(`txt-record=${r.name},${quoteTxt(r.value)}`);
    else if (r.type === 'MX') lines.push(`mx-host=${r.name},${r.value},${r.priority ?? 10}`);
    else if (r.type === 'CNAME') lines.push(`cname=${r.name},${r.value}`);
    else if (r.type === 'SRV') lines.push(`srv-host=${r.name},${r.value},${r.port},${r.priority ?? 0},${r.weight ?? 0}`);
    else lines.push(`host-record=${r.name},${r.value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Sends one query until dnsmasq answers (it is up). */
async function waitAnswering(port: number, timeoutMs: number): Promise<void> {
  const query = Buffer.from('abcd01000001000000000000' + '04746573740000010001', 'hex'); // "test" A?
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createSocket('udp4');
      const timer = setTimeout(() => {
        sock.close();
        resolve(false);
      }, 200);
      sock.once('message', () => {
        clearTimeout(timer);
        sock.close();
        resolve(true);
      });
      sock.send(query, port, '127.0.0.1');
    });
    if (ok) return;
  }
  throw new Error('dnsmasq did not answer');
}

export async function startDnsServer(zones: string[], records: DnsRecord[]): Promise<DnsServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'postern-dns-'));
  const [port] = await freePorts(1);
  let child: ChildProcess | null = null;

  async function launch(recs: DnsRecord[]): Promise<void> {
    const conf = path.join(dir, 'dnsmasq.conf');
    await writeFile(conf, configFor(port!, zones, recs));
    const p = spawn('/usr/sbin/dnsmasq', ['--keep-in-foreground', `--conf-file=${conf}`, '--pid-file='], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    child = p;
    await Promise.race([waitAnswering(port!, 5000), new Promise((_, reject) => p.once('exit', (code) => reject(new Error(`dnsmasq exited ${code}: ${err}`))))]);
  }

  async function halt(): Promise<void> {
    const p = child;
    child = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }

  await launch(records);
  return {
    port: port!,
    address: `127.0.0.1:${port}`,
    async setRecords(recs) {
      await halt();
      await launch(recs);
    },
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
