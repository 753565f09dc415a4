/**
 * Command parsing: a command unit (lines and literals) into tag, command name and a token
 * tree (atoms, strings, literals, parenthesised lists). Section atoms such as
 * `BODY.PEEK[HEADER.FIELDS (From To)]<0.100>` stay one atom; fetch.ts reads them further.
 */
import type { CommandUnit } from './reader.js';

export type Token = { t: 'atom'; v: string } | { t: 'string'; v: string } | { t: 'literal'; v: Buffer } | { t: 'list'; v: Token[] };

export interface ParsedCommand {
  tag: string;
  /** Upper-case command name; "UID FETCH" etc. for UID commands. */
  name: string;
  args: Token[];
}

/** A syntax error: answered with BAD. */
export class ImapSyntaxError extends Error {
  constructor(
    message: string,
    readonly tag: string = '*',
  ) {
    super(message);
    this.name = 'ImapSyntaxError';
  }
}

const MAX_DEPTH = 32;
/** Item names whose '[' opens a section (RFC 3501 fetch-att, RFC 3516 BINARY). */
const SECTION_ITEM = /^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)$/i;
const MAX_TOKENS = 100_000;

class Scanner {
  private partIndex = 0;
  private pos = 0;
  private count = 0;
  constructor(private readonly parts: Array<string | Buffer>) {}

  private get text(): string {
    const p = this.parts[this.partIndex];
    return typeof p === 'string' ? p : '';
  }

  /** Next raw word of the first line (for tag and command name). */
  word(): string | null {
    const s = this.text;
    if (this.pos >= s.length) return null;
    let end = s.indexOf(' ', this.pos);
    if (end === -1) end = s.length;
    const w = s.slice(this.pos, end);
    this.pos = end < s.length ? end + 1 : end;
    return w;
  }

  tokens(depth = 0): Token[] {
    if (depth > MAX_DEPTH) throw new ImapSyntaxError('Nesting too deep');
    const out: Token[] = [];
    for (;;) {
      const s = this.text;
      if (this.pos >= s.length) {
        // The segment ended: continue in the next segment only after a literal.
        if (this.partIndex + 1 < this.parts.length) {
          throw new ImapSyntaxError('Unexpected literal');
        }
        if (depth > 0) throw new ImapSyntaxError('Unterminated list');
        return out;
      }
      if (++this.count > MAX_TOKENS) throw new ImapSyntaxError('Too many arguments');
      const c = s[this.pos]!;
      if (c === ' ') {
        this.pos++;
        continue;
      }
      if (c === ')') {
        if (depth === 0) throw new ImapSyntaxError('Unexpected )');
        this.pos++;
        return out;
      }
      if (c === '(') {
        this.pos++;
        out.push({ t: 'list', v: this.tokens(depth + 1) });
        continue;
      }
      if (c === '"') {
        out.push({ t: 'string', v: this.quoted() });
        continue;
      }
      const lit = /^~?\{(\d+)\+?\}$/.exec(s.slice(this.pos));
      if (lit) {
        const next = this.parts[this.partIndex + 1];
        if (!Buffer.isBuffer(next)) throw new ImapSyntaxError('Missing literal');
        if (next.length !== Number(lit[1])) throw new ImapSyntaxError('Literal size mismatch');
        out.push({ t: 'literal', v: next });
        this.partIndex += 2;
        this.pos = 0;
        if (this.partIndex >= this.parts.length) {
          if (depth > 0) throw new ImapSyntaxError('Unterminated list');
          return out;
        }
        continue;
      }
      out.push({ t: 'atom', v: this.atom() });
    }
  }

  private quoted(): string {
    const s = this.text;
    let i = this.pos + 1;
    let v = '';
    while (i < s.length) {
      const c = s[i]!;
      if (c === '\\') {
        const n = s[i + 1];
        if (n !== '\\' && n !== '"') throw new ImapSyntaxError('Invalid escape in quoted string');
        v += n;
        i += 2;
        continue;
      }
      if (c === '"') {
        this.pos = i + 1;
        return v;
      }
      v += c;
      i++;
    }
    throw new ImapSyntaxError('Unterminated quoted string');
  }

  private atom(): string {
    const s = this.text;
    const start = this.pos;
    let i = start;
    while (i < s.length) {
      const c = s[i]!;
      if (c === ' ' || c === '(' || c === ')' || c === '"' || c === '{') {
        if (c === '{' && i === start) {
          i++;
          continue;
        }
        break;
      }
      if (c === '[' && SECTION_ITEM.test(s.slice(start, i))) {
        // A FETCH section: up to the matching ']', spaces and lists included. Elsewhere '[' is an
        // ordinary atom character (mailbox names such as "a[b").
        let depth = 0;
        i++;
        while (i < s.length && !(s[i] === ']' && depth === 0)) {
          if (s[i] === '(') depth++;
          else if (s[i] === ')') depth--;
          else if (s[i] === '"') {
            i++;
            while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
          }
          i++;
        }
        if (i >= s.length) throw new ImapSyntaxError('Unterminated section');
        i++;
        continue;
      }
      const code = c.charCodeAt(0);
      if (code < 0x20 || code === 0x7f) throw new ImapSyntaxError('Control character in atom');
      i++;
    }
    if (i === start) throw new ImapSyntaxError('Empty atom');
    this.pos = i;
    return s.slice(start, i);
  }
}

const TAG_RE = /^[\x21-\x7e]+$/;

/** Parses a command unit. Throws ImapSyntaxError (with the tag when known). */
export function parseCommand(unit: CommandUnit): ParsedCommand {
  const sc = new Scanner(unit.parts);
  const tag = sc.word();
  if (!tag || !TAG_RE.test(tag) || /[(){%*"\\+]/.test(tag)) throw new ImapSyntaxError('Invalid tag');
  const name = sc.word();
  if (!name || !/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) throw new ImapSyntaxError('Missing or invalid command', tag);
  let upper = name.toUpperCase();
  if (upper === 'UID') {
    const sub = sc.word();
    if (!sub || !/^[A-Za-z]+$/.test(sub)) throw new ImapSyntaxError('Missing UID command', tag);
    upper = `UID ${sub.toUpperCase()}`;
  }
  try {
    return { tag, name: upper, args: sc.tokens() };
  } catch (err) {
    if (err instanceof ImapSyntaxError) throw new ImapSyntaxError(err.message, tag);
    throw err;
  }
}

// ---- argument helpers used by the command handlers ----

export function isAtom(t: Token | undefined, value?: string): t is { t: 'atom'; v: string } {
  return t?.t === 'atom' && (value === undefined || t.v.toUpperCase() === value);
}

/** An astring/nstring argument as text. */
export function str(t: Token | undefined, what = 'argument'): string {
  if (!t) throw new ImapSyntaxError(`Missing ${what}`);
  if (t.t === 'atom' || t.t === 'string') return t.v;
  if (t.t === 'literal') return t.v.toString('utf8');
  throw new ImapSyntaxError(`Invalid ${what}`);
}

export function bytes(t: Token | undefined, what = 'argument'): Buffer {
  if (!t) throw new ImapSyntaxError(`Missing ${what}`);
  if (t.t === 'literal') return t.v;
  if (t.t === 'string' || t.t === 'atom') return Buffer.from(t.v, 'utf8');
  throw new ImapSyntaxError(`Invalid ${what}`);
}

export function list(t: Token | undefined, what = 'list'): Token[] {
  if (!t || t.t !== 'list') throw new ImapSyntaxError(`Expected a parenthesised ${what}`);
  return t.v;
}

export function num(t: Token | undefined, what = 'number'): number {
  if (!t || t.t !== 'atom' || !/^\d{1,20}$/.test(t.v)) throw new ImapSyntaxError(`Expected ${what}`);
  const n = Number(t.v);
  if (!Number.isSafeInteger(n)) throw new ImapSyntaxError(`${what} out of range`);
  return n;
}

export function expectEnd(args: Token[], count: number): void {
  if (args.length > count) throw new ImapSyntaxError('Too many arguments');
}
