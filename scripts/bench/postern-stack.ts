/**
 * Postern under test: the compiled appliance (`dist/appliance/main.js`, as `npm start` runs it)
 * on free loopback ports with a fresh data dir, provisioned through its API the way an operator
 * would (tenant, domain, mailboxes, passwords set through the setup links).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { childrenOf, cpuSeconds, cpuSecondsOfProcess, processTree } from './procs.js';
import type { BenchStack } from './stack.js';
import { freePorts, pool, sleep, stopChild } from './util.js';
import { ApiClient } from '../lib/api-client.js';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MAIN = path.join(ROOT, 'dist', 'appliance', 'main.js');
export const OPERATOR_TOKEN = 'bench-operator-token-0123456789abcdef';

export interface PosternOptions {
  dataDir: string;
  domain: string;
  dnsResolver: string;
  smarthostPort: number;
  /** Scan inbound mail with the appliance's own rspamd + redis (these loopback ports); off otherwise. */
  spam?: { rspamdPort: number; controllerPort: number; redisPort: number; hsCacheDir: string };
  /** More environment (the migration case: NODE_EXTRA_CA_CERTS, the source Dovecot's certificate). */
  env?: NodeJS.ProcessEnv;
}

export class PosternStack implements BenchStack {
  readonly name = 'postern' as const;
  private child: ChildProcess | null = null;
  private db: Database.Database | null = null;
  /** Environment of the current run only (relaunch), on top of opts.env. */
  private runEnv: NodeJS.ProcessEnv = {};
  tenantId = '';
  domainId = '';
  readonly mailboxIds = new Map<string, string>();

  private constructor(
    readonly opts: PosternOptions,
    readonly ports: { smtp: number; submission: number; submissions: number; imap: number; imaps: number; http: number },
  ) {}

  static async start(opts: PosternOptions): Promise<PosternStack> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
    const [smtp, submission, submissions, imap, imaps, http] = await freePorts(6);
    const s = new PosternStack(opts, { smtp: smtp!, submission: submission!, submissions: submissions!, imap: imap!, imaps: imaps!, http: http! });
    await s.launch();
    return s;
  }

  get smtpPort(): number {
    return this.ports.smtp;
  }
  get submissionPort(): number {
    return this.ports.submission;
  }
  get imapsPort(): number {
    return this.ports.imaps;
  }
  get url(): string {
    return `http://127.0.0.1:${this.ports.http}`;
  }
  get certFile(): string {
    return path.join(this.opts.dataDir, 'tls', 'cert.pem');
  }
  get keyFile(): string {
    return path.join(this.opts.dataDir, 'tls', 'key.pem');
  }

  pids(): number[] {
    return this.child?.pid ? processTree([this.child.pid]) : [];
  }
  rootPids(): number[] {
    return this.child?.pid ? [this.child.pid] : [];
  }

  cpuParts(): [number, number] {
    const pid = this.child?.pid;
    if (!pid) return [0, 0];
    return [cpuSecondsOfProcess(pid), cpuSeconds(childrenOf(pid))];
  }

  private async launch(): Promise<void> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      POSTERN_DATA_DIR: this.opts.dataDir,
      POSTERN_LISTEN_HOST: '127.0.0.1',
      POSTERN_HOSTNAME: 'mx.bench.test',
      POSTERN_SMTP_PORT: String(this.ports.smtp),
      POSTERN_SUBMISSION_PORT: String(this.ports.submission),
      POSTERN_SUBMISSIONS_PORT: String(this.ports.submissions),
      POSTERN_IMAP_PORT: String(this.ports.imap),
      POSTERN_IMAPS_PORT: String(this.ports.imaps),
      POSTERN_HTTP_PORT: String(this.ports.http),
      POSTERN_LOG_LEVEL: 'info',
      POSTERN_BOOTSTRAP_TOKEN: OPERATOR_TOKEN,
      POSTERN_DNS_RESOLVER: this.opts.dnsResolver,
      POSTERN_SMARTHOST: `127.0.0.1:${this.opts.smarthostPort}`,
      // the submission case sends thousands of messages per hour from a few mailboxes
      POSTERN_MAILBOX_SEND_LIMIT: '1000000',
      POSTERN_MAILBOX_RCPT_LIMIT: '10000000',
      POSTERN_TENANT_SEND_LIMIT: '10000000',
      POSTERN_TENANT_RCPT_LIMIT: '100000000',
      // Unscanned unless the spam case asks (the other cases compare with an unscanned Postfix).
      POSTERN_SPAM: this.opts.spam ? 'true' : 'false',
      // the memory case holds 10,000 idle IMAP connections (the default cap), a warm-up closing meanwhile
      POSTERN_IMAP_MAX_CONNECTIONS: '20000',
      POSTERN_SMTP_CONNECTIONS_PER_MINUTE: '0',
      POSTERN_SMTP_RECIPIENTS_PER_MINUTE: '0',
      ...this.opts.env,
      ...this.runEnv,
      ...(this.opts.spam
        ? {
            POSTERN_RSPAMD_PORT: String(this.opts.spam.rspamdPort),
            POSTERN_RSPAMD_CONTROLLER_PORT: String(this.opts.spam.controllerPort),
            POSTERN_REDIS_PORT: String(this.opts.spam.redisPort),
            POSTERN_RSPAMD_HS_CACHE_DIR: this.opts.spam.hsCacheDir,
          }
        : {}),
    };
    // logs go straight to a file (as a service manager would keep them), not through this process
    const logFd = openSync(path.join(path.dirname(this.opts.dataDir), 'postern.log'), 'a');
    // --expose-gc: the memory case collects garbage before it reads RSS (SIGUSR2, see gc()).
    // POSTERN_BENCH_NODE_ARGS adds node flags for a profiling run (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof");
    // POSTERN_BENCH_CPU_PROF=DIR is the short form: the appliance writes a V8 CPU profile there when it stops.
    const prof = process.env.POSTERN_BENCH_CPU_PROF;
    const nodeArgs = ['--expose-gc', ...(process.env.POSTERN_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean), ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])];
    const child = spawn(process.execPath, [...nodeArgs, MAIN], { env, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    this.child = child;
    // A first rspamd start compiles its rules (a minute or more on a busy machine).
    const deadline = Date.now() + (this.opts.spam ? 300_000 : 180_000); // a loaded machine: a restart after a bulk takes a while
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`Postern exited with ${child.exitCode} during start (see postern.log in the bench work dir)`);
      try {
        const res = await fetch(`${this.url}/readyz`);
        if (res.status === 200) return;
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    throw new Error('Postern not ready in time');
  }

  api<T = any>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
    return new ApiClient(this.url, OPERATOR_TOKEN).api<T>(method, url, body);
  }

  expectApi<T = any>(method: string, url: string, body: unknown, status: number): Promise<T> {
    return new ApiClient(this.url, OPERATOR_TOKEN).expectApi<T>(method, url, body, status);
  }

  /** Tenant, domain and the given mailboxes, each with `password` set through its setup link. */
  async provision(localParts: string[], password: string): Promise<void> {
    this.tenantId = (await this.expectApi<{ id: string }>('POST', '/api/v1/tenants', { name: 'Bench tenant' }, 201)).id;
    this.domainId = (await this.expectApi<{ id: string }>('POST', `/api/v1/tenants/${this.tenantId}/domains`, { name: this.opts.domain }, 201)).id;
    await pool(localParts, 4, async (localPart) => {
      const mb = await this.expectApi<{ id: string; setup: { token: string } }>(
        'POST',
        `/api/v1/domains/${this.domainId}/mailboxes`,
        { localPart, owner: { name: `Owner ${localPart}`, email: `owner.${localPart}@owners.example` }, credentialDelivery: 'link' },
        201,
      );
      await this.expectApi('POST', `/api/v1/setup/${mb.setup.token}`, { password }, 204);
      this.mailboxIds.set(localPart, mb.id);
    });
  }

  /** Messages in all folders of all mailboxes, read from the store's index (read-only). */
  storedCount(): number {
    if (!this.db) this.db = new Database(path.join(this.opts.dataDir, 'postern.db'), { readonly: true, fileMustExist: true });
    return (this.db.prepare('SELECT count(*) AS c FROM folder_messages').get() as { c: number }).c;
  }

  /** Messages without their search-index row yet (the appliance indexes them after their commit, in the background). */
  searchBacklog(): number {
    if (!this.db) this.db = new Database(path.join(this.opts.dataDir, 'postern.db'), { readonly: true, fileMustExist: true });
    return (this.db.prepare('SELECT count(*) AS c FROM messages m LEFT JOIN message_text t ON t.message_id = m.id WHERE t.message_id IS NULL').get() as { c: number }).c;
  }

  async restart(): Promise<void> {
    await this.stopProcess();
    await this.launch();
  }

  /** Stops the appliance (its data stays), for work on its data dir while nothing runs. */
  async halt(): Promise<void> {
    await this.stopProcess();
  }

  /** Starts it again (after halt) with `env` on top of its options, for this run only. */
  async relaunch(env: NodeJS.ProcessEnv = {}): Promise<void> {
    await this.stopProcess();
    this.runEnv = env;
    await this.launch();
  }

  /** Asks the appliance to collect garbage (SIGUSR2; started with --expose-gc above), then waits a little. */
  async gc(): Promise<void> {
    if (this.child?.pid) this.child.kill('SIGUSR2');
    await sleep(200);
  }

  /** One value of GET /metrics (the first sample of `name`), or NaN. */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  }

  get database(): string {
    return path.join(this.opts.dataDir, 'postern.db');
  }

  private async stopProcess(): Promise<void> {
    this.db?.close();
    this.db = null;
    await stopChild(this.child, 'SIGTERM', 20_000);
  }

  async stop(): Promise<void> {
    await this.stopProcess();
  }

  version(): string {
    try {
      return (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  }
}
