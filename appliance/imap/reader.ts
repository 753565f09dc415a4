/**
 * Input framing: splits the byte stream into command units (line segments and the literals
 * between them). Every buffer is bounded: a line by maxLineBytes, the text of a command (its
 * lines, not its literals) by maxCommandBytes, each literal by maxLiteral for its command.
 * Literals larger than `spill.thresholdBytes` are written to a temporary file as they arrive
 * instead of being collected in memory; loadSpilled() reads such a literal back as one buffer
 * right before the command runs (and removes the file), so memory goes back after a burst.
 *
 * Synchronising literals wait for the session to say go ahead (it decides with the limits in
 * force at that moment and never sends "+" for a literal it will refuse). Non-synchronising
 * literals (RFC 7888) larger than maxNonSyncLiteral are refused: with `abortOversizedNonSync`
 * (LITERAL- before login) the reader stops at once, otherwise the literal is read and
 * discarded and the command answered BAD [TOOBIG].
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export interface SpilledLiteral {
  /** Index in `parts` of the (empty) placeholder buffer. */
  index: number;
  file: string;
  size: number;
}

export interface CommandUnit {
  /** Line text segments (without CRLF) alternating with the literals that follow `{n}`. */
  parts: Array<string | Buffer>;
  /** Total bytes of the unit (text and literals). */
  size: number;
  /** Bytes of the command's lines (what maxCommandBytes bounds). */
  textBytes: number;
  /** Bytes of the command's literals so far. */
  literalBytes: number;
  /** Literals kept in temporary files (their `parts` entries are empty until loadSpilled). */
  spilled?: SpilledLiteral[];
}

export interface ReaderLimits {
  maxLineBytes: number;
  /** Bytes of a command's text (lines without literals). */
  maxCommandBytes: number;
  /** Largest total of literals accepted for a command whose first line starts with `prefix`. */
  maxLiteral(prefix: string): number;
  /** Largest single literal of such a command (default: maxLiteral; MULTIAPPEND has several messages). */
  maxLiteralSize?(prefix: string): number;
  /** Largest non-synchronising literal (RFC 7888 LITERAL-: 4096; Infinity under LITERAL+). */
  maxNonSyncLiteral: number;
  /** Stop reading (instead of reading and discarding) when a non-synchronising literal is too large. */
  abortOversizedNonSync: boolean;
}

export interface ReaderHooks {
  unit(unit: CommandUnit): void;
  /** A synchronising literal of `size` bytes: call `reader.literalDecision(true|false)` when ready. */
  literalRequest(unit: CommandUnit, size: number): void;
  /** A command that was dropped while reading (too long, literal too large); `tag` is a best guess. */
  rejected(tag: string, reason: 'line' | 'literal' | 'command'): void;
  /** A non-synchronising literal over the limit with abortOversizedNonSync: the reader stopped. */
  aborted?(tag: string, size: number): void;
}

export interface SpillOptions {
  dir: string;
  thresholdBytes: number;
}

const LITERAL_AT_END = /~?\{(\d{1,12})(\+)?\}$/;

const emptyUnit = (): CommandUnit => ({ parts: [], size: 0, textBytes: 0, literalBytes: 0 });

/** Reads the spilled literals of a unit into its parts (off the event loop) and removes their files. */
export async function loadSpilled(unit: CommandUnit): Promise<void> {
  if (!unit.spilled) return;
  for (const s of unit.spilled) {
    unit.parts[s.index] = await readFile(s.file);
    rmSync(s.file, { force: true });
  }
  unit.spilled = undefined;
}

/** Removes the files of a unit's spilled literals (a unit that will not run). */
export function discardSpilled(unit: CommandUnit): void {
  if (!unit.spilled) return;
  for (const s of unit.spilled) rmSync(s.file, { force: true });
  unit.spilled = undefined;
}

export class CommandReader {
  private state: 'line' | 'literal' | 'discard-line' | 'discard-literal' | 'wait' | 'stopped' = 'line';
  private lineChunks: Buffer[] = [];
  private lineBytes = 0;
  private remaining = 0;
  private literalChunks: Buffer[] = [];
  private spillFile: { fd: number; file: string; size: number } | null = null;
  private unit: CommandUnit = emptyUnit();
  private failed: 'literal' | 'command' | null = null;
  private queued: Buffer[] = [];
  private discardTag = '*';
  /** Grows whenever a line or a literal completes (the session's command timeout restarts then). */
  progress = 0;

  constructor(
    public limits: ReaderLimits,
    private readonly hooks: ReaderHooks,
    private readonly spill: SpillOptions | null = null,
  ) {}

  /** True while a synchronising literal waits for a decision. */
  get waiting(): boolean {
    return this.state === 'wait';
  }

  /** What the client owes us: the rest of a line, the rest of a literal, or nothing. */
  get partial(): 'line' | 'literal' | null {
    switch (this.state) {
      case 'line':
        return this.lineBytes > 0 || this.unit.parts.length > 0 ? 'line' : null;
      case 'discard-line':
        return 'line';
      case 'literal':
      case 'discard-literal':
        return 'literal';
      default:
        return null;
    }
  }

  /** Bytes held in memory for the command being read (bounded by the limits). */
  get bufferedBytes(): number {
    let n = this.lineBytes;
    for (const c of this.literalChunks) n += c.length;
    for (const p of this.unit.parts) n += p.length;
    for (const q of this.queued) n += q.length;
    return n;
  }

  push(chunk: Buffer): void {
    if (this.state === 'stopped') return;
    if (this.state === 'wait') {
      this.queued.push(Buffer.from(chunk));
      return;
    }
    let pos = 0;
    // (step() changes the state: read it through a function so the type is not narrowed.)
    const state = (): string => this.state;
    while (pos < chunk.length && state() !== 'wait' && state() !== 'stopped') {
      pos = this.step(chunk, pos);
    }
    // Copy what we keep: the socket may reuse its buffer.
    if (pos < chunk.length && state() === 'wait') this.queued.push(Buffer.from(chunk.subarray(pos)));
  }

  /** Answer to literalRequest: accept reads the literal, reject drops the command. */
  literalDecision(accept: boolean): void {
    if (this.state !== 'wait') return;
    if (accept) {
      this.startLiteral(this.remaining);
    } else {
      this.resetUnit();
      this.state = 'line';
    }
    const q = this.queued;
    this.queued = [];
    for (const c of q) this.push(c);
  }

  /** Releases what the reader holds (a half-written temporary file). */
  dispose(): void {
    this.state = 'stopped';
    this.closeSpill(true);
    discardSpilled(this.unit);
    this.unit = emptyUnit();
    this.lineChunks = [];
    this.literalChunks = [];
    this.queued = [];
  }

  private resetUnit(): void {
    discardSpilled(this.unit);
    this.unit = emptyUnit();
    this.failed = null;
  }

  private tagOf(text: string): string {
    const m = /^([^\s(){%*"\\\]]{1,64})\s/.exec(text);
    return m ? m[1]! : '*';
  }

  private firstLine(): string {
    const first = this.unit.parts[0];
    return typeof first === 'string' ? first : '';
  }

  private startLiteral(size: number): void {
    this.remaining = size;
    if (size === 0) {
      this.unit.parts.push(Buffer.alloc(0));
      this.progress++;
      this.state = 'line';
      return;
    }
    this.state = 'literal';
    if (this.spill && size > this.spill.thresholdBytes) {
      const file = path.join(this.spill.dir, `literal-${randomBytes(12).toString('hex')}`);
      this.spillFile = { fd: openSync(file, 'wx', 0o600), file, size };
    }
  }

  private closeSpill(remove: boolean): void {
    const s = this.spillFile;
    if (!s) return;
    this.spillFile = null;
    try {
      closeSync(s.fd);
    } finally {
      if (remove) rmSync(s.file, { force: true });
    }
  }

  private finishLiteral(): void {
    let lit: Buffer;
    if (this.spillFile) {
      const s = this.spillFile;
      this.closeSpill(false);
      lit = Buffer.alloc(0);
      (this.unit.spilled ??= []).push({ index: this.unit.parts.length, file: s.file, size: s.size });
      this.unit.size += s.size;
      this.unit.literalBytes += s.size;
    } else {
      lit = this.literalChunks.length === 1 ? this.literalChunks[0]! : Buffer.concat(this.literalChunks);
      this.literalChunks = [];
      this.unit.size += lit.length;
      this.unit.literalBytes += lit.length;
    }
    this.unit.parts.push(lit);
    this.progress++;
    this.state = 'line';
  }

  private step(chunk: Buffer, pos: number): number {
    switch (this.state) {
      case 'line': {
        const nl = chunk.indexOf(10, pos);
        const end = nl === -1 ? chunk.length : nl;
        if (this.lineBytes + (end - pos) > this.limits.maxLineBytes) {
          const head = this.lineChunks.length ? Buffer.concat(this.lineChunks).toString('latin1', 0, 80) : chunk.toString('latin1', pos, pos + 80);
          this.discardTag = this.unit.parts.length ? this.tagOf(this.firstLine()) : this.tagOf(head);
          this.lineChunks = [];
          this.lineBytes = 0;
          this.resetUnit();
          this.state = 'discard-line';
          return pos;
        }
        if (end > pos) {
          // Copy what we keep: the socket may reuse its buffer.
          this.lineChunks.push(nl === -1 ? Buffer.from(chunk.subarray(pos, end)) : chunk.subarray(pos, end));
          this.lineBytes += end - pos;
        }
        if (nl === -1) return chunk.length;
        this.endLine();
        return nl + 1;
      }
      case 'discard-line': {
        const nl = chunk.indexOf(10, pos);
        if (nl === -1) return chunk.length;
        this.state = 'line';
        this.progress++;
        this.hooks.rejected(this.discardTag, 'line');
        return nl + 1;
      }
      case 'literal': {
        const take = Math.min(this.remaining, chunk.length - pos);
        if (this.spillFile) {
          let off = pos;
          while (off < pos + take) off += writeSync(this.spillFile.fd, chunk, off, pos + take - off);
        } else {
          this.literalChunks.push(Buffer.from(chunk.subarray(pos, pos + take)));
        }
        this.remaining -= take;
        if (this.remaining === 0) this.finishLiteral();
        return pos + take;
      }
      case 'discard-literal': {
        const take = Math.min(this.remaining, chunk.length - pos);
        this.remaining -= take;
        if (this.remaining === 0) {
          this.state = 'line';
          this.progress++;
        }
        return pos + take;
      }
      default:
        return chunk.length;
    }
  }

  private endLine(): void {
    let line = this.lineChunks.length === 1 ? this.lineChunks[0]! : Buffer.concat(this.lineChunks);
    this.lineChunks = [];
    this.lineBytes = 0;
    this.progress++;
    if (line.length && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    const text = line.toString('utf8');
    this.unit.parts.push(text);
    this.unit.size += line.length + 2;
    this.unit.textBytes += line.length + 2;
    if (this.unit.textBytes > this.limits.maxCommandBytes && !this.failed) this.failed = 'command';

    const m = LITERAL_AT_END.exec(text);
    if (!m) {
      const unit = this.unit;
      const failed = this.failed;
      this.unit = emptyUnit();
      this.failed = null;
      if (failed) {
        discardSpilled(unit);
        this.hooks.rejected(this.tagOf(typeof unit.parts[0] === 'string' ? unit.parts[0] : ''), failed);
      } else if (unit.parts.length > 1 || text.length > 0) this.hooks.unit(unit);
      return;
    }
    const size = Number(m[1]);
    const sync = m[2] === undefined;
    if (sync) {
      if (this.failed) {
        // Never send a go-ahead for a command already known to fail.
        const tag = this.tagOf(this.firstLine());
        const failed = this.failed;
        this.resetUnit();
        this.hooks.rejected(tag, failed);
        return;
      }
      this.remaining = size;
      this.state = 'wait';
      this.hooks.literalRequest(this.unit, size);
      return;
    }
    const tooLarge = size > this.limits.maxNonSyncLiteral || !this.fits(this.unit, size);
    if (tooLarge && this.limits.abortOversizedNonSync && size > this.limits.maxNonSyncLiteral) {
      const tag = this.tagOf(this.firstLine());
      this.dispose();
      this.hooks.aborted?.(tag, size);
      return;
    }
    if (tooLarge || this.failed) {
      this.failed = tooLarge ? 'literal' : this.failed;
      this.remaining = size;
      this.state = size > 0 ? 'discard-literal' : 'line';
      this.unit.parts.push(Buffer.alloc(0));
      return;
    }
    this.startLiteral(size);
  }

  /** Whether a literal of `size` more bytes fits the limits of the unit's command. */
  fits(unit: CommandUnit, size: number): boolean {
    const first = typeof unit.parts[0] === 'string' ? unit.parts[0] : '';
    const single = this.limits.maxLiteralSize?.(first) ?? Infinity;
    return size <= single && unit.literalBytes + size <= this.limits.maxLiteral(first);
  }
}
