/**
 * Runs Haraka as a child process (never in our process: its uncaughtException handler exits),
 * serves its RPC calls, forwards its log lines into pino, restarts it with back-off when it
 * dies, and stops it with SIGINT (then SIGKILL) on shutdown. The child exits by itself when the
 * IPC channel closes, so a killed appliance leaves no orphan. With several Haraka processes the
 * workers' calls arrive on a Unix-domain socket served here (in a 0700 directory of Haraka's
 * data dir; POSTERN_MTA_RPC_SOCKET tells them where), the same handlers as the IPC channel.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { type BackoffOptions, nextEvent, RestartBackoff } from '../child-restart.js';
import { type Logger, unredacted } from '../logger.js';
import { AppError } from '../core/kernel/errors.js';
import { type Handler, RpcClient, serveRpc, socketEndpoint } from '../rpc/channel.js';
import type { ChildMethods } from '../rpc/protocol.js';
import { HarakaLogRedactor, harakaLogLine } from './log-redaction.js';

export interface SupervisorOptions extends BackoffOptions {
  harakaRoot: string;
  logger: Logger;
  handlers: Record<string, Handler>;
  /**
   * The write epoch of the tables the MTA's cached answers come from (DKIM keys, domains,
   * routes; mtaWriteEpoch): every move is pushed to Haraka at once (`mta.epoch`), so its cache
   * drops them before the next message. Null (PostgreSQL): nothing is pushed, Haraka caches nothing.
   */
  epoch?: { onMove(listener: (epoch: number) => void): () => void } | null;
}

/**
 * V8's young generation for Haraka's isolates (its event loop, the message thread, the blob
 * store's sync threads; V8 flags hold for every isolate of the process): 16 MiB per semi-space
 * from the start, up to 32 (issue 18, fifteenth round). With V8's default (1 MiB, grown only
 * when much survives) Haraka's loop scavenged about every 20 messages and its message thread
 * more often still, and the objects of the 20 open sessions that lived through two scavenges
 * were promoted and later marked by major collections; with these flags an A/B of 800-message
 * rounds counted 37-42 -> 8-10 scavenges of the loop per round and 256 -> 32 of the message
 * thread over the run, for about 13 MB more resident memory.
 */
export const HARAKA_HEAP_ARGS = ['--min-semi-space-size=16', '--max-semi-space-size=32'] as const;

/**
 * Node flags of the Haraka child: HARAKA_HEAP_ARGS, then POSTERN_MTA_NODE_ARGS (e.g. the bench's
 * "--cpu-prof --cpu-prof-dir=DIR" in a profiling run; a flag given there again wins, as the later one).
 */
export function harakaNodeArgs(extra: string | undefined): string[] {
  return [...HARAKA_HEAP_ARGS, ...(extra ?? '').split(/\s+/).filter(Boolean)];
}

export class HarakaSupervisor extends EventEmitter {
  private child: ChildProcess | null = null;
  private client: RpcClient | null = null;
  private listening = false;
  private stopping = false;
  private readonly backoff: RestartBackoff;
  private readonly log: Logger;
  /** Haraka's forwarded lines: censored field by field (censorSecrets), not by the root logger's wildcard paths. */
  private readonly lines: Logger;
  private socketServer: net.Server | null = null;
  private socketPath: string | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** SMTP AUTH credentials never reach a log line, whatever the level (log-redaction.ts). */
  private readonly redactor = new HarakaLogRedactor();

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.log = opts.logger.child({ service: 'haraka' });
    this.lines = unredacted(this.log);
    this.backoff = new RestartBackoff(opts);
    opts.epoch?.onMove((epoch) => this.push('mta.epoch', epoch));
  }

  /** An event to every Haraka process: the child on its IPC channel, each worker on its socket (in order with the answers). */
  private push(event: string, value: unknown): void {
    const msg = { t: 'evt', e: event, v: value };
    const child = this.child;
    if (child?.connected) {
      try {
        child.send(msg, (err) => void err);
      } catch {
        /* child gone: a new one starts with an empty cache */
      }
    }
    if (this.sockets.size) {
      const line = `${JSON.stringify(msg)}\n`;
      for (const s of this.sockets) if (!s.destroyed) s.write(line);
    }
  }

  /** Restarts after crashes. */
  get restarts(): number {
    return this.backoff.restarts;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** True while the child runs and has reported its listeners up. */
  isListening(): boolean {
    return this.listening && !!this.child && this.child.exitCode === null;
  }

  start(): void {
    this.stopping = false;
    this.serveSocket();
    this.spawn();
  }

  /**
   * The workers' socket: bound before Haraka is forked (a Unix socket binds synchronously), or
   * none when the path does not fit a socket address (the Haraka master relays then).
   */
  private serveSocket(): void {
    if (this.socketServer) return;
    const dir = path.join(this.opts.harakaRoot, 'rpc');
    const file = path.join(dir, 'appliance.sock');
    if (Buffer.byteLength(file) > 100) return;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      rmSync(file, { force: true });
      const server = net.createServer((socket) => {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        const stop = serveRpc(socketEndpoint(socket), this.opts.handlers, (err, method) => this.log.error({ event: 'mta.rpc.error', method, err }, 'rpc handler failed'));
        socket.on('close', () => {
          stop();
          this.sockets.delete(socket);
        });
      });
      server.on('error', (err) => this.log.error({ event: 'mta.error', err }, 'MTA worker socket failed'));
      server.listen(file);
      chmodSync(file, 0o600);
      this.socketServer = server;
      this.socketPath = file;
    } catch (err) {
      this.log.warn({ event: 'mta.error', err }, 'no MTA worker socket: the Haraka master relays');
    }
  }

  private closeSocket(): void {
    this.socketServer?.close();
    for (const s of this.sockets) s.destroy();
    this.socketServer = null;
    if (this.socketPath) rmSync(this.socketPath, { force: true });
    this.socketPath = null;
  }

  /** Resolves once the child reports listening (or rejects after timeoutMs). */
  waitListening(timeoutMs = 30_000): Promise<void> {
    if (this.isListening()) return Promise.resolve();
    return nextEvent(this, 'listening', timeoutMs, 'Haraka did not start listening in time');
  }

  private spawn(): void {
    const bin = require.resolve('Haraka/bin/haraka');
    const child = fork(bin, ['-c', this.opts.harakaRoot], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...process.env,
        HARAKA_LOGS_SUPPRESS: '',
        ...(this.socketPath ? { POSTERN_MTA_RPC_SOCKET: this.socketPath } : {}),
      },
      execArgv: harakaNodeArgs(process.env.POSTERN_MTA_NODE_ARGS),
    });
    this.child = child;
    this.client = new RpcClient(child, 60_000);
    this.listening = false;
    this.backoff.started();
    this.log.info({ event: 'mta.start', pid: child.pid }, 'starting Haraka');

    const stopRpc = serveRpc(child, this.opts.handlers, (err, method) => this.log.error({ event: 'mta.rpc.error', method, err }, 'rpc handler failed'));
    child.on('message', (msg: unknown) => {
      if (msg && typeof msg === 'object' && (msg as { t?: string }).t === 'evt' && (msg as { e?: string }).e === 'listening') {
        this.listening = true;
        this.backoff.up();
        this.log.info({ event: 'mta.listening', pid: child.pid }, 'Haraka is listening');
        this.emit('listening');
      }
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.forwardLog(line));
    }
    child.on('error', (err) => this.log.error({ event: 'mta.error', err }, 'Haraka process error'));
    child.on('exit', (code, signal) => {
      stopRpc();
      if (this.child === child) {
        this.child = null;
        this.client = null;
      }
      this.listening = false;
      this.emit('exit', { code, signal });
      if (this.stopping) {
        this.log.info({ event: 'mta.stopped', code, signal }, 'Haraka stopped');
        return;
      }
      const delay = this.backoff.schedule(() => {
        if (!this.stopping) this.spawn();
      });
      this.log.error({ event: 'mta.crash', code, signal, restartInMs: delay }, 'Haraka exited; restarting');
    });
  }

  private forwardLog(line: string): void {
    const l = harakaLogLine(line, this.redactor);
    if (l) this.lines[l.level]({ event: 'mta.log', haraka: l.fields }, l.msg);
  }

  /** Calls the Haraka child (e.g. to queue a message for outbound delivery); waits for it to be up. */
  async call<M extends keyof ChildMethods>(method: M, params: Parameters<ChildMethods[M]>[0]): Promise<ReturnType<ChildMethods[M]>> {
    if (!this.isListening()) await this.waitListening(30_000).catch(() => undefined);
    if (!this.client || !this.isListening()) throw new AppError('TempFailure', 'the MTA is not running');
    return this.client.call<ReturnType<ChildMethods[M]>>(method, params);
  }

  /** SIGINT, then SIGKILL after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    this.backoff.cancel();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.closeSocket();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ event: 'mta.kill', pid: child.pid }, 'Haraka did not stop in time; killing');
        child.kill('SIGKILL');
      }, graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGINT');
    });
    this.closeSocket();
  }

  /** For tests and operators: kill the child as a crash would. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }
}
