/**
 * Starts the real appliance (the compiled `dist/appliance/main.js`, as `npm start` runs it) on
 * ephemeral loopback ports with a fresh data dir, and talks to its API like an operator would.
 * Run `npm run build` first (the test command does).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiClient } from '../../scripts/lib/api-client.js';
import { freePorts } from './ports.js';
import { createTestDatabase } from './postgres.js';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'appliance', 'main.js');

/** The /readyz answer (control/routes/health.routes.ts). */
export interface Readiness {
  status: 'ready' | 'unavailable';
  failing: string[];
  components: Record<string, { ok: boolean; detail?: string }>;
}

export interface ApplianceOptions {
  env?: Record<string, string>;
  /** Reuse a data dir (restart after a crash). */
  dataDir?: string;
  ports?: Ports;
  /** How long to wait for /readyz (a first rspamd start compiles its rules: up to a minute or more). */
  readyTimeoutMs?: number;
}

export interface Ports {
  smtp: number;
  submission: number;
  submissions: number;
  imap: number;
  imaps: number;
  http: number;
}

export const OPERATOR_TOKEN = 'test-operator-token-0123456789abcdef';

export class Appliance {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  logs: string[] = [];

  private constructor(
    readonly dataDir: string,
    readonly ports: Ports,
    readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.ports.http}`;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  static async start(opts: ApplianceOptions = {}): Promise<Appliance> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
    const dataDir = opts.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'postern-e2e-')));
    let ports = opts.ports;
    if (!ports) {
      const [smtp, submission, submissions, imap, imaps, http] = await freePorts(6);
      ports = { smtp: smtp!, submission: submission!, submissions: submissions!, imap: imap!, imaps: imaps!, http: http! };
    }
    const a = new Appliance(dataDir, ports, opts.env ?? {});
    a.readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
    try {
      await a.launch();
    } catch (err) {
      // Not ready in time (a loaded machine): stop the child instead of leaving it running.
      await a.stop({ keepData: opts.dataDir !== undefined });
      throw err;
    }
    return a;
  }

  private readyTimeoutMs = 90_000;

  /**
   * The PostgreSQL run (POSTERN_TEST_PG_URL): the appliance gets a database of its own on the
   * run's server, remembered in its data dir so a restart on the same data dir finds its state.
   */
  private async testDatabaseEnv(): Promise<Record<string, string>> {
    if (!process.env.POSTERN_TEST_PG_URL || this.env.POSTERN_DATABASE_URL !== undefined) return {};
    const file = path.join(this.dataDir, 'test-database-url');
    const url = existsSync(file) ? (await readFile(file, 'utf8')).trim() : await createTestDatabase('appliance');
    await writeFile(file, url);
    return { POSTERN_DATABASE_URL: url };
  }

  private async launch(): Promise<void> {
    const database = await this.testDatabaseEnv();
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      NODE_ENV: 'production',
      POSTERN_DATA_DIR: this.dataDir,
      POSTERN_LISTEN_HOST: '127.0.0.1',
      POSTERN_HOSTNAME: 'mx.postern.test',
      POSTERN_SMTP_PORT: String(this.ports.smtp),
      POSTERN_SUBMISSION_PORT: String(this.ports.submission),
      POSTERN_SUBMISSIONS_PORT: String(this.ports.submissions),
      POSTERN_IMAP_PORT: String(this.ports.imap),
      POSTERN_IMAPS_PORT: String(this.ports.imaps),
      POSTERN_HTTP_PORT: String(this.ports.http),
      POSTERN_LOG_LEVEL: process.env.POSTERN_TEST_LOG_LEVEL ?? 'info',
      POSTERN_BOOTSTRAP_TOKEN: OPERATOR_TOKEN,
      // The spam scanner (rspamd + redis on fixed default ports) only where a test asks for it.
      POSTERN_SPAM: 'false',
      ...database,
      ...this.env,
    };
    const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    for (const s of [child.stdout!, child.stderr!]) {
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        this.logs.push(d);
        if (this.logs.length > 5000) this.logs.splice(0, 1000);
        if (process.env.POSTERN_TEST_ECHO) process.stderr.write(d);
      });
    }
    await this.waitReady(this.readyTimeoutMs);
  }

  /** Resolves when /readyz answers 200. */
  async waitReady(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) {
        throw new Error(`appliance exited with ${this.child.exitCode}:\n${this.logs.join('').slice(-4000)}`);
      }
      try {
        const res = await fetch(`${this.url}/readyz`);
        if (res.status === 200) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`appliance not ready after ${timeoutMs} ms:\n${this.logs.join('').slice(-4000)}`);
  }

  async readyz(): Promise<{ status: number; body: Readiness }> {
    const res = await fetch(`${this.url}/readyz`);
    return { status: res.status, body: (await res.json()) as Readiness };
  }

  /** An API call with the operator token (or `token`). */
  api<T = any>(method: string, url: string, body?: unknown, token = OPERATOR_TOKEN): Promise<{ status: number; body: T }> {
    return new ApiClient(this.url, OPERATOR_TOKEN).api<T>(method, url, body, token);
  }

  expectApi<T = any>(method: string, url: string, body: unknown, status: number): Promise<T> {
    return new ApiClient(this.url, OPERATOR_TOKEN).expectApi<T>(method, url, body, status);
  }

  /** Tenant + domain (created once per name), then a mailbox whose owner sets `password` through the setup link. */
  async provisionMailbox(address: string, password: string | null = 'Sturdy-Passw0rd!', extra: Record<string, unknown> = {}) {
    const [localPart, domain] = address.split('@') as [string, string];
    const domainId = await this.ensureDomain(domain);
    const mb = await this.expectApi<{ id: string; address: string; setup: { token: string } }>(
      'POST',
      `/api/v1/domains/${domainId}/mailboxes`,
      { localPart, owner: { name: 'Owner Person', email: `owner.${localPart}@owners.example` }, credentialDelivery: 'link', ...extra },
      201,
    );
    if (password) await this.expectApi('POST', `/api/v1/setup/${mb.setup.token}`, { password }, 204);
    return { id: mb.id, address: mb.address, domainId, tenantId: this.tenantId! };
  }

  tenantId: string | null = null;
  private domains = new Map<string, string>();

  async ensureDomain(domain: string): Promise<string> {
    const known = this.domains.get(domain);
    if (known) return known;
    if (!this.tenantId) this.tenantId = (await this.expectApi<{ id: string }>('POST', '/api/v1/tenants', { name: 'E2E tenant' }, 201)).id;
    const d = await this.expectApi<{ id: string }>('POST', `/api/v1/tenants/${this.tenantId}/domains`, { name: domain }, 201);
    this.domains.set(domain, d.id);
    return d.id;
  }

  /** PIDs of the appliance's child processes (Haraka). */
  childPids(): number[] {
    try {
      return execFileSync('pgrep', ['-P', String(this.pid)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.child?.kill(signal);
    return this.exited;
  }

  /** Starts the appliance again on the same data dir and ports. */
  async restart(): Promise<void> {
    await this.waitPortsFree();
    await this.launch();
  }

  private async waitPortsFree(): Promise<void> {
    const { createServer } = await import('node:net');
    for (const port of Object.values(this.ports)) {
      for (let i = 0; i < 100; i++) {
        const free = await new Promise<boolean>((resolve) => {
          const s = createServer();
          s.once('error', () => resolve(false));
          s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
        });
        if (free) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async stop(opts: { keepData?: boolean } = {}): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    if (!opts.keepData) await rm(this.dataDir, { recursive: true, force: true });
  }
}
