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
import { fetchFlags, flagsOnly } from '../fetch-flags.js';
import { selectedOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { SELECTED } from './types.js';

const READ_AHEAD = 8;
/** Messages up to this size are read whole (and in batches when the store can). */
const SMALL_MESSAGE = 256 * 1024;
/** A batch fits the store's reused read buffers (1 MiB, mailstore/blob-read-threads.ts); one per read thread is read ahead. */
const BATCH_BYTES = 512 * 1024;
const BATCH_COUNT = 64;
const BATCHES_AHEAD = 4;
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

/** Message bytes read for a batch, and how to give back the memory they were read into. */
type Lent = { bytes: Map<number, Buffer>; release(): void };

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
  private readonly pending = new Map<number, Promise<Lent>>();
  private readonly single = new Map<number, Promise<SectionData[]>>();

  constructor(
    private readonly session: ImapSession,
    private readonly entries: MessageEntry[],
    private readonly metas: Map<number, MessageMeta> | null,
    private readonly sections: SectionItem[],
  ) {
    if (!sections.length) return;
    const batched = typeof session.store.readMessages === 'function' || typeof session.store.lendMessages === 'function';
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

  private loadBatch(b: number): Promise<Lent> | null {
    if (b < 0 || b >= this.batches.length) return null;
    let p = this.pending.get(b);
    if (!p) {
      const ids = this.batches[b]!.map((i) => this.entries[i]!.messageId);
      const store = this.session.store;
      p = store.lendMessages ? store.lendMessages(ids) : store.readMessages!(ids).then((bytes) => ({ bytes, release: () => undefined }));
      p.catch(() => undefined);
      this.pending.set(b, p);
    }
    return p;
  }

  /**
   * True when entry i's bytes are lent (read into a reused buffer): they are valid until done(i)
   * and must be copied, not handed to the socket as they are.
   */
  borrowed(i: number): boolean {
    return this.batchOf[i]! >= 0;
  }

  /** Entry i is written: the last entry of a batch gives the batch's buffer back. */
  done(i: number): void {
    const b = this.batchOf[i] ?? -1;
    if (b < 0 || i !== this.batches[b]![this.batches[b]!.length - 1]) return;
    this.giveBack(b);
  }

  private giveBack(b: number): void {
    const p = this.pending.get(b);
    if (!p) return;
    this.pending.delete(b);
    p.then(
      (l) => l.release(),
      () => undefined,
    );
  }

  /** Gives back every batch read (or being read) and not yet written. */
  close(): void {
    for (const b of [...this.pending.keys()]) this.giveBack(b);
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
    // This batch first, then the ones ahead (asked for after them, the first batch waited behind the
    // second on the same read thread: twice a batch's read before the first byte, issue 18 cold);
    // single reads a few entries ahead.
    const b = this.batchOf[i]!;
    if (b >= 0) for (let k = 0; k <= BATCHES_AHEAD; k++) this.loadBatch(b + k);
    for (let k = i + 1; k <= i + READ_AHEAD && k < this.entries.length; k++) this.loadSingle(k);
    const e = this.entries[i]!;
    try {
      if (b >= 0) {
        const full = (await this.loadBatch(b)!).bytes.get(e.messageId);
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
  // FETCH 1:* of flags alone (issue 18): the whole view, not resolved into an array of every UID.
  const all = !byUid && !plan.setsSeen && flagsOnly(items) && sel.view.takesAllSeqs(ranges);
  const uids = all ? null : byUid ? sel.view.resolveUid(ranges) : sel.view.resolveSeq(ranges);
  if (vanished) await reportVanished(session, sel, ranges, changedSince!);
  if (!plan.setsSeen && (await fetchFlags(session, sel, items, uids, changedSince))) return;
  if (!uids) return; // (flags alone: answered above)
  let entries = await entriesFor(session, sel, uids);
  if (changedSince !== null) entries = entries.filter((e) => e.modseq > changedSince);
  if (!entries.length) return;

  const flagsChanged = new Set<number>();
  if (plan.setsSeen && !sel.readOnly) entries = await markSeen(session, sel, entries, flagsChanged);
  // ENVELOPE alone: its texts (a large folder's compact copy after a start, issue 18), not every message's meta.
  const envelopes =
    plan.envelopeOnly && session.store.envelopeTexts
      ? await session.store.envelopeTexts(
          sel.folder.id,
          entries.map((e) => e.messageId),
        )
      : null;
  const metas = plan.needMeta && !envelopes ? await session.store.getMeta(entries.map((e) => e.messageId)) : null;
  if (metas) checkBinaryEncodings(metas, plan.items, entries);
  await writeResponses(session, sel, items, entries, metas, flagsChanged, envelopes);
}

/** The text of an item that needs neither message bytes nor a read: everything but PREVIEW and sections. */
function itemText(session: ImapSession, sel: SelectedMailbox, kind: Exclude<SimpleItem, 'PREVIEW'>, e: MessageEntry, meta: MessageMeta | null, envelopes: Map<number, string> | null): string {
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
      if (envelopes) return `ENVELOPE ${envelopes.get(e.messageId) ?? EMPTY_ENVELOPE}`;
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
async function writeWithLiterals(session: ImapSession, parts: Array<string | LiteralPart>, tail: string, borrowed: boolean): Promise<void> {
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
    // lent bytes (or a view of them) are copied: the socket may hold what it is given after this returns
    await session.writeAndWait(borrowed ? Buffer.from(bytes) : bytes);
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

/** Output buffers kept for reuse by every FETCH of the process (a fresh buffer's pages cost a fault each on first touch). */
const SLAB_BYTES = 128 * 1024;
const SPARE_SLABS = 16;
const spareSlabs: Buffer[] = [];

function takeSlab(): Buffer {
  return spareSlabs.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES);
}

function returnSlab(slab: Buffer): void {
  if (spareSlabs.length < SPARE_SLABS) spareSlabs.push(slab);
}

/**
 * Output gathered into writes of up to 128 KiB: one TLS record run and one system call for many
 * small responses instead of three per message (issue 18: FETCH BODY[] of 1,000 messages). Text
 * and literals are copied into one of two reused buffers (issue 18: a new buffer per write,
 * Buffer.concat, cost more in page faults than the copy itself), written while the other fills;
 * a buffer is filled again only once the socket is done with it. A literal larger than a buffer
 * goes on its own, unless it is lent (it then goes through the buffers in pieces). `add` returns
 * a promise only when it wrote (the caller awaits then, and no promise otherwise).
 */
class Coalescer {
  private slab: Buffer | null = null;
  private used = 0;
  /** The other buffer and the write that still holds it. */
  private spare: { slab: Buffer; done: Promise<void> } | null = null;

  constructor(private readonly session: ImapSession) {}

  add(chunk: string | Buffer, borrowed = false): Promise<void> | null {
    const slab = (this.slab ??= takeSlab());
    if (typeof chunk === 'string') {
      // at most 3 bytes per UTF-16 unit: a short text is known to fit without measuring it
      const room = SLAB_BYTES - this.used;
      if (chunk.length * 3 <= room || Buffer.byteLength(chunk) <= room) {
        this.used += slab.write(chunk, this.used, 'utf8');
        return null;
      }
      return this.flush().then(() => this.addLarge(Buffer.from(chunk, 'utf8')) ?? undefined);
    }
    if (chunk.length <= SLAB_BYTES - this.used) {
      chunk.copy(slab, this.used);
      this.used += chunk.length;
      return null;
    }
    if (borrowed) return this.addInPieces(chunk);
    return this.flush().then(() => this.addLarge(chunk) ?? undefined);
  }

  /** After a flush: a chunk that fits goes into the (empty) buffer, a larger one is written as it is. */
  private addLarge(chunk: Buffer): Promise<void> | null {
    if (chunk.length <= SLAB_BYTES) return this.add(chunk);
    return this.session.writeAndWait(chunk);
  }

  /**
   * Lent bytes that do not fit the room left go through the reused buffers a piece at a time,
   * each buffer filled and written before the next piece (issue 18, FETCH BODY[] of 1,000: a
   * fresh copy of each lent message over 128 KiB cost more in page faults than the copy itself).
   */
  private async addInPieces(chunk: Buffer): Promise<void> {
    let off = 0;
    for (;;) {
      const slab = (this.slab ??= takeSlab());
      const n = Math.min(chunk.length - off, SLAB_BYTES - this.used);
      chunk.copy(slab, this.used, off, off + n);
      this.used += n;
      off += n;
      if (off === chunk.length) return;
      await this.flush();
      if (this.session.isClosed) return;
    }
  }

  /** Writes what was gathered; resolves when more may be added (the other buffer is free, the client is reading). */
  async flush(): Promise<void> {
    if (!this.slab || !this.used) return;
    const slab = this.slab;
    const done = this.session.writeOwned(slab.subarray(0, this.used));
    this.slab = null;
    this.used = 0;
    const spare = this.spare;
    this.spare = { slab, done };
    if (spare) {
      if (!this.session.isClosed) await spare.done;
      this.slab = spare.slab;
    }
    if (!this.session.isClosed) await this.session.drain();
  }

  /** Writes the rest; the buffers go back for reuse once the socket is done with them. */
  async end(): Promise<void> {
    await this.flush();
    if (this.slab) returnSlab(this.slab);
    this.slab = null;
    const spare = this.spare;
    this.spare = null;
    if (spare) void spare.done.then(() => returnSlab(spare.slab));
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

/** What every response of one FETCH shares. */
interface ResponseContext {
  session: ImapSession;
  sel: SelectedMailbox;
  items: FetchItem[];
  metas: Map<number, MessageMeta> | null;
  /** ENVELOPE texts by message id when only ENVELOPE needed the meta (metas is null then). */
  envelopes: Map<number, string> | null;
  flagsChanged: Set<number>;
  hasFlagsItem: boolean;
  out: Coalescer;
  /** Some item needs a read or a decode before its text (writeResponseAwaiting). */
  awaits: boolean;
  /** FLAGS text by flag list (the index's lists are shared by the entries that have them). */
  flagTexts: Map<readonly string[], string>;
}

/**
 * Writes the `* n FETCH (...)` responses, gathered and written in chunks of up to 128 KiB (with
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
  envelopes: Map<number, string> | null = null,
): Promise<void> {
  const sections = items.filter((i): i is SectionItem => i.kind === 'section');
  const hasFlagsItem = items.some((i) => i.kind === 'FLAGS');
  if (hasFlagsItem || flagsChanged.size)
    sel.announceKeywords(
      session,
      entries.map((e) => e.flags),
    );
  const bodies = new BodyLoader(session, entries, metas, sections);
  const ctx: ResponseContext = { session, sel, items, metas, envelopes, flagsChanged, hasFlagsItem, out: new Coalescer(session), awaits: awaitsItems(items), flagTexts: new Map() };
  const seqs = seqsOf(sel, entries);
  try {
    for (let i = 0; i < entries.length; i++) {
      if (session.isClosed) return;
      const seq = seqs[i]!;
      if (!seq) continue;
      let data: SectionData[] | null = null;
      try {
        if (sections.length) {
          data = await bodies.get(i);
          if (!data) continue; // the message vanished (expunged elsewhere): skip it
        }
        const written = writeResponse(ctx, entries[i]!, seq, data, bodies.borrowed(i));
        if (written) await written;
      } finally {
        bodies.done(i); // its bytes were copied into the output (or written): the read buffer goes back
      }
    }
    await ctx.out.end();
  } finally {
    bodies.close();
  }
}

/** Items whose text needs a read or a decode (PREVIEW of an older message, BINARY.SIZE): their responses are built asynchronously. */
function awaitsItems(items: FetchItem[]): boolean {
  return items.some((i) => i.kind === 'PREVIEW' || (i.kind === 'section' && i.binary?.size));
}

/** FLAGS of an entry, each distinct (shared) flag list formatted once per FETCH unless the message is \Recent here. */
function flagsText(ctx: ResponseContext, e: MessageEntry): string {
  if (ctx.sel.recent.has(e.uid)) return ctx.sel.formatFlags(e.uid, e.flags);
  let text = ctx.flagTexts.get(e.flags);
  if (text === undefined) ctx.flagTexts.set(e.flags, (text = ctx.sel.formatFlags(e.uid, e.flags)));
  return text;
}

/**
 * One `* n FETCH (...)` response; `borrowed`: the section bytes are lent (copied, never written
 * as they are). Issue 18: built and gathered synchronously (no promise per message) unless an
 * item needs a read (ctx.awaits: its text is awaited first) or the output must wait for the
 * client; a promise then.
 */
function writeResponse(ctx: ResponseContext, e: MessageEntry, seq: number, data: SectionData[] | null, borrowed: boolean): Promise<void> | null {
  if (!ctx.awaits) return buildResponse(ctx, e, seq, data, borrowed, null);
  return awaitedTexts(ctx, e, data).then((awaited) => buildResponse(ctx, e, seq, data, borrowed, awaited) ?? undefined);
}

/** The response's text and literals; `awaited[k]`: the text of item k when it needed a read or a decode. */
function buildResponse(ctx: ResponseContext, e: MessageEntry, seq: number, data: SectionData[] | null, borrowed: boolean, awaited: ReadonlyArray<string | undefined> | null): Promise<void> | null {
  const { session, items } = ctx;
  const meta = ctx.metas?.get(e.messageId) ?? null;
  let parts: Array<string | LiteralPart> | null = null;
  let text = `* ${seq} FETCH (`;
  let sectionIndex = 0;
  for (let k = 0; k < items.length; k++) {
    const item = items[k]!;
    if (k) text += ' ';
    const ready = awaited?.[k];
    if (item.kind === 'section') {
      const section = data?.[sectionIndex++] ?? Buffer.alloc(0);
      if (ready !== undefined) text += ready;
      else {
        (parts ??= []).push(text, literalPart(item, section, meta));
        text = '';
      }
    } else if (ready !== undefined) text += ready;
    else if (item.kind === 'FLAGS') text += `FLAGS ${flagsText(ctx, e)}`;
    else if (item.kind !== 'PREVIEW') text += itemText(session, ctx.sel, item.kind, e, meta, ctx.envelopes);
  }
  return finishResponse(ctx, e, parts, text, borrowed);
}

/** The texts of the items that need a read or a decode (PREVIEW of an older message, BINARY.SIZE), by item. */
async function awaitedTexts(ctx: ResponseContext, e: MessageEntry, data: SectionData[] | null): Promise<Array<string | undefined>> {
  const meta = ctx.metas?.get(e.messageId) ?? null;
  const out = new Array<string | undefined>(ctx.items.length);
  let sectionIndex = 0;
  for (let k = 0; k < ctx.items.length; k++) {
    const item = ctx.items[k]!;
    if (item.kind === 'PREVIEW') {
      // RFC 8970 3: computed at ingest; older messages get theirs from the bytes
      out[k] = `PREVIEW ${nstring(meta ? (meta.preview ?? (await previewFromBytes(ctx.session, e.messageId, meta))) : null)}`;
    } else if (item.kind === 'section') {
      const section = data?.[sectionIndex++] ?? Buffer.alloc(0);
      if (item.binary?.size) out[k] = `${item.label} ${await binarySize(item, section, meta)}`;
    }
  }
  return out;
}

/** Ends a response (FLAGS of an implicit \Seen) and gathers it, or writes it on its own when a literal must be read first. */
function finishResponse(ctx: ResponseContext, e: MessageEntry, parts: Array<string | LiteralPart> | null, text: string, borrowed: boolean): Promise<void> | null {
  if (ctx.flagsChanged.size && ctx.flagsChanged.has(e.uid) && !ctx.hasFlagsItem) text += ` FLAGS ${ctx.sel.formatFlags(e.uid, e.flags)}`;
  text += ')\r\n';
  if (!parts) return ctx.out.add(text, borrowed);
  const inline = inlineResponse(parts, text);
  if (inline) return addAll(ctx.out, inline, borrowed, 0);
  const written = parts;
  return ctx.out.flush().then(() => writeWithLiterals(ctx.session, written, text, borrowed));
}

/** Gathers chunks in order; a promise only when one of them had to wait for a write. */
function addAll(out: Coalescer, chunks: Array<string | Buffer>, borrowed: boolean, from: number): Promise<void> | null {
  for (let k = from; k < chunks.length; k++) {
    const written = out.add(chunks[k]!, borrowed);
    if (written) return written.then(() => addAll(out, chunks, borrowed, k + 1) ?? undefined);
  }
  return null;
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
