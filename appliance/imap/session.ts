/**
 * One IMAP connection: its state (not authenticated → authenticated → selected → logout),
 * the input framing, the command queue (commands run one at a time, in order), output with
 * back-pressure, unsolicited updates of the selected mailbox, and revocation.
 */
import type { CredentialId } from '../core/access/credentials.types.js';
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import type { Config } from '../config.js';
import type { Credentials } from '../core/access/credentials.types.js';
import type { Logger } from '../logger.js';
import type { MailStore } from '../mailstore/store.types.js';
import { countImapRefusal, observeImapCommand } from '../metrics.js';
import { capabilityList } from './capabilities.js';
import { astring } from './compiler.js';
import { nameToClient } from './mailbox-names.js';
import { COMMANDS, type SessionState } from './commands/index.js';
import { DeflateLayer } from './compress.js';
import { ImapSyntaxError, parseCommand, type ParsedCommand } from './parser.js';
import type { LogLimiter } from './log-limit.js';
import { CommandReader, type CommandUnit, discardSpilled, loadSpilled, type ReaderLimits } from './reader.js';
import { bad, formatTagged, replyForError, type Reply } from './responses.js';
import type { SelectedMailbox } from './selected.js';
import type { Notifier } from './notify.js';
import { SharedAccess, type SharedServing } from './shared-access.js';
import { looksLikeProxyHeader } from '../net/proxy-protocol.js';

export interface SessionDeps {
  config: Readonly<Config>;
  logger: Logger;
  store: MailStore;
  credentials: Credentials;
  secureContext: tls.SecureContext;
  /** Called once when the session ends. */
  onClose(session: ImapSession): void;
  /** Called once when the session logs in (per-address accounting of unauthenticated sessions). */
  onAuthenticated?(session: ImapSession): void;
  /** Where literals larger than LIMITS.spillLiteralBytes are written while they arrive (null: kept in memory). */
  spillDir?: string | null;
  /** Shared rate limit of noisy log lines (failed logins). */
  logLimiter?: LogLimiter;
  /** Shared mailboxes (issue 19): grants, per-member \Seen, owner-managed ACLs. */
  shared?: SharedServing;
}

export interface SessionUser {
  mailboxId: string;
  tenantId: string;
  address: string;
  /** The password or app password this session logged in with (revoking it ends the session). */
  credentialId?: CredentialId;
  /** The credential version at login (re-checked after a cluster reconnect). */
  credentialVersion?: number;
}

export const LIMITS = {
  maxLineBytes: 64 * 1024,
  /** Text of one command (its lines; literals are bounded separately). */
  maxCommandBytes: 1024 * 1024,
  /** Literals outside APPEND (passwords, search strings, mailbox names). */
  maxSmallLiteral: 256 * 1024,
  maxPendingCommands: 64,
  /** Bytes of parsed commands waiting to run before reading pauses. */
  maxPendingBytes: 2 * 1024 * 1024,
  /** Largest command-continuation line answered during AUTHENTICATE. */
  maxAuthLine: 16 * 1024,
  /** Before login: line and command text (an AUTHENTICATE response line fits), and every literal (RFC 7888 LITERAL-). */
  preAuthMaxLineBytes: 20 * 1024,
  preAuthMaxCommandBytes: 24 * 1024,
  preAuthMaxLiteral: 4096,
  /** Literals above this size go to a temporary file while they arrive. */
  spillLiteralBytes: 256 * 1024,
  /** Messages (of up to APPENDLIMIT each) in one MULTIAPPEND. */
  appendMessages: 10,
};

const isAppend = (prefix: string) => /^\S+\s+APPEND\s/i.test(prefix);

type QueueItem = { unit: CommandUnit } | { rejected: string; reason: 'line' | 'literal' | 'command' };

/** Bytes of a unit held in memory (spilled literals are on disk until the command runs). */
function inMemory(unit: CommandUnit): number {
  let n = unit.size;
  for (const s of unit.spilled ?? []) n -= s.size;
  return n;
}

const REJECT_TEXT = {
  line: 'Line too long',
  literal: 'Literal too large',
  command: 'Command too large',
};

/** Commands after which EXPUNGE responses may not be sent (RFC 3501 7.4.1). */
const NO_EXPUNGE_AFTER = new Set(['FETCH', 'STORE', 'SEARCH', 'SORT', 'THREAD']);

export class ImapSession {
  readonly id = randomBytes(6).toString('base64url');
  state: SessionState = 'notAuthenticated';
  secure: boolean;
  user: SessionUser | null = null;
  selected: SelectedMailbox | null = null;
  private compression: DeflateLayer | null = null;
  /** QRESYNC (RFC 7162 3.2) is on once ENABLEd: expunges are reported as VANISHED. */
  qresync = false;
  /**
   * IMAP4rev2 (RFC 9051) is on once ENABLEd: UTF-8 mailbox names, no \Recent, SEARCH answered
   * with ESEARCH, OK [CLOSED] on every implicit close (see README "IMAP capabilities").
   */
  rev2 = false;
  private condstoreOn = false;
  readonly log: Logger;
  readonly remoteAddress: string;
  /** The command being executed (for logs and EXPUNGE rules). */
  current: ParsedCommand | null = null;
  /** NOTIFY (RFC 5465) in force, if any. */
  notifier: Notifier | null = null;
  /** Access to shared mailboxes once logged in (null when the server has no grants wired). */
  shared: SharedAccess | null = null;
  /** Unsolicited output running between commands, and that held back while a command runs. */
  private bgChain: Promise<void> = Promise.resolve();
  private bgCount = 0;
  private deferred: Array<() => Promise<void>> = [];
  private stalledSince = 0;

  private socket: net.Socket;
  private reader: CommandReader;
  private queue: QueueItem[] = [];
  private running = false;
  private lineWaiter: ((item: QueueItem | null) => void) | null = null;
  private closed = false;
  private unrevoke: (() => void) | null = null;
  private paused = false;
  private onCloseCalled = false;
  private pendingLiteral: { unit: CommandUnit; size: number } | null = null;
  private readonly plainPort: boolean;
  private pendingBytes = 0;
  private preAuthTimer: NodeJS.Timeout | null = null;
  private commandTimer: NodeJS.Timeout | null = null;
  /** When the client started owing the rest of a command (0: it owes nothing), and when it last sent bytes. */
  private partialSince = 0;
  private lastDataAt = 0;
  private lastProgress = 0;
  private authFailures = 0;
  /** The socket is corked by holdOutput (this session's own cork, released by releaseOutput). */
  private corked = false;
  /** PROXY protocol is on and this peer is not a trusted load balancer: a PROXY header as its first bytes is refused. */
  private refuseProxyHeader: boolean;

  constructor(
    readonly deps: SessionDeps,
    socket: net.Socket,
    opts: { secure: boolean; plainPort: boolean; remoteAddress?: string; refuseProxyHeader?: boolean },
  ) {
    this.socket = socket;
    this.refuseProxyHeader = opts.refuseProxyHeader ?? false;
    this.secure = opts.secure;
    this.plainPort = opts.plainPort;
    this.remoteAddress = opts.remoteAddress ?? socket.remoteAddress ?? '';
    this.log = deps.logger.child({ cid: this.id, remote: this.remoteAddress });
    this.reader = this.newReader();
    this.attach(socket);
    this.preAuthTimer = setTimeout(() => {
      if (this.state !== 'notAuthenticated' || this.closed) return;
      countImapRefusal('preauth-timeout');
      this.close('Autologout; not authenticated in time');
    }, this.limits.preAuthTimeoutMs);
    this.preAuthTimer.unref();
    this.write(`* OK [CAPABILITY ${this.capabilities().join(' ')}] ${deps.config.hostname} IMAP ready\r\n`);
  }

  /** The configured connection limits and timeouts. */
  get limits(): Config['imapLimits'] {
    return this.deps.config.imapLimits;
  }

  /** CONDSTORE is on once a client used a CONDSTORE-enabling command (RFC 7162 3.1). */
  get condstore(): boolean {
    return this.condstoreOn;
  }

  /** Turns CONDSTORE on; with a mailbox selected the client learns its HIGHESTMODSEQ at once. */
  enableCondstore(): boolean {
    if (this.condstoreOn) return false;
    this.condstoreOn = true;
    if (this.selected) this.untagged(`OK [HIGHESTMODSEQ ${this.selected.knownModseq}] CONDSTORE enabled`);
    return true;
  }

  /** A stored mailbox name as this session's revision writes it (an astring). */
  mailboxName(name: string): string {
    return astring(nameToClient(name, this.rev2), this.rev2);
  }

  /** The mail store as this session's user sees it (shared mailboxes included, see member-store.ts). */
  get store(): MailStore {
    return this.shared?.store ?? this.deps.store;
  }

  get config(): Readonly<Config> {
    return this.deps.config;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** LOGIN/AUTHENTICATE are allowed over TLS, or from loopback when configured for development. */
  canAuthenticate(): boolean {
    if (this.secure) return true;
    return this.config.allowPlaintextAuthLoopback && isLoopback(this.remoteAddress);
  }

  capabilities(): string[] {
    return capabilityList({
      secure: this.secure,
      canStartTls: this.plainPort && !this.secure,
      canAuthenticate: this.canAuthenticate(),
      authenticated: this.state !== 'notAuthenticated',
      appendLimit: this.config.maxMessageBytes,
    });
  }

  /** A command other than IDLE is running: unsolicited output waits for its end. */
  get busy(): boolean {
    return this.current !== null && this.current.name !== 'IDLE';
  }

  /** Notifications held back while the running command finishes. */
  get deferredCount(): number {
    return this.deferred.length;
  }

  /**
   * Runs unsolicited output (NOTIFY) now when no command runs (or during IDLE), else right
   * before the running command's tagged reply. A command waits for such output in progress, so
   * responses never interleave.
   */
  background(task: () => Promise<void>): void {
    if (this.closed) return;
    if (this.busy) {
      this.deferred.push(task);
      return;
    }
    this.bgCount++;
    this.bgChain = this.bgChain
      .then(task)
      .catch((err) => this.log.warn({ err, event: 'imap.notify.error' }, 'notification failed'))
      .finally(() => {
        this.bgCount--;
      });
  }

  private async flushDeferred(): Promise<void> {
    while (this.deferred.length && !this.closed) {
      const task = this.deferred.shift()!;
      try {
        await task();
      } catch (err) {
        this.log.warn({ err, event: 'imap.notify.error' }, 'notification failed');
      }
    }
  }

  // ---- I/O -------------------------------------------------------------------------------

  /** Reader limits for the current state: before login only small commands and literals (LITERAL-). */
  private readerLimits(): ReaderLimits {
    if (this.state === 'notAuthenticated') {
      return {
        maxLineBytes: LIMITS.preAuthMaxLineBytes,
        maxCommandBytes: LIMITS.preAuthMaxCommandBytes,
        maxLiteral: () => LIMITS.preAuthMaxLiteral,
        maxNonSyncLiteral: LIMITS.preAuthMaxLiteral,
        abortOversizedNonSync: true,
      };
    }
    return {
      maxLineBytes: LIMITS.maxLineBytes,
      maxCommandBytes: LIMITS.maxCommandBytes,
      // APPEND: each message up to APPENDLIMIT, a MULTIAPPEND up to appendMessages of them.
      maxLiteral: (prefix) => (isAppend(prefix) ? this.config.maxMessageBytes * LIMITS.appendMessages : LIMITS.maxSmallLiteral),
      maxLiteralSize: (prefix) => (isAppend(prefix) ? this.config.maxMessageBytes : LIMITS.maxSmallLiteral),
      maxNonSyncLiteral: Infinity,
      abortOversizedNonSync: false,
    };
  }

  private newReader(): CommandReader {
    const spillDir = this.deps.spillDir ?? null;
    return new CommandReader(
      this.readerLimits(),
      {
        unit: (unit) => this.enqueue({ unit }),
        rejected: (tag, reason) => this.enqueue({ rejected: tag, reason }),
        literalRequest: (unit, size) => this.onLiteralRequest(unit, size),
        aborted: (tag, size) => {
          // RFC 7888 LITERAL-: a non-synchronising literal over 4096 bytes is refused; before
          // login the connection ends instead of reading what may be megabytes.
          countImapRefusal('preauth-literal');
          this.log.info({ event: 'imap.limit.literal', size, state: this.state }, 'oversized literal refused');
          this.write(formatTagged(tag, bad(`Literal too large (at most ${LIMITS.preAuthMaxLiteral} bytes before login)`, 'TOOBIG')));
          this.close('Literal too large');
        },
      },
      spillDir ? { dir: spillDir, thresholdBytes: LIMITS.spillLiteralBytes } : null,
    );
  }

  private readonly onData = (chunk: Buffer) => {
    if (this.refuseProxyHeader) {
      this.refuseProxyHeader = false;
      if (looksLikeProxyHeader(chunk)) {
        this.log.warn({ event: 'imap.proxy.refused' }, 'PROXY header from a peer not in POSTERN_PROXY_PROTOCOL_FROM');
        this.close('PROXY header not accepted from your address');
        return;
      }
    }
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.log.error({ err, event: 'imap.session.error' }, 'input handling failed');
      this.close('Internal error');
    }
    this.lastDataAt = Date.now();
    this.updateFlow();
  };

  /**
   * The command timeout: a started command line must be complete within commandTimeoutMs
   * (counted from the line's start, so trickling does not help) and a literal must keep
   * arriving (no pause longer than commandTimeoutMs). Time the server makes the client wait
   * (reading paused, a literal awaiting "+") does not count.
   */
  private watchPartial(): void {
    if (this.closed) return;
    const owes = this.paused ? null : this.reader.partial;
    if (!owes) {
      this.partialSince = 0;
      if (this.commandTimer) {
        clearTimeout(this.commandTimer);
        this.commandTimer = null;
      }
      return;
    }
    const now = Date.now();
    if (!this.partialSince || this.reader.progress !== this.lastProgress) this.partialSince = now;
    this.lastProgress = this.reader.progress;
    if (!this.lastDataAt) this.lastDataAt = now;
    if (!this.commandTimer) this.armCommandTimer(this.limits.commandTimeoutMs);
  }

  private armCommandTimer(ms: number): void {
    this.commandTimer = setTimeout(
      () => {
        this.commandTimer = null;
        const owes = this.paused ? null : this.reader.partial;
        if (!owes || this.closed) return;
        const now = Date.now();
        const since = owes === 'line' ? this.partialSince : this.lastDataAt;
        const left = since + this.limits.commandTimeoutMs - now;
        if (left > 0) {
          this.armCommandTimer(left);
          return;
        }
        countImapRefusal('command-timeout');
        this.log.info({ event: 'imap.limit.command_timeout', owes }, 'command not completed in time');
        this.close('Autologout; command not completed in time');
      },
      Math.max(1, ms),
    );
    this.commandTimer.unref();
  }

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => this.cleanup());
    socket.setTimeout(this.limits.idleTimeoutMs, () => this.idleTimeout());
    socket.setNoDelay(true);
  }

  private idleTimeout(): void {
    countImapRefusal('idle-timeout');
    this.write('* BYE Autologout; idle for too long\r\n');
    this.close();
  }

  /**
   * Gathers what the running command writes (its responses, the untagged updates, the tagged
   * reply) into one write to the socket (issue 18, mixed load: two to four TLS writes and client
   * wake-ups per command became one). Released right after the tagged reply, before any wait on
   * the client (drain, a continuation request) and, at the latest, once the work queued in this
   * turn ran (a command waiting for a read or a commit: what it wrote so far leaves then).
   */
  private holdOutput(): void {
    if (this.corked || this.closed || this.compression || this.socket.destroyed) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(this.releaseOutput);
  }

  /** Sends what holdOutput gathered. */
  private readonly releaseOutput = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };

  write(data: string | Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    if (this.compression) return this.compression.write(data);
    // A command that waited for I/O (a commit, a read on another thread) writes in a later turn:
    // held again, so its responses leave with its tagged reply (issue 18, mixed load: STORE and
    // EXPUNGE wrote their untagged responses in a TLS write of their own after the commit).
    if (!this.corked && this.busy) this.holdOutput();
    return this.socket.write(data);
  }

  /** COMPRESS=DEFLATE is active (RFC 4978). */
  get compressed(): boolean {
    return this.compression !== null;
  }

  /** Switches both directions to DEFLATE (after the tagged OK of COMPRESS was written). */
  startCompression(): void {
    this.releaseOutput();
    this.compression = new DeflateLayer(this.socket, this.onData, (err) => {
      this.log.debug({ err: err.message }, 'compression error');
      this.socket.destroy();
    });
  }

  /** Bytes written by the server that the client has not taken yet (beyond what the kernel holds). */
  get outputBuffered(): number {
    if (this.closed) return 0;
    return this.compression ? this.compression.buffered : this.socket.writableLength;
  }

  /** Writes and, when the socket's buffer is full, waits until the client has read it (back-pressure). */
  async writeAndWait(data: string | Buffer): Promise<void> {
    if (!this.write(data)) await this.drain();
  }

  /**
   * Writes bytes the caller will overwrite afterwards (a reused output buffer, issue 18): the
   * promise resolves once the connection no longer needs them (the socket's write callback;
   * under COMPRESS a copy is written at once). Back-pressure is the caller's (outputBuffered).
   */
  writeOwned(data: Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    if (this.compression) {
      this.compression.write(Buffer.from(data));
      return Promise.resolve();
    }
    if (!this.corked && this.busy) this.holdOutput();
    return new Promise<void>((resolve) => {
      this.socket.write(data, () => resolve());
    });
  }

  untagged(text: string): void {
    this.write(`* ${text}\r\n`);
  }

  /** Waits until buffered output has drained (or the connection is gone). */
  async drain(): Promise<void> {
    this.stalledSince ||= Date.now();
    try {
      await this.drainOutput();
    } finally {
      this.stalledSince = 0;
    }
  }

  /** How long output has been waiting for the client to read (0: not waiting). */
  get outputStalledMs(): number {
    return this.stalledSince ? Date.now() - this.stalledSince : 0;
  }

  private async drainOutput(): Promise<void> {
    if (this.compression && !this.closed) return this.compression.drain();
    if (this.closed || !this.socket.writableNeedDrain) return;
    this.releaseOutput(); // what is held goes now: the client reads it while this waits
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Sends BYE (when given) and closes the connection. */
  close(byeText?: string): void {
    if (this.closed) return;
    if (byeText) this.write(`* BYE ${byeText}\r\n`);
    this.closed = true;
    if (this.compression) this.compression.end();
    else this.socket.end();
    const s = this.socket;
    setTimeout(() => s.destroy(), 1000).unref();
    this.cleanup();
  }

  /** Drops the connection at once (server shutdown after the grace period). */
  destroy(): void {
    this.socket.destroy();
    this.cleanup();
  }

  private cleanup(): void {
    this.closed = true;
    this.state = 'logout';
    if (this.preAuthTimer) clearTimeout(this.preAuthTimer);
    if (this.commandTimer) clearTimeout(this.commandTimer);
    this.preAuthTimer = this.commandTimer = null;
    this.reader.dispose();
    for (const item of this.queue) if ('unit' in item) discardSpilled(item.unit);
    if (this.pendingLiteral) discardSpilled(this.pendingLiteral.unit);
    this.pendingLiteral = null;
    this.pendingBytes = 0;
    this.unrevoke?.();
    this.unrevoke = null;
    this.selected?.close();
    this.selected = null;
    this.notifier?.stop();
    this.notifier = null;
    this.shared?.stop();
    this.deferred = [];
    this.queue = [];
    if (this.lineWaiter) {
      const w = this.lineWaiter;
      this.lineWaiter = null;
      w(null);
    }
    if (!this.onCloseCalled) {
      this.onCloseCalled = true;
      this.deps.onClose(this);
    }
  }

  /** Pauses reading while the queue is full (commands or bytes) or a synchronising literal waits. */
  private updateFlow(): void {
    if (this.closed) return;
    const shouldPause = this.queue.length >= LIMITS.maxPendingCommands || this.pendingBytes >= LIMITS.maxPendingBytes || this.reader.waiting;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      this.partialSince = 0;
      this.socket.resume();
    }
    this.watchPartial();
  }

  /**
   * Answers a waiting synchronising literal once every earlier command is answered, so "+"
   * never lands inside other output. The decision uses the state and limits of that moment:
   * a command not allowed now (APPEND before login) or a literal over the limit is refused
   * without "+", so its bytes are never sent.
   */
  private maybeGrantLiteral(): void {
    if (this.running || this.queue.length || !this.reader.waiting || this.closed) return;
    const info = this.pendingLiteral;
    if (!info) return;
    this.pendingLiteral = null;
    this.reader.limits = this.readerLimits();
    const first = typeof info.unit.parts[0] === 'string' ? info.unit.parts[0] : '';
    const m = /^(\S+)\s+(UID\s+)?(\S+)/i.exec(first);
    const tag = m?.[1] ?? '*';
    const name = `${m?.[2] ? 'UID ' : ''}${m?.[3] ?? ''}`.toUpperCase();
    const spec = COMMANDS[name];
    let refusal: Reply | null = null;
    if (!spec) refusal = bad(`Unknown command ${name.slice(0, 30)}`);
    else if (!spec.states.includes(this.state)) refusal = bad(this.stateRefusal(spec.states));
    else if (!this.reader.fits(info.unit, info.size)) {
      countImapRefusal(this.state === 'notAuthenticated' ? 'preauth-literal' : 'literal-too-large');
      refusal =
        name === 'APPEND'
          ? { status: 'NO', code: 'TOOBIG', text: `Message too large (APPENDLIMIT ${this.config.maxMessageBytes})` }
          : { status: 'NO', code: 'TOOBIG', text: `Literal too large (at most ${this.reader.limits.maxLiteral(first)} bytes${this.state === 'notAuthenticated' ? ' before login' : ''})` };
    }
    if (refusal) {
      this.write(formatTagged(tag, refusal));
      this.reader.literalDecision(false);
    } else {
      this.write('+ Ready for literal data\r\n');
      this.reader.literalDecision(true);
    }
    this.updateFlow();
  }

  private stateRefusal(states: readonly SessionState[]): string {
    return this.state === 'notAuthenticated' ? 'Log in first' : this.state === 'authenticated' && states.includes('selected') ? 'Select a mailbox first' : 'Command not allowed now';
  }

  private onLiteralRequest(unit: CommandUnit, size: number): void {
    this.pendingLiteral = { unit, size };
    this.maybeGrantLiteral();
  }

  private enqueue(item: QueueItem): void {
    if (this.closed) {
      if ('unit' in item) discardSpilled(item.unit);
      return;
    }
    if (this.lineWaiter) {
      const w = this.lineWaiter;
      this.lineWaiter = null;
      w(item);
      return;
    }
    if ('unit' in item) this.pendingBytes += inMemory(item.unit);
    this.queue.push(item);
    void this.pump();
  }

  /** The next raw client line (AUTHENTICATE continuation, IDLE's DONE); null when the connection closed. */
  nextLine(): Promise<string | null> {
    this.releaseOutput(); // the client answers what it was sent (a continuation request)
    const take = (item: QueueItem | null): string | null => {
      if (!item) return null;
      if ('rejected' in item) return '';
      this.pendingBytes = Math.max(0, this.pendingBytes - inMemory(item.unit));
      discardSpilled(item.unit);
      const parts = item.unit.parts;
      return parts.length === 1 && typeof parts[0] === 'string' ? parts[0] : '';
    };
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(take(queued));
    if (this.closed) return Promise.resolve(null);
    this.updateFlow();
    return new Promise((resolve) => {
      this.lineWaiter = (item) => resolve(take(item));
    });
  }

  /** Cancels a pending nextLine() wait (IDLE ends from the server side). */
  cancelLineWait(): void {
    if (this.lineWaiter) {
      const w = this.lineWaiter;
      this.lineWaiter = null;
      w(null);
    }
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length && !this.closed) {
        const item = this.queue.shift()!;
        if ('unit' in item) this.pendingBytes = Math.max(0, this.pendingBytes - inMemory(item.unit));
        this.updateFlow();
        if ('rejected' in item) {
          if (item.reason === 'literal') countImapRefusal(this.state === 'notAuthenticated' ? 'preauth-literal' : 'literal-too-large');
          this.write(formatTagged(item.rejected, bad(REJECT_TEXT[item.reason], 'TOOBIG')));
          continue;
        }
        await this.execute(item.unit);
        // Limits change with the state (login): commands read from now on use the new ones.
        this.reader.limits = this.readerLimits();
      }
    } finally {
      this.running = false;
    }
    this.updateFlow();
    this.maybeGrantLiteral();
  }

  private async execute(unit: CommandUnit): Promise<void> {
    let cmd: ParsedCommand;
    try {
      await loadSpilled(unit);
    } catch (err) {
      discardSpilled(unit);
      this.log.error({ err, event: 'imap.session.error' }, 'cannot read a spilled literal back');
      this.close('Internal error');
      return;
    }
    try {
      cmd = parseCommand(unit);
    } catch (err) {
      const tag = err instanceof ImapSyntaxError ? err.tag : '*';
      this.write(formatTagged(tag, bad(err instanceof Error ? err.message : 'Syntax error')));
      return;
    }
    const spec = COMMANDS[cmd.name];
    if (!spec) {
      this.write(formatTagged(cmd.tag, bad(`Unknown command ${cmd.name.slice(0, 30)}`)));
      return;
    }
    if (!spec.states.includes(this.state)) {
      this.write(formatTagged(cmd.tag, this.shared?.stateRefusal(spec.states) ?? bad(this.stateRefusal(spec.states))));
      return;
    }
    while (this.bgCount) await this.bgChain;
    this.current = cmd;
    let reply: Reply | null;
    const started = performance.now();
    this.holdOutput();
    try {
      const r = await spec.handler(this, cmd);
      reply = r === undefined ? { status: 'OK', text: `${cmd.name} completed` } : r;
    } catch (err) {
      const r = replyForError(err);
      reply = r.reply;
      if (r.unexpected) this.log.error({ err, command: cmd.name, event: 'imap.command.error' }, 'command failed');
    }
    this.current = null;
    observeImapCommand(cmd.name, reply?.status ?? 'OK', (performance.now() - started) / 1000);
    if ((cmd.name === 'LOGIN' || cmd.name === 'AUTHENTICATE') && reply && reply.status !== 'OK' && this.state === 'notAuthenticated') {
      // One connection may not guess on forever (each guess also costs a password hash).
      if (++this.authFailures >= this.limits.maxAuthFailures && !this.closed) {
        countImapRefusal('auth-failures');
        this.write(formatTagged(cmd.tag, reply));
        this.close('Too many failed logins');
        return;
      }
    }
    if (this.closed || reply === null) {
      this.releaseOutput();
      return; // the handler answered itself (STARTTLS, LOGOUT)
    }
    this.holdOutput(); // again, when the handler waited for I/O: the updates and the tagged reply go together
    if (this.selected && (this.state as SessionState) === 'selected') {
      try {
        await this.selected.sync(this, !NO_EXPUNGE_AFTER.has(cmd.name));
      } catch (err) {
        this.log.warn({ err, event: 'imap.sync.error' }, 'mailbox update failed');
      }
    }
    if (this.deferred.length) await this.flushDeferred();
    if (this.closed) return;
    this.write(formatTagged(cmd.tag, reply));
    this.releaseOutput();
    this.log.trace({ command: cmd.name, status: reply.status, ms: Math.round(performance.now() - started) }, 'command');
  }

  // ---- state changes used by commands ---------------------------------------------------

  /** After a successful login: watch for revocation of this mailbox's credentials. */
  loggedIn(user: SessionUser): void {
    this.user = user;
    this.state = 'authenticated';
    if (this.deps.shared) this.shared = new SharedAccess(this, user, this.deps.shared);
    if (this.preAuthTimer) clearTimeout(this.preAuthTimer);
    this.preAuthTimer = null;
    this.deps.onAuthenticated?.(this);
    this.unrevoke = this.deps.credentials.onRevoke(
      user.mailboxId,
      (reason) => {
        this.log.info({ event: 'imap.session.revoked', mailboxId: user.mailboxId, reason }, 'session revoked');
        this.close('Session revoked by the administrator');
      },
      user.credentialId,
      user.credentialVersion,
    );
  }

  /** Logs a failed or throttled login within the shared log rate limit (metrics count every attempt). */
  logAuthFailure(fields: Record<string, unknown>): void {
    if (this.deps.logLimiter && !this.deps.logLimiter.allow('imap.auth.fail')) return;
    this.log.info({ event: 'imap.auth.fail', ...fields }, 'login failed');
  }

  /** Upgrades the plain connection to TLS (after the tagged OK of STARTTLS was written). */
  startTls(): void {
    this.releaseOutput(); // the tagged OK leaves in plain text before the handshake
    const plain = this.socket;
    plain.off('data', this.onData);
    plain.removeAllListeners('timeout');
    plain.setTimeout(0);
    // Anything the client pipelined after STARTTLS is discarded (no plaintext injection).
    for (const item of this.queue) if ('unit' in item) discardSpilled(item.unit);
    this.queue = [];
    this.pendingBytes = 0;
    if (this.pendingLiteral) discardSpilled(this.pendingLiteral.unit);
    this.pendingLiteral = null;
    this.reader.dispose();
    this.reader = this.newReader();
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.deps.secureContext });
    this.socket = secure;
    this.secure = true;
    secure.on('data', this.onData);
    secure.on('error', (err) => {
      this.log.debug({ err: err.message }, 'tls error');
      secure.destroy();
    });
    secure.setTimeout(this.limits.idleTimeoutMs, () => this.idleTimeout());
    if (this.paused) {
      this.paused = false;
      plain.resume();
    }
  }
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
