/**
 * One IMAP connection: its state (not authenticated → authenticated → selected → logout),
 * the input framing, the command queue (commands run one at a time, in order), output with
 * back-pressure, unsolicited updates of the selected mailbox, and revocation.
 */
import type { CredentialId } from '../core/credentials.types.js';
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import type { Config } from '../config.js';
import type { Credentials } from '../core/credentials.types.js';
import type { Logger } from '../logger.js';
import type { MailStore } from '../mailstore/store.types.js';
import { observeImapCommand } from '../metrics.js';
import { capabilityList } from './capabilities.js';
import { COMMANDS, type SessionState } from './commands/index.js';
import { ImapSyntaxError, parseCommand, type ParsedCommand } from './parser.js';
import { CommandReader, type CommandUnit } from './reader.js';
import { bad, formatTagged, replyForError, type Reply } from './responses.js';
import type { SelectedMailbox } from './selected.js';

export interface SessionDeps {
  config: Readonly<Config>;
  logger: Logger;
  store: MailStore;
  credentials: Credentials;
  secureContext: tls.SecureContext;
  /** Called once when the session ends. */
  onClose(session: ImapSession): void;
}

export interface SessionUser {
  mailboxId: string;
  tenantId: string;
  address: string;
  /** The password or app password this session logged in with (revoking it ends the session). */
  credentialId?: CredentialId;
}

export const LIMITS = {
  maxLineBytes: 64 * 1024,
  maxCommandBytes: 1024 * 1024,
  /** Literals outside APPEND (passwords, search strings, mailbox names). */
  maxSmallLiteral: 256 * 1024,
  maxPendingCommands: 64,
  idleTimeoutMs: 30 * 60 * 1000,
  /** Largest command-continuation line answered during AUTHENTICATE. */
  maxAuthLine: 16 * 1024,
};

type QueueItem = { unit: CommandUnit } | { rejected: string; reason: 'line' | 'literal' | 'command' };

const REJECT_TEXT = {
  line: 'Line too long',
  literal: 'Literal too large',
  command: 'Command too large',
};

/** Commands after which EXPUNGE responses may not be sent (RFC 3501 7.4.1). */
const NO_EXPUNGE_AFTER = new Set(['FETCH', 'STORE', 'SEARCH']);

export class ImapSession {
  readonly id = randomBytes(6).toString('base64url');
  state: SessionState = 'notAuthenticated';
  secure: boolean;
  user: SessionUser | null = null;
  selected: SelectedMailbox | null = null;
  /** QRESYNC (RFC 7162 3.2) is on once ENABLEd: expunges are reported as VANISHED. */
  qresync = false;
  private condstoreOn = false;
  readonly log: Logger;
  readonly remoteAddress: string;
  /** The command being executed (for logs and EXPUNGE rules). */
  current: ParsedCommand | null = null;

  private socket: net.Socket;
  private reader: CommandReader;
  private queue: QueueItem[] = [];
  private running = false;
  private lineWaiter: ((item: QueueItem | null) => void) | null = null;
  private closed = false;
  private unrevoke: (() => void) | null = null;
  private paused = false;
  private onCloseCalled = false;
  private pendingLiteral: { tag: string; tooLarge: boolean; append: boolean } | null = null;
  private readonly plainPort: boolean;

  constructor(
    readonly deps: SessionDeps,
    socket: net.Socket,
    opts: { secure: boolean; plainPort: boolean },
  ) {
    this.socket = socket;
    this.secure = opts.secure;
    this.plainPort = opts.plainPort;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.log = deps.logger.child({ cid: this.id, remote: this.remoteAddress });
    this.reader = this.newReader();
    this.attach(socket);
    this.write(`* OK [CAPABILITY ${this.capabilities().join(' ')}] ${deps.config.hostname} IMAP ready\r\n`);
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

  get store(): MailStore {
    return this.deps.store;
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

  // ---- I/O -------------------------------------------------------------------------------

  private newReader(): CommandReader {
    return new CommandReader(
      {
        maxLineBytes: LIMITS.maxLineBytes,
        maxCommandBytes: LIMITS.maxCommandBytes,
        maxLiteral: (prefix) => (/^\S+\s+APPEND\s/i.test(prefix) ? this.config.maxMessageBytes : LIMITS.maxSmallLiteral),
      },
      {
        unit: (unit) => this.enqueue({ unit }),
        rejected: (tag, reason) => this.enqueue({ rejected: tag, reason }),
        literalRequest: (unit, _size, tooLarge) => this.onLiteralRequest(unit, tooLarge),
      },
    );
  }

  private readonly onData = (chunk: Buffer) => {
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.log.error({ err, event: 'imap.session.error' }, 'input handling failed');
      this.close('Internal error');
    }
    this.updateFlow();
  };

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => this.cleanup());
    socket.setTimeout(LIMITS.idleTimeoutMs, () => {
      this.write('* BYE Autologout; idle for too long\r\n');
      this.close();
    });
    socket.setNoDelay(true);
  }

  write(data: string | Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  untagged(text: string): void {
    this.write(`* ${text}\r\n`);
  }

  /** Waits until buffered output has drained (or the connection is gone). */
  async drain(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return;
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
    this.socket.end();
    const s = this.socket;
    setTimeout(() => s.destroy(), 1000).unref();
    this.cleanup();
  }

  private cleanup(): void {
    this.closed = true;
    this.state = 'logout';
    this.unrevoke?.();
    this.unrevoke = null;
    this.selected?.close();
    this.selected = null;
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


  /** Pauses reading while the queue is full or a synchronising literal waits. */
  private updateFlow(): void {
    if (this.closed) return;
    const shouldPause = this.queue.length >= LIMITS.maxPendingCommands || this.reader.waiting;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Answers a waiting synchronising literal once every earlier command is answered, so "+" never lands inside other output. */
  private maybeGrantLiteral(): void {
    if (this.running || this.queue.length || !this.reader.waiting || this.closed) return;
    const info = this.pendingLiteral;
    if (!info) return;
    this.pendingLiteral = null;
    if (info.tooLarge) {
      this.write(formatTagged(info.tag, info.append ? { status: 'NO', code: 'TOOBIG', text: `Message too large (APPENDLIMIT ${this.config.maxMessageBytes})` } : bad('Literal too large', 'TOOBIG')));
      this.reader.literalDecision(false);
    } else {
      this.write('+ Ready for literal data\r\n');
      this.reader.literalDecision(true);
    }
    this.updateFlow();
  }


  private onLiteralRequest(unit: CommandUnit, tooLarge: boolean): void {
    const first = typeof unit.parts[0] === 'string' ? unit.parts[0] : '';
    const m = /^(\S+)\s+(\S+)/.exec(first);
    this.pendingLiteral = { tag: m?.[1] ?? '*', tooLarge, append: /^APPEND$/i.test(m?.[2] ?? '') };
    this.maybeGrantLiteral();
  }

  private enqueue(item: QueueItem): void {
    if (this.closed) return;
    if (this.lineWaiter) {
      const w = this.lineWaiter;
      this.lineWaiter = null;
      w(item);
      return;
    }
    this.queue.push(item);
    void this.pump();
  }

  /** The next raw client line (AUTHENTICATE continuation, IDLE's DONE); null when the connection closed. */
  nextLine(): Promise<string | null> {
    const take = (item: QueueItem | null): string | null => {
      if (!item) return null;
      if ('rejected' in item) return '';
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
        this.updateFlow();
        if ('rejected' in item) {
          this.write(formatTagged(item.rejected, bad(REJECT_TEXT[item.reason], 'TOOBIG')));
          continue;
        }
        await this.execute(item.unit);
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
      const text = this.state === 'notAuthenticated' ? 'Log in first' : this.state === 'authenticated' && spec.states.includes('selected') ? 'Select a mailbox first' : 'Command not allowed now';
      this.write(formatTagged(cmd.tag, bad(text)));
      return;
    }
    this.current = cmd;
    let reply: Reply | null;
    const started = performance.now();
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
    if (this.closed || reply === null) return; // the handler answered itself (STARTTLS, LOGOUT)
    if (this.selected && (this.state as SessionState) === 'selected') {
      try {
        await this.selected.sync(this, !NO_EXPUNGE_AFTER.has(cmd.name));
      } catch (err) {
        this.log.warn({ err, event: 'imap.sync.error' }, 'mailbox update failed');
      }
    }
    if (this.closed) return;
    this.write(formatTagged(cmd.tag, reply));
    this.log.trace({ command: cmd.name, status: reply.status, ms: Math.round(performance.now() - started) }, 'command');
  }

  // ---- state changes used by commands ---------------------------------------------------

  /** After a successful login: watch for revocation of this mailbox's credentials. */
  loggedIn(user: SessionUser): void {
    this.user = user;
    this.state = 'authenticated';
    this.unrevoke = this.deps.credentials.onRevoke(user.mailboxId, (reason) => {
      this.log.info({ event: 'imap.session.revoked', mailboxId: user.mailboxId, reason }, 'session revoked');
      this.close('Session revoked by the administrator');
    }, user.credentialId);
  }

  /** Upgrades the plain connection to TLS (after the tagged OK of STARTTLS was written). */
  startTls(): void {
    const plain = this.socket;
    plain.off('data', this.onData);
    plain.removeAllListeners('timeout');
    plain.setTimeout(0);
    // Anything the client pipelined after STARTTLS is discarded (no plaintext injection).
    this.queue = [];
    this.reader = this.newReader();
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.deps.secureContext });
    this.socket = secure;
    this.secure = true;
    secure.on('data', this.onData);
    secure.on('error', (err) => {
      this.log.debug({ err: err.message }, 'tls error');
      secure.destroy();
    });
    secure.setTimeout(LIMITS.idleTimeoutMs, () => {
      this.write('* BYE Autologout; idle for too long\r\n');
      this.close();
    });
    if (this.paused) {
      this.paused = false;
      plain.resume();
    }
  }
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
