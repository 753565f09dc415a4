/**
 * Input framing: splits the byte stream into command units (line segments and the literals
 * between them), bounded in line length, literal size and command size. Synchronising
 * literals wait for the session to say go ahead (it does so once earlier commands are done),
 * non-synchronising (LITERAL+) ones that are too large are read and discarded.
 */
export interface CommandUnit {
  /** Line text segments (without CRLF) alternating with the literals that follow `{n}`. */
  parts: Array<string | Buffer>;
  /** Total bytes of the unit. */
  size: number;
}

export interface ReaderLimits {
  maxLineBytes: number;
  maxCommandBytes: number;
  /** Largest literal accepted for a command whose first line starts with `prefix`. */
  maxLiteral(prefix: string): number;
}

export interface ReaderHooks {
  unit(unit: CommandUnit): void;
  /** A synchronising literal: call `reader.literalDecision(true|false)` when ready. */
  literalRequest(unit: CommandUnit, size: number, tooLarge: boolean): void;
  /** A command that was dropped while reading (too long, literal too large); `tag` is a best guess. */
  rejected(tag: string, reason: 'line' | 'literal' | 'command'): void;
}

const LITERAL_AT_END = /~?\{(\d{1,12})(\+)?\}$/;

export class CommandReader {
  private state: 'line' | 'literal' | 'discard-line' | 'discard-literal' | 'wait' = 'line';
  private lineChunks: Buffer[] = [];
  private lineBytes = 0;
  private remaining = 0;
  private literalChunks: Buffer[] = [];
  private unit: CommandUnit = { parts: [], size: 0 };
  private failed: 'literal' | 'command' | null = null;
  private queued: Buffer[] = [];
  private discardTag = '*';

  constructor(
    private readonly limits: ReaderLimits,
    private readonly hooks: ReaderHooks,
  ) {}

  /** True while a synchronising literal waits for a decision. */
  get waiting(): boolean {
    return this.state === 'wait';
  }

  push(chunk: Buffer): void {
    if (this.state === 'wait') {
      this.queued.push(chunk);
      return;
    }
    let pos = 0;
    while (pos < chunk.length && !this.waiting) {
      pos = this.step(chunk, pos);
    }
    if (pos < chunk.length) this.queued.push(chunk.subarray(pos));
  }

  /** Answer to literalRequest: accept reads the literal, reject drops the command. */
  literalDecision(accept: boolean): void {
    if (this.state !== 'wait') return;
    if (accept) {
      this.state = 'literal';
      if (this.remaining === 0) {
        this.unit.parts.push(Buffer.alloc(0));
        this.state = 'line';
      }
    } else {
      this.resetUnit();
      this.state = 'line';
    }
    const q = this.queued;
    this.queued = [];
    for (const c of q) this.push(c);
  }

  private resetUnit(): void {
    this.unit = { parts: [], size: 0 };
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
          this.lineChunks.push(chunk.subarray(pos, end));
          this.lineBytes += end - pos;
        }
        if (nl === -1) {
          // Copy what we keep: the socket may reuse its buffer.
          const last = this.lineChunks.pop();
          if (last) this.lineChunks.push(Buffer.from(last));
          return chunk.length;
        }
        this.endLine();
        return nl + 1;
      }
      case 'discard-line': {
        const nl = chunk.indexOf(10, pos);
        if (nl === -1) return chunk.length;
        this.state = 'line';
        this.hooks.rejected(this.discardTag, 'line');
        return nl + 1;
      }
      case 'literal': {
        const take = Math.min(this.remaining, chunk.length - pos);
        this.literalChunks.push(Buffer.from(chunk.subarray(pos, pos + take)));
        this.remaining -= take;
        if (this.remaining === 0) {
          const lit = this.literalChunks.length === 1 ? this.literalChunks[0]! : Buffer.concat(this.literalChunks);
          this.literalChunks = [];
          this.unit.parts.push(lit);
          this.unit.size += lit.length;
          this.state = 'line';
        }
        return pos + take;
      }
      case 'discard-literal': {
        const take = Math.min(this.remaining, chunk.length - pos);
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'line';
        return pos + take;
      }
      default:
        return pos;
    }
  }

  private endLine(): void {
    let line = this.lineChunks.length === 1 ? this.lineChunks[0]! : Buffer.concat(this.lineChunks);
    this.lineChunks = [];
    this.lineBytes = 0;
    if (line.length && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    const text = line.toString('utf8');
    this.unit.parts.push(text);
    this.unit.size += line.length + 2;
    if (this.unit.size > this.limits.maxCommandBytes && !this.failed) this.failed = 'command';

    const m = LITERAL_AT_END.exec(text);
    if (!m) {
      const unit = this.unit;
      const failed = this.failed;
      this.resetUnit();
      if (failed) this.hooks.rejected(this.tagOf(typeof unit.parts[0] === 'string' ? unit.parts[0] : ''), failed);
      else if (unit.parts.length > 1 || text.length > 0) this.hooks.unit(unit);
      return;
    }
    const size = Number(m[1]);
    const sync = m[2] === undefined;
    const limit = this.limits.maxLiteral(this.firstLine());
    const tooLarge = size > limit || this.unit.size + size > this.limits.maxCommandBytes + limit;
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
      this.hooks.literalRequest(this.unit, size, tooLarge);
      return;
    }
    if (tooLarge || this.failed) {
      this.failed = tooLarge ? 'literal' : this.failed;
      this.remaining = size;
      this.state = size > 0 ? 'discard-literal' : 'line';
      this.unit.parts.push(Buffer.alloc(0));
      return;
    }
    this.remaining = size;
    if (size === 0) this.unit.parts.push(Buffer.alloc(0));
    else this.state = 'literal';
  }
}
