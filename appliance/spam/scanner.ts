/**
 * The spam scanner as the appliance runs it: redis-server, then rspamd, each a supervised child
 * on loopback (ProcessSupervisor), configured privately in data/spam. Where either program is
 * not installed (or POSTERN_SPAM=false) the appliance still boots and says clearly that inbound
 * mail is unscanned: one warning log line, the `spam` component of /readyz, the console's
 * health card and `postern_spam_scanner_up`.
 */
import { access, constants, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import type { Config, DataPaths } from '../config.js';
import type { Logger } from '../logger.js';
import { scannerRestarts, scannerUp } from './metrics.js';
import { ProcessSupervisor } from './process.js';
import { type SpamLayout, writeSpamConfig } from './rspamd-config.js';

export const INSTALL_HINT = 'apt-get install -y rspamd redis-server';

async function findProgram(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, name);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** Sends AUTH + PING to redis; true on +PONG. */
function redisPing(port: number, password: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write(`*2\r\n$4\r\nAUTH\r\n$${Buffer.byteLength(password)}\r\n${password}\r\n*1\r\n$4\r\nPING\r\n`));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('+PONG')) done(true);
      else if (buf.includes('-')) done(false);
    });
  });
}

/** One redis command after AUTH; the reply of the command as RESP text. */
function redisCommand(port: number, password: string, args: string[], timeoutMs = 2000): Promise<string> {
  const enc = (a: string[]) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error('redis timeout')));
    sock.on('error', reject);
    sock.on('connect', () => sock.write(enc(['AUTH', password]) + enc(args)));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      if (!buf.startsWith('+OK\r\n')) {
        if (buf.includes('\r\n')) reject(new Error(`redis: ${buf.split('\r\n')[0]}`));
        return;
      }
      const rest = buf.slice(5);
      // Enough for the array of bulk strings HMGET answers.
      const m = /^\*(\d+)\r\n/.exec(rest);
      if (!m) return;
      const lines = rest.split('\r\n');
      let expected = 1;
      for (let i = 1, n = 0; n < Number(m[1]); n++) {
        expected += lines[i]?.startsWith('$-1') ? 1 : 2;
        i += lines[i]?.startsWith('$-1') ? 1 : 2;
      }
      if (lines.length > expected) {
        sock.destroy();
        resolve(rest);
      }
    });
  });
}

async function httpOk(url: string, expect: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok && (await res.text()).includes(expect);
  } catch {
    return false;
  }
}

/**
 * A scanner left running by an appliance that was killed (SIGKILL skips our exit hook) still
 * holds its ports: found by its pid file and its command name, it is killed before we start.
 */
async function killLeftover(pidFile: string, comm: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 1) return;
    if ((await readFile(`/proc/${pid}/comm`, 'utf8')).trim() !== comm) return;
  } catch {
    return;
  }
  log.warn({ event: 'spam.process.leftover', process: comm, pid }, `killing a ${comm} left over from an earlier run`);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 100));
    } catch {
      return;
    }
  }
}

export type ScannerState = { ok: true } | { ok: false; detail: string };

export class SpamScanner {
  private rspamd: ProcessSupervisor | null = null;
  private redis: ProcessSupervisor | null = null;
  private unavailable: string | null = null;
  private layout: SpamLayout | null = null;
  private readonly log: Logger;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly paths: DataPaths,
    logger: Logger,
  ) {
    this.log = logger.child({ service: 'spam' });
  }

  /** Writes the configuration and starts redis then rspamd (does not wait for them). */
  async start(): Promise<void> {
    scannerUp.set({ process: 'rspamd' }, 0);
    scannerUp.set({ process: 'redis' }, 0);
    if (!this.config.spam.enabled) {
      this.unavailable = 'spam scanning is off (POSTERN_SPAM=false): inbound mail is unscanned';
    } else {
      const missing = [];
      const rspamdBin = await findProgram('rspamd');
      const redisBin = await findProgram('redis-server');
      if (!rspamdBin) missing.push('rspamd');
      if (!redisBin) missing.push('redis-server');
      if (missing.length) this.unavailable = `${missing.join(' and ')} not installed: inbound mail is unscanned (install with: ${INSTALL_HINT})`;
      else {
        this.layout = await writeSpamConfig(this.config, this.paths);
        const pidFiles = { rspamd: path.join(this.layout.root, 'rspamd.pid'), redis: path.join(this.layout.root, 'redis.pid') };
        await killLeftover(pidFiles.rspamd, 'rspamd', this.log);
        await killLeftover(pidFiles.redis, 'redis-server', this.log);
        const s = this.config.spam;
        const secrets = this.layout.secrets;
        this.redis = new ProcessSupervisor(
          { name: 'redis', command: redisBin!, args: this.layout.redisArgs, probe: () => redisPing(s.redisPort, secrets.redisPassword), startTimeoutMs: 30_000, pidFile: pidFiles.redis },
          this.log,
        );
        this.rspamd = new ProcessSupervisor(
          {
            name: 'rspamd',
            command: rspamdBin!,
            args: this.layout.rspamdArgs,
            probe: () => httpOk(`http://127.0.0.1:${s.rspamdPort}/ping`, 'pong'),
            startTimeoutMs: 180_000,
            pidFile: pidFiles.rspamd,
          },
          this.log,
        );
        for (const [name, sup] of [
          ['redis', this.redis],
          ['rspamd', this.rspamd],
        ] as const) {
          sup.on('ready', () => scannerUp.set({ process: name }, 1));
          sup.on('exit', () => scannerUp.set({ process: name }, 0));
          sup.on('crash', () => scannerRestarts.inc({ process: name }));
        }
        this.redis.start();
        this.rspamd.start();
        return;
      }
    }
    this.log.warn({ event: 'spam.unavailable', detail: this.unavailable }, this.unavailable!);
  }

  /** Whether a scanner is configured at all (false: mail is accepted unscanned, by design). */
  get available(): boolean {
    return this.unavailable === null;
  }

  get rspamdProcess(): ProcessSupervisor | null {
    return this.rspamd;
  }

  get redisProcess(): ProcessSupervisor | null {
    return this.redis;
  }

  waitReady(timeoutMs = 180_000): Promise<void> {
    if (!this.rspamd || !this.redis) return Promise.resolve();
    return Promise.all([this.redis.waitReady(timeoutMs), this.rspamd.waitReady(timeoutMs)]).then(() => undefined);
  }

  health(): ScannerState {
    if (this.unavailable) return { ok: false, detail: this.unavailable };
    const down = [this.redis!, this.rspamd!].filter((p) => !p.isReady());
    if (!down.length) return { ok: true };
    const names = down.map((p) => (p === this.redis ? 'redis' : 'rspamd'));
    const failMode = this.config.spam.failMode === 'accept' ? 'accepted unscanned' : 'deferred with 451 4.7.1';
    return { ok: false, detail: `${names.join(' and ')} not running (starting or restarting): inbound mail is ${failMode} by default meanwhile` };
  }

  /** A call to rspamd's controller (learning, statistics), authenticated with the generated password. */
  async controller(pathname: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer; timeoutMs?: number } = {}): Promise<{ status: number; json: unknown }> {
    if (!this.layout) throw new Error('the spam scanner is not configured');
    const res = await fetch(`http://127.0.0.1:${this.config.spam.controllerPort}${pathname}`, {
      method: init.method ?? (init.body ? 'POST' : 'GET'),
      headers: { Password: this.layout.secrets.controllerPassword, ...init.headers },
      body: init.body,
      signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = { raw: text };
    }
    return { status: res.status, json };
  }

  /** Messages learned as spam and ham for one tenant (its per-user Bayes statistics in redis). */
  async learnedCounts(tenantId: string): Promise<{ spam: number; ham: number }> {
    if (!this.layout) throw new Error('the spam scanner is not configured');
    const reply = await redisCommand(this.config.spam.redisPort, this.layout.secrets.redisPassword, ['HMGET', `RStenant:${tenantId.toLowerCase()}`, 'learns_spam', 'learns_ham']);
    // *2 then, per field, `$-1` (absent) or `$<len>` followed by the value.
    const lines = reply.split('\r\n').slice(1);
    const out: number[] = [];
    for (let i = 0; i < lines.length && out.length < 2; i++) {
      if (lines[i]!.startsWith('$-1')) out.push(0);
      else if (lines[i]!.startsWith('$')) out.push(Number(lines[++i]));
    }
    return { spam: out[0] ?? 0, ham: out[1] ?? 0 };
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.rspamd?.stop(), this.redis?.stop()]);
  }
}
