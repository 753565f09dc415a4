/**
 * Supervises one external daemon (rspamd, redis-server) like HarakaSupervisor does Haraka: runs
 * it in the foreground as our child, forwards its output into pino, probes readiness, restarts
 * it with back-off when it dies, and stops it with SIGTERM (then SIGKILL) on shutdown. Each
 * daemon runs in its own process group, so a kill reaches rspamd's forked workers too (a worker
 * left behind would hold the port and the restart could not bind), and the appliance's exit
 * hook kills every group it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type BackoffOptions, nextEvent, RestartBackoff } from '../child-restart.js';
import type { Logger } from '../logger.js';

export interface ProcessSpec extends BackoffOptions {
  /** Short name for logs and metrics: 'rspamd' | 'redis'. */
  name: string;
  command: string;
  args: string[];
  /** Resolves true once the daemon answers (polled every 200 ms after spawn). */
  probe: () => Promise<boolean>;
  /** Give up waiting for readiness after this long and restart (a hung start). */
  startTimeoutMs?: number;
  /** Where the running daemon's pid is written (to find a leftover after the appliance was killed). */
  pidFile?: string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A crashed or killed appliance must not leave daemons holding the ports. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

export class ProcessSupervisor extends EventEmitter {
  private child: ChildProcess | null = null;
  private ready = false;
  private stopping = false;
  private probeTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private readonly backoff: RestartBackoff;
  private readonly log: Logger;
  lastError: string | null = null;

  constructor(
    private readonly spec: ProcessSpec,
    logger: Logger,
  ) {
    super();
    this.log = logger.child({ service: spec.name });
    this.backoff = new RestartBackoff(spec);
    installExitHook();
  }

  /** Restarts after crashes. */
  get restarts(): number {
    return this.backoff.restarts;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  isReady(): boolean {
    return this.ready && !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    this.stopping = false;
    this.spawn();
  }

  waitReady(timeoutMs = 60_000): Promise<void> {
    if (this.isReady()) return Promise.resolve();
    return nextEvent(this, 'ready', timeoutMs, `${this.spec.name} did not become ready in time`);
  }

  private spawn(): void {
    const child = spawn(this.spec.command, this.spec.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    live.add(child);
    this.ready = false;
    this.startedAt = Date.now();
    this.backoff.started();
    this.log.info({ event: 'spam.process.start', process: this.spec.name, pid: child.pid }, `starting ${this.spec.name}`);
    if (this.spec.pidFile && child.pid) {
      try {
        writeFileSync(this.spec.pidFile, `${child.pid}\n`);
      } catch (err) {
        this.log.warn({ event: 'spam.process.pidfile', process: this.spec.name, err }, 'cannot write the pid file');
      }
    }
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (!line.trim()) return;
        const level = /\b(error|crit|fatal|cannot|failed)\b/i.test(line) ? 'warn' : 'debug';
        if (level === 'warn') this.lastError = line.slice(0, 300);
        this.log[level]({ event: 'spam.process.log', process: this.spec.name }, line);
      });
    }
    child.on('error', (err) => {
      this.lastError = err.message;
      this.log.error({ event: 'spam.process.error', process: this.spec.name, err }, `${this.spec.name} process error`);
    });
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    this.schedulePoll(child);
  }

  private schedulePoll(child: ChildProcess): void {
    const deadline = Date.now() + (this.spec.startTimeoutMs ?? 120_000);
    const poll = () => {
      this.probeTimer = null;
      if (this.child !== child || this.stopping || child.exitCode !== null) return;
      this.spec
        .probe()
        .catch(() => false)
        .then((ok) => {
          if (this.child !== child || this.stopping) return;
          if (ok) {
            this.ready = true;
            this.log.info({ event: 'spam.process.ready', process: this.spec.name, pid: child.pid, ms: Date.now() - this.startedAt }, `${this.spec.name} is ready`);
            this.emit('ready');
            return;
          }
          if (Date.now() > deadline) {
            this.lastError = 'did not become ready in time';
            this.log.error({ event: 'spam.process.hung', process: this.spec.name }, `${this.spec.name} did not become ready; killing`);
            killGroup(child, 'SIGKILL');
            return;
          }
          this.probeTimer = setTimeout(poll, 200);
        });
    };
    this.probeTimer = setTimeout(poll, 100);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    live.delete(child);
    // The main process is gone: its workers (same group) must not outlive it.
    killGroup(child, 'SIGKILL');
    if (this.child === child) this.child = null;
    this.ready = false;
    this.emit('exit', { code, signal });
    if (this.stopping) {
      this.log.info({ event: 'spam.process.stopped', process: this.spec.name, code, signal }, `${this.spec.name} stopped`);
      return;
    }
    const delay = this.backoff.schedule(() => {
      if (!this.stopping) this.spawn();
    });
    this.lastError = `exited (${signal ?? code})`;
    this.log.error({ event: 'spam.process.crash', process: this.spec.name, code, signal, restartInMs: delay }, `${this.spec.name} exited; restarting`);
    this.emit('crash');
  }

  /** SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopping = true;
    this.backoff.cancel();
    if (this.probeTimer) clearTimeout(this.probeTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** For tests and operators: kill the daemon as a crash would. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child) killGroup(this.child, signal);
  }
}
