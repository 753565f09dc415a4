/**
 * An IMAP migration survives a hard crash of the appliance (issue 20: "a crash … resumes where it
 * stopped, no duplicates"). The real appliance (child process) copies a mailbox from a private
 * Dovecot (Maildir++ written on disk: five folders, flags, internal dates, two 2 MB messages
 * among 1,200) through a TCP proxy the test controls, throttled so the copy takes several seconds.
 * Once the API shows part of the mailbox copied, the appliance is SIGKILLed mid-copy — no
 * shutdown, no report, possibly a batch stored without its progress record. Booted again on the
 * same data dir it reports the job `interrupted` (it still holds the sealed credential, the only
 * state that does); `run` without a password resumes it; at the end every source message is in
 * its folder exactly once (by Message-ID) with the source's bytes, flags and internal date, and
 * the credential is wiped.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceDovecot, sourceCertificate, type SourceCorpus } from '../../scripts/bench/source-dovecot.js';
import { Appliance } from '../helpers/appliance.js';
import { alive } from '../helpers/process.js';

const SOURCE_USER = 'dora@old-provider.test';
const SOURCE_PASSWORD = 'Old-Provider-Passw0rd';
const PASSWORD = 'Migration-Crash-Passw0rd!';
const MESSAGES = 1200;
/** The throttled copy should take about this long (the kill comes at a quarter of it). */
const COPY_MS = 8000;

interface Job {
  id: string;
  state: string;
  error: string | null;
  credentialsHeld: boolean;
  runs: number;
  progress: { messages: number; totalMessages: number; folders: Array<{ source: string; target: string; copied: number; total: number; done: boolean }> };
  report: { run: number; state: string; copied: number; deduplicated: number } | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A TCP proxy to the source's IMAPS port (TLS passes through it end to end): what the source
 * sends is held to `rate` bytes per second, like a slow provider; `rate = Infinity` lifts it.
 */
class ThrottledProxy {
  rate: number;
  connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: net.Server,
    rate: number,
  ) {
    this.rate = rate;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  static async start(target: number, rate: number): Promise<ThrottledProxy> {
    const server = net.createServer();
    const proxy = new ThrottledProxy(server, rate);
    server.on('connection', (client) => proxy.relay(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  private relay(client: net.Socket, target: number): void {
    this.connections++;
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      if (!Number.isFinite(this.rate)) return;
      upstream.pause();
      setTimeout(() => upstream.resume(), Math.ceil((chunk.length / this.rate) * 1000));
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Every message of a folder as Message-ID | flags | internal date | size | sha256 of the bytes, sorted. */
async function snapshot(c: ImapFlow, folder: string): Promise<string[]> {
  const box = await c.mailboxOpen(folder, { readOnly: true });
  if (!box.exists) return [];
  const out: string[] = [];
  for await (const m of c.fetch('1:*', { flags: true, internalDate: true, size: true, source: true, envelope: true })) {
    const flags = [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort();
    out.push([m.envelope?.messageId ?? '(none)', flags.join(' '), new Date(m.internalDate!).getTime(), m.size, sha(m.source!)].join(' | '));
  }
  return out.sort();
}

let dir: string;
let app: Appliance;
let source: SourceDovecot;
let corpus: SourceCorpus;
let proxy: ThrottledProxy;
let mailboxId: string;
const timings: Record<string, number> = {};

beforeAll(async () => {
  const t0 = Date.now();
  dir = mkdtempSync(path.join(tmpdir(), 'postern-mig-crash-'));
  chmodSync(dir, 0o755);
  const cert = sourceCertificate(dir);
  ({ source, corpus } = await SourceDovecot.start({ workDir: path.join(dir, 'source'), user: SOURCE_USER, password: SOURCE_PASSWORD, ...cert, messages: MESSAGES }));
  proxy = await ThrottledProxy.start(source.ports.imaps, Math.ceil(corpus.bytes / (COPY_MS / 1000)));
  app = await Appliance.start({ env: { NODE_EXTRA_CA_CERTS: cert.certFile, POSTERN_DNS_CHECK_INTERVAL_MINUTES: '0', POSTERN_SPAM: 'false' }, readyTimeoutMs: 90_000 }); // the boot after the kill too (a loaded CI box)
  mailboxId = (await app.provisionMailbox('dora@acme.test', PASSWORD)).id;
  timings.setup = Date.now() - t0;
}, 120_000);

afterAll(async () => {
  console.log('migration-crash timings (ms):', JSON.stringify(timings));
  await app?.stop();
  await proxy?.close();
  await source?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('IMAP migration across a hard crash of the appliance', () => {
  it('a SIGKILL mid-copy leaves the job interrupted; run resumes it; every source message is present once, with its bytes, flags and date', async () => {
    const getJob = async (id: string) => app.expectApi<Job>('GET', `/api/v1/migrations/${id}`, undefined, 200);
    const started = await app.expectApi<Job>(
      'POST',
      `/api/v1/mailboxes/${mailboxId}/migrations`,
      { source: { host: '127.0.0.1', port: proxy.port, tls: 'implicit', user: SOURCE_USER, password: SOURCE_PASSWORD } },
      201,
    );
    expect(corpus.messages).toBe(MESSAGES);

    // Part of the mailbox is copied (the API says so), the copy goes on: kill the appliance outright.
    const t0 = Date.now();
    let seen: Job;
    for (;;) {
      seen = await getJob(started.id);
      if (seen.state === 'running' && seen.progress.messages >= MESSAGES / 4) break;
      expect(['queued', 'running'], `the copy ended before the kill: ${JSON.stringify(seen.report)}`).toContain(seen.state);
      expect(Date.now() - t0, 'the copy did not get going').toBeLessThan(60_000);
      await sleep(100);
    }
    const haraka = app.childPids();
    await app.kill('SIGKILL');
    timings.untilKill = Date.now() - t0;
    expect(seen.progress.messages).toBeLessThan(MESSAGES);
    for (let i = 0; i < 100 && haraka.some(alive); i++) await sleep(50);
    expect(haraka.filter(alive), 'Haraka outlived the appliance').toEqual([]);

    // Booted again on the same data dir: the job whose runner died is interrupted, and still holds its sealed credential.
    const t1 = Date.now();
    await app.restart();
    timings.reboot = Date.now() - t1;
    const interrupted = await getJob(started.id);
    expect(interrupted).toMatchObject({ state: 'interrupted', credentialsHeld: true, runs: 1, report: null });
    expect(interrupted.error).toMatch(/stopped during the copy/);
    expect(interrupted.progress.messages).toBeGreaterThanOrEqual(seen.progress.messages);
    expect(interrupted.progress.messages).toBeLessThan(MESSAGES);

    // Resume without the password (the interrupted job kept it), unthrottled.
    proxy.rate = Infinity;
    const t2 = Date.now();
    expect((await app.expectApi<Job>('POST', `/api/v1/migrations/${started.id}/run`, {}, 200)).state).toBe('queued');
    let done: Job;
    for (;;) {
      done = await getJob(started.id);
      if (!['queued', 'running'].includes(done.state)) break;
      expect(Date.now() - t2, 'the resumed copy did not end').toBeLessThan(90_000);
      await sleep(200);
    }
    timings.resume = Date.now() - t2;
    expect(done).toMatchObject({ state: 'done', error: null, runs: 2, credentialsHeld: false });
    // What the second run copied plus what it found already stored (a batch stored just before the kill) is the rest.
    expect(done.report!.copied + done.report!.deduplicated + interrupted.progress.messages).toBe(MESSAGES);
    expect(done.progress.folders.every((f) => f.done)).toBe(true);
    expect(done.progress.folders.reduce((n, f) => n + f.total, 0)).toBe(MESSAGES);

    // Folder by folder, the source and Postern hold the same messages, each once.
    const src = new ImapFlow({ host: '127.0.0.1', port: source.ports.imaps, secure: true, auth: { user: SOURCE_USER, pass: SOURCE_PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });
    const dst = new ImapFlow({ host: '127.0.0.1', port: app.ports.imaps, secure: true, auth: { user: 'dora@acme.test', pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });
    await src.connect();
    await dst.connect();
    const ids = new Set<string>();
    let total = 0;
    try {
      for (const f of done.progress.folders) {
        const [a, b] = [await snapshot(src, f.source), await snapshot(dst, f.target)];
        expect(a.length, f.source).toBe(corpus.perFolder[f.source] ?? 0); // "Projects" only holds "Projects/Alpha"
        expect(b.length, `${f.source} -> ${f.target}: messages`).toBe(a.length);
        expect(b, `${f.source} -> ${f.target}`).toEqual(a);
        for (const line of b) ids.add(line.split(' | ')[0]!);
        total += b.length;
      }
    } finally {
      await src.logout();
      await dst.logout();
    }
    expect(total).toBe(MESSAGES);
    expect(ids.size).toBe(MESSAGES); // no Message-ID twice anywhere
    console.log(
      `migration-crash: killed at ${seen.progress.messages} copied (API), ${interrupted.progress.messages} recorded after the reboot; the resumed run copied ${done.report!.copied} and found ${done.report!.deduplicated} already stored; ${proxy.connections} source connections`,
    );
  }, 240_000);
});
