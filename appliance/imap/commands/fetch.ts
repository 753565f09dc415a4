/**
 * FETCH and UID FETCH, with CHANGEDSINCE (CONDSTORE). Entries come from one index read,
 * metadata from one batched getMeta, message bytes are read a few messages ahead and written
 * as literals with back-pressure on the whole response: nothing more is read or formatted
 * while the socket's buffer is full (the client is not reading). Sections of large messages
 * are read one at a time, right before they are written, so a FETCH holds at most one such
 * section in memory.
 */
import type { MessageMeta } from '../../mailstore/mime/types.js';
import type { MessageEntry } from '../../mailstore/store.types.js';
import { bodyStructureToString, envelopeToString } from '../bodystructure.js';
import { type FetchItem, type SectionItem, type SimpleItem, filterHeader, parseFetchItems, resolveSection } from '../fetch-items.js';
import { formatInternalDate, hasFlag } from '../format.js';
import { binaryEncoding, decodeBinary, knownEncoding } from '../binary.js';
import { ImapNo } from '../responses.js';
import { emailId } from '../object-ids.js';
import { previewFromBytes } from '../preview.js';
import { nstring } from '../compiler.js';
import { ImapSyntaxError, type Token, expectEnd, isAtom, num, str } from '../parser.js';
import { compactSet, parseSequenceSet, type SeqRanges } from '../sequence.js';
import type { SelectedMailbox } from '../selected.js';
import type { ImapSession } from '../session.js';
import { fetchFlags } from '../fetch-flags.js';
import { selectedOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { SELECTED } from './types.js';

const READ_AHEAD = 8;
/** Messages up to this size are read whole (and in batches when the store can). */
const SMALL_MESSAGE = 256 * 1024;
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_COUNT = 256;
const EMPTY_ENVELOPE = '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)';

/** The entries of `uids` (ascending) in the selected folder. */
export async function entriesFor(session: ImapSession, sel: SelectedMailbox, uids: number[]): Promise<MessageEntry[]> {
  if (!uids.length) return [];
  if (session.store.entriesOf) return session.store.entriesOf(sel.folder.id, uids);
  const all = await session.store.listMessages(sel.folder.id);
  if (uids.length === 1) {
    const e = all.find((x) => x.uid === uids[0]);
    return e ? [e] : [];
  }
  const want = new Set(uids);
  return all.filter((e) => want.has(e.uid));
}

function parseModifiers(t: Token | undefined): { changedSince: number | null; vanished: boolean } {
  if (!t) return { changedSince: null, vanished: false };
  if (t.t !== 'list') throw new ImapSyntaxError('Invalid FETCH modifiers');
  let changedSince: number | null = null;
  let vanished = false;
  for (let i = 0; i < t.v.length; i++) {
    if (isAtom(t.v[i], 'CHANGEDSINCE')) changedSince = num(t.v[++i], 'mod-sequence');
    else if (isAtom(t.v[i], 'VANISHED')) vanished = true;
    else throw new ImapSyntaxError('Unsupported FETCH modifier');
  }
  return { changedSince, vanished };
}

/** A section's bytes, or a function that reads them when the writer gets to it. */
type SectionData = Buffer | (() => Promise<Buffer>);

/** A section of a response that goes as a literal. */
type LiteralPart = { item: SectionItem; data: SectionData };

/** Cuts the requested sections out of a message (whole bytes, or ranged reads when `full` is null). */
function sectionsOf(session: ImapSession, entry: MessageEntry, meta: MessageMeta | null, sections: SectionItem[], full: Buffer | null): Promise<Buffer[]> | Buffer[] {
  const pieces = sections.map((item) => readSection(session, entry, meta, item, full));
  return pieces.every((p) => Buffer.isBuffer(p)) ? (pieces as Buffer[]) : Promise.all(pieces);
}

function readSection(session: ImapSession, entry: MessageEntry, meta: MessageMeta | null, item: SectionItem, full: Buffer | null): Buffer | Promise<Buffer> {
  const r = resolveSection(meta, entry.size, item);
  if (!r || r.end <= r.start) return Buffer.alloc(0);
  const finish = (buf: Buffer) => {
    let data = r.filter ? filterHeader(buf, r.filter.fields, r.filter.not) : buf;
    if (item.partial) data = data.subarray(Math.min(item.partial.start, data.length), Math.min(item.partial.start + item.partial.length, data.length));
    return data;
  };
  if (full) return finish(full.subarray(r.start, r.end));
  if (item.partial && !r.filter) {
    const start = r.start + item.partial.start;
    const end = Math.min(r.end, start + item.partial.length);
    if (start >= r.end) return Buffer.alloc(0);
    return session.store.readMessage(entry.messageId, { start, end });
  }
  return session.store.readMessage(entry.messageId, r.start === 0 && r.end >= entry.size ? undefined : { start: r.start, end: r.end }).then(finish);
}

/**
 * Reads message bytes for FETCH a little ahead of the writer: small messages in batches
 * (store.readMessages when the store offers it, up to BATCH_BYTES at a time), large ones by
 * ranges of just the requested sections.
 */
class BodyLoader {
  private readonly batches: number[][] = [];
  private readonly batchOf: number[] = [];
  private readonly pending = new Map<number, Promise<Map<number, Buffer>>>();
  private readonly single = new Map<number, Promise<SectionData[]>>();

  constructor(
    private readonly session: ImapSession,
    private readonly entries: MessageEntry[],
    private readonly metas: Map<number, MessageMeta> | null,
    private readonly sections: SectionItem[],
  ) {
    if (!sections.length) return;
    const batched = typeof session.store.readMessages === 'function';
    let cur: number[] = [];
    let bytes = 0;
    entries.forEach((e, i) => {
      const small = e.size <= SMALL_MESSAGE;
      if (batched && small) {
        if (cur.length && (bytes + e.size > BATCH_BYTES || cur.length >= BATCH_COUNT)) {
          this.batches.push(cur);
          cur = [];
          bytes = 0;
        }
        cur.push(i);
        bytes += e.size;
        this.batchOf[i] = this.batches.length;
      } else {
        this.batchOf[i] = -1;
      }
    });
    if (cur.length) this.batches.push(cur);
  }

  private loadBatch(b: number): Promise<Map<number, Buffer>> | null {
    if (b < 0 || b >= this.batches.length) return null;
    let p = this.pending.get(b);
    if (!p) {
      const ids = this.batches[b]!.map((i) => this.entries[i]!.messageId);
      p = this.session.store.readMessages!(ids);
      p.catch(() => undefined);
      this.pending.set(b, p);
    }
    return p;
  }

  private loadSingle(i: number): Promise<SectionData[]> | null {
    if (i >= this.entries.length || this.batchOf[i] !== -1) return null;
    let p = this.single.get(i);
    if (!p) {
      const e = this.entries[i]!;
      const meta = this.metas?.get(e.messageId) ?? null;
      const small = e.size <= SMALL_MESSAGE;
      // Small messages: one read (whole message for several sections). Large ones: each section
      // is read when the writer reaches it (read-ahead of a large message costs nothing).
      p = small
        ? this.sections.length > 1
          ? this.session.store.readMessage(e.messageId).then((full) => sectionsOf(this.session, e, meta, this.sections, full))
          : Promise.resolve(sectionsOf(this.session, e, meta, this.sections, null))
        : Promise.resolve(this.sections.map((item) => () => Promise.resolve(readSection(this.session, e, meta, item, null))));
      p.catch(() => undefined);
      this.single.set(i, p);
    }
    return p;
  }

  /** The section bytes (or readers) of entry i, or null when the message is gone. */
  async get(i: number): Promise<SectionData[] | null> {
    // Read ahead: the next batch, and single reads a few entries ahead.
    const b = this.batchOf[i]!;
    if (b >= 0) this.loadBatch(b + 1);
    for (let k = i + 1; k <= i + READ_AHEAD && k < this.entries.length; k++) this.loadSingle(k);
    const e = this.entries[i]!;
    try {
      if (b >= 0) {
        const map = await this.loadBatch(b)!;
        if (i === this.batches[b]![this.batches[b]!.length - 1]) this.pending.delete(b);
        const full = map.get(e.messageId);
        if (!full) return null;
        return await sectionsOf(this.session, e, this.metas?.get(e.messageId) ?? null, this.sections, full);
      }
      const r = await this.loadSingle(i)!;
      this.single.delete(i);
      return r;
    } catch {
      return null;
    }
  }
}

/** The items each response carries: UID for UID FETCH, MODSEQ with CHANGEDSINCE (both enable CONDSTORE). */
function responseItems(session: ImapSession, requested: FetchItem[], byUid: boolean, changedSince: number | null): FetchItem[] {
  let items: FetchItem[] = requested;
  if (byUid && !items.some((i) => i.kind === 'UID')) items = [{ kind: 'UID' }, ...items];
  if (changedSince !== null) {
    session.enableCondstore();
    if (!items.some((i) => i.kind === 'MODSEQ')) items = [...items, { kind: 'MODSEQ' }];
  }
  if (items.some((i) => i.kind === 'MODSEQ')) session.enableCondstore();
  return items;
}

/** RFC 7162 3.2.6: `* VANISHED (EARLIER)` for the UIDs in the set expunged since CHANGEDSINCE. */
async function reportVanished(session: ImapSession, sel: SelectedMailbox, ranges: SeqRanges, changedSince: number): Promise<void> {
  const max = sel.view.maxUid;
  const ch = await session.store.changesSince(sel.folder.id, changedSince);
  // "n:*" reaches past the largest UID still present: expunged UIDs above it count too.
  const gone = ch.expunged.filter((u) =>
    ranges.some(([a, b]) => {
      const lo = a === Infinity ? max : a;
      return b === Infinity ? u >= Math.min(lo, max) : u >= Math.min(lo, b) && u <= Math.max(lo, b);
    }),
  );
  if (gone.length) session.untagged(`VANISHED (EARLIER) ${compactSet(gone)}`);
}

/**
 * Implicit \Seen for BODY[...] / RFC822 / RFC822.TEXT in a read-write mailbox: the entries with
 * their new flags; the UIDs that changed are added to `flagsChanged` (their FLAGS are sent).
 */
async function markSeen(session: ImapSession, sel: SelectedMailbox, entries: MessageEntry[], flagsChanged: Set<number>): Promise<MessageEntry[]> {
  const unseen = entries.filter((e) => !hasFlag(e.flags, '\\Seen')).map((e) => e.uid);
  if (!unseen.length) return entries;
  const r = await session.store.storeFlags(sel.folder.id, unseen, 'add', ['\\Seen']);
  const byUidMap = new Map(r.updated.map((u) => [u.uid, u]));
  return entries.map((e) => {
    const u = byUidMap.get(e.uid);
    if (!u) return e;
    sel.reported(u.uid, u.modseq);
    flagsChanged.add(u.uid);
    return { ...e, flags: u.flags, modseq: u.modseq };
  });
}

/** RFC 3516 4.2: a BINARY section of a part whose encoding we cannot undo answers NO [UNKNOWN-CTE]. */
function checkBinaryEncodings(metas: Map<number, MessageMeta>, requested: FetchItem[], entries: MessageEntry[]): void {
  if (!requested.some((it) => it.kind === 'section' && it.binary)) return;
  for (const e of entries) {
    for (const it of requested) {
      if (it.kind === 'section' && it.binary && !knownEncoding(binaryEncoding(metas.get(e.messageId) ?? null, it.path))) throw new ImapNo('Unknown Content-Transfer-Encoding', 'UNKNOWN-CTE');
    }
  }
}

export async function runFetch(session: ImapSession, args: Token[], byUid: boolean): Promise<void> {
  const sel = selectedOf(session);
  expectEnd(args, 3);
  const ranges = parseSequenceSet(str(args[0], 'sequence set'));
  const plan = parseFetchItems(args[1]);
  const { changedSince, vanished } = parseModifiers(args[2]);
  if (vanished && (!byUid || changedSince === null || !session.qresync)) throw new ImapSyntaxError('VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC');
  const items = responseItems(session, plan.items, byUid, changedSince);
  const uids = byUid ? sel.view.resolveUid(ranges) : sel.view.resolveSeq(ranges);
  if (vanished) await reportVanished(session, sel, ranges, changedSince!);
  if (!plan.setsSeen && (await fetchFlags(session, sel, items, uids, changedSince))) return;
  let entries = await entriesFor(session, sel, uids);
  if (changedSince !== null) entries = entries.filter((e) => e.modseq > changedSince);
  if (!entries.length) return;

  const flagsChanged = new Set<number>();
  if (plan.setsSeen && !sel.readOnly) entries = await markSeen(session, sel, entries, flagsChanged);
  const metas = plan.needMeta ? await session.store.getMeta(entries.map((e) => e.messageId)) : null;
  if (metas) checkBinaryEncodings(metas, plan.items, entries);
  await writeResponses(session, sel, items, entries, metas, flagsChanged);
}

/** The text of an item that needs neither message bytes nor a read: everything but PREVIEW and sections. */
function itemText(session: ImapSession, sel: SelectedMailbox, kind: Exclude<SimpleItem, 'PREVIEW'>, e: MessageEntry, meta: MessageMeta | null): string {
  switch (kind) {
    case 'UID':
      return `UID ${e.uid}`;
    case 'FLAGS':
      return `FLAGS ${sel.formatFlags(e.uid, e.flags)}`;
    case 'MODSEQ':
      return `MODSEQ (${e.modseq})`;
    case 'INTERNALDATE':
      return `INTERNALDATE ${formatInternalDate(e.internalDate)}`;
    case 'EMAILID': // RFC 8474 5.1: the stored message, shared by its copies
      return `EMAILID (${emailId(e.messageId)})`;
    case 'THREADID': // RFC 8474 5.2: threads are not given ids (NIL is allowed)
      return 'THREADID NIL';
    case 'SAVEDATE': // RFC 8514 3
      return `SAVEDATE ${e.savedAt === null ? 'NIL' : formatInternalDate(e.savedAt)}`;
    case 'RFC822.SIZE':
      return `RFC822.SIZE ${e.size}`;
    case 'ENVELOPE':
      return `ENVELOPE ${meta ? envelopeToString(meta.envelope) : EMPTY_ENVELOPE}`;
    case 'BODY':
    case 'BODYSTRUCTURE':
      return `${kind} ${meta ? bodyStructureToString(meta.root, kind === 'BODYSTRUCTURE', session.rev2) : '("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0)'}`;
  }
}

/** A section written as a literal: its bytes, or (BINARY, RFC 3516) a reader of the part decoded. */
function literalPart(item: SectionItem, raw: SectionData, meta: MessageMeta | null): LiteralPart {
  if (!item.binary) return { item, data: raw };
  const enc = binaryEncoding(meta, item.path);
  const spec = item.binary;
  return { item, data: async () => decodeBinary(typeof raw === 'function' ? await raw() : raw, enc, spec.partial) };
}

/** BINARY.SIZE (RFC 3516): the decoded length of the part. */
async function binarySize(item: SectionItem, raw: SectionData, meta: MessageMeta | null): Promise<number> {
  return decodeBinary(typeof raw === 'function' ? await raw() : raw, binaryEncoding(meta, item.path), item.binary!.partial).length;
}

/**
 * Writes one response whose sections go as literals: `parts` are the text before each literal
 * and the literals, `tail` the text after the last one. Stops when the session closes.
 */
async function writeWithLiterals(session: ImapSession, parts: Array<string | LiteralPart>, tail: string): Promise<void> {
  let head = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      head += p;
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = typeof p.data === 'function' ? await p.data() : p.data;
    } catch {
      bytes = Buffer.alloc(0); // the message vanished while we were writing it
    }
    if (session.isClosed) return;
    await session.writeAndWait(head + literalHeader(p.item, bytes));
    head = '';
    await session.writeAndWait(bytes);
  }
  await session.writeAndWait(head + tail);
}

/** `BODY[...]<origin> {n}` before a literal; BINARY content with NUL bytes goes as literal8 (RFC 3516 4.2). */
function literalHeader(item: SectionItem, bytes: Buffer): string {
  const origin = item.binary ? item.binary.partial : item.partial;
  return `${item.label}${origin ? `<${origin.start}>` : ''} ${item.binary && bytes.includes(0) ? '~' : ''}{${bytes.length}}\r\n`;
}

/** A response whose literals are all in memory, as chunks to write in order; null when one must be read or decoded first. */
function inlineResponse(parts: Array<string | LiteralPart>, tail: string): Array<string | Buffer> | null {
  const out: Array<string | Buffer> = [];
  let head = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      head += p;
      continue;
    }
    if (typeof p.data === 'function') return null;
    out.push(head + literalHeader(p.item, p.data), p.data);
    head = '';
  }
  out.push(head + tail);
  return out;
}

/**
 * Output gathered into writes of about 64 KiB: one TLS record and one system call for many
 * small responses instead of three per message (issue 18: FETCH BODY[] of 1,000 messages).
 * Response text is kept as one string until a literal or the flush needs bytes (one UTF-8
 * encoding per write, not a Buffer per response: FETCH ENVELOPE of 1,200). `add` returns a
 * promise only when it wrote (the caller awaits back-pressure then, and no promise otherwise).
 */
class Coalescer {
  private chunks: Buffer[] = [];
  private text = '';
  private bytes = 0;

  constructor(private readonly session: ImapSession) {}

  add(chunk: string | Buffer): Promise<void> | null {
    if (typeof chunk === 'string') {
      this.text += chunk;
      this.bytes += chunk.length;
    } else {
      if (this.text) this.chunks.push(Buffer.from(this.text, 'utf8'));
      this.text = '';
      this.chunks.push(chunk);
      this.bytes += chunk.length;
    }
    return this.bytes >= 65536 ? this.flush() : null;
  }

  async flush(): Promise<void> {
    let data: string | Buffer;
    if (!this.chunks.length) {
      if (!this.text) return;
      data = this.text;
    } else {
      if (this.text) this.chunks.push(Buffer.from(this.text, 'utf8'));
      data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    }
    this.chunks = [];
    this.text = '';
    this.bytes = 0;
    await this.session.writeAndWait(data);
  }
}

/** Sequence numbers of entries in ascending UID order: a merge walk for many, a search each for a few. */
function seqsOf(sel: SelectedMailbox, entries: MessageEntry[]): ArrayLike<number> {
  if (entries.length * 16 < sel.view.length) return entries.map((e) => sel.view.seqOf(e.uid));
  const uids = new Uint32Array(entries.length);
  for (let i = 0; i < entries.length; i++) uids[i] = entries[i]!.uid;
  for (let i = 1; i < uids.length; i++) if (uids[i]! <= uids[i - 1]!) return entries.map((e) => sel.view.seqOf(e.uid));
  return sel.view.seqsOfAscending(uids);
}

/**
 * Writes the `* n FETCH (...)` responses, gathered and written in chunks of about 64 KiB (with
 * the literals already in memory: small messages); a response whose literal is read or decoded
 * as it is written (large messages, BINARY) flushes what was gathered and goes on its own.
 */
async function writeResponses(
  session: ImapSession,
  sel: SelectedMailbox,
  items: FetchItem[],
  entries: MessageEntry[],
  metas: Map<number, MessageMeta> | null,
  flagsChanged: Set<number>,
): Promise<void> {
  const sections = items.filter((i): i is SectionItem => i.kind === 'section');
  const hasFlagsItem = items.some((i) => i.kind === 'FLAGS');
  if (hasFlagsItem || flagsChanged.size)
    sel.announceKeywords(
      session,
      entries.map((e) => e.flags),
    );
  const bodies = new BodyLoader(session, entries, metas, sections);
  const out = new Coalescer(session);
  const seqs = seqsOf(sel, entries);
  for (let i = 0; i < entries.length; i++) {
    if (session.isClosed) return;
    const e = entries[i]!;
    const seq = seqs[i]!;
    if (!seq) continue;
    const meta = metas?.get(e.messageId) ?? null;
    let data: SectionData[] | null = null;
    if (sections.length) {
      data = await bodies.get(i);
      if (!data) continue; // the message vanished (expunged elsewhere): skip it
    }
    const parts: Array<string | LiteralPart> = [];
    let text = `* ${seq} FETCH (`;
    let first = true;
    let sectionIndex = 0;
    for (const item of items) {
      if (!first) text += ' ';
      first = false;
      if (item.kind === 'PREVIEW') {
        // RFC 8970 3: computed at ingest; older messages get theirs from the bytes
        text += `PREVIEW ${nstring(meta ? (meta.preview ?? (await previewFromBytes(session, e.messageId, meta))) : null)}`;
      } else if (item.kind !== 'section') {
        text += itemText(session, sel, item.kind, e, meta);
      } else if (item.binary?.size) {
        text += `${item.label} ${await binarySize(item, data?.[sectionIndex++] ?? Buffer.alloc(0), meta)}`;
      } else {
        parts.push(text, literalPart(item, data?.[sectionIndex++] ?? Buffer.alloc(0), meta));
        text = '';
      }
    }
    if (flagsChanged.has(e.uid) && !hasFlagsItem) text += ` FLAGS ${sel.formatFlags(e.uid, e.flags)}`;
    text += ')\r\n';
    const inline = parts.length ? inlineResponse(parts, text) : [text];
    if (inline) {
      for (const chunk of inline) {
        const written = out.add(chunk);
        if (written) await written;
      }
    } else {
      await out.flush();
      await writeWithLiterals(session, parts, text);
    }
  }
  await out.flush();
}

export const fetch: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runFetch(session, cmd.args, false);
    return undefined;
  },
};

export const uidFetch: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    await runFetch(session, cmd.args, true);
    return undefined;
  },
};
