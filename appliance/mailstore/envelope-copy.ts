/**
 * A large folder's envelope copy (table folder_envelope_chunks, migration 0061): per message its
 * ENVELOPE text as FETCH writes it, the header fields SEARCH reads (decoded Subject, the FROM/TO/
 * CC/BCC texts as search.ts addressFieldText makes them) and where its bytes are (blob id, header
 * prefix). Issue 18, fourteenth round: a fresh process's FETCH 1:* (FLAGS ENVELOPE) of 1,200
 * messages read 5.6-8.6 MB of a cold database file (every message's row, ~1.6 KB of meta JSON) for
 * 1.9 MB of meta; the thirteenth round's copy served FETCH only, so the SEARCH SUBJECT after it
 * read the rows instead. Now both read the copy, and the FETCH BODY after them its blob ids.
 *
 * A message never changes once stored, so the copy is keyed by message id and is never wrong,
 * only incomplete: what it lacks is read from the rows as before. It is kept in chunks, each
 * keyed by the smallest message id it holds: new messages of a folder that may be large are
 * added as a chunk of their own in the background from what the ingest already holds (a write,
 * no read), as are the rows a command had to read; a command that read a folder's chunks merges
 * them into one (those of its messages only: expunged ones drop out). A chunk whose key is taken
 * is not written (both hold the same message's same text).
 *
 * Chunk layout: u32 version, u32 n, n message ids (f64), FIELDS·n ends (u32, in UTF-16 code units
 * of the decoded text) of the fields in the UTF-8 text after them. Ids and ends are in the writing
 * machine's byte order, which the version tells (a node of the other order reads no chunk of it).
 */
import { endianness } from 'node:os';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { envelopeToString } from '../imap/bodystructure.js';
import { addressFieldText } from '../imap/search.js';
import type { StoredMessage } from './fulltext-backfill.js';
import type { MessageMeta } from './mime/types.js';

/** Layout 1; 0x100 set when the ids and ends are big-endian. */
const VERSION = endianness() === 'LE' ? 1 : 0x101;
/** envelope, subject, from, to, cc, bcc, blob id, header prefix. */
const FIELDS = 8;
export type AddressField = 'from' | 'to' | 'cc' | 'bcc';
const ADDRESS_AT: Record<AddressField, number> = { from: 2, to: 3, cc: 4, bcc: 5 };

/** A folder may hold this many messages before it gets a copy (smaller ones: their rows are a few pages). */
export const ENVELOPE_COPY_MIN_ENTRIES = 1000;
/** A folder's chunks are merged into one by the next command that read them all once there are more. */
export const ENVELOPE_COPY_MAX_CHUNKS = 8;
/** Messages of large folders' envelope copies held in memory (EnvelopeCopies.copyFor), at most. */
const ENVELOPE_HELD_MAX = 100_000;
/** A FETCH/SEARCH reads its folder's envelope copy when it lacks at least this many messages' texts (fewer: their rows). */
const ENVELOPE_COPY_READ_MIN = 200;
/** A command that read at least this many rows of a large folder's messages writes them as a chunk of its copy. */
const ENVELOPE_COPY_WRITE_MIN = 32;
/** How long after such a command its rows are written (formatted and encoded a few per turn). */
const ENVELOPE_WRITE_BEHIND_MS = 2000;
/** New messages waiting to go into their folder's copy (their meta as the ingest held it), at most, and when they go. */
const ENVELOPE_NEW_MAX = 4096;
const ENVELOPE_NEW_QUIET_MS = 1000;
const ENVELOPE_NEW_MAX_MS = 10_000;
/**
 * A folder whose waiting messages are all below UID ENVELOPE_COPY_MIN_ENTRIES keeps them while
 * they come less than this far apart (a burst: an import, a client's APPENDs in a row), so that a
 * folder filled past it at once gets all of them in its chunk; after a quiet moment this long they
 * are dropped (their folder may never get large).
 */
const ENVELOPE_NEW_SMALL_QUIET_MS = 10_000;
/** A chunk of new messages this process wrote takes the next new messages of its folder while it holds fewer (each time rewritten whole). */
const ENVELOPE_NEW_CHUNK_MAX = 256;

/** What the copy holds of a message. */
export interface EnvelopeRow {
  messageId: number;
  envelope: string;
  subject: string;
  from: string;
  to: string;
  cc: string;
  bcc: string;
  blobId: string;
  headerPrefix: string | null;
}

/** The ENVELOPE text FETCH writes of a message's meta. */
export function envelopeText(meta: MessageMeta): string {
  return envelopeToString(meta.envelope);
}

/** Where a message's bytes are: its blob and the header lines stored before it. */
export type BlobRef = { id: number | bigint; blob_id: string; header_prefix: string | null };

/** A message's row of the copy from its meta (the texts FETCH and SEARCH make of it). */
export function envelopeRow(messageId: number, meta: MessageMeta, blobId: string, headerPrefix: string | null): EnvelopeRow {
  return {
    messageId,
    envelope: envelopeToString(meta.envelope),
    subject: meta.subject ?? '',
    from: addressFieldText(meta, 'from'),
    to: addressFieldText(meta, 'to'),
    cc: addressFieldText(meta, 'cc'),
    bcc: addressFieldText(meta, 'bcc'),
    blobId,
    headerPrefix: headerPrefix || null,
  };
}

/** A decoded chunk: its ids and the fields as slices of one decoded text. */
export class EnvelopeChunk {
  constructor(
    readonly key: number,
    readonly ids: Float64Array,
    private readonly ends: Uint32Array,
    private readonly text: string,
  ) {}

  get length(): number {
    return this.ids.length;
  }

  field(i: number, k: number): string {
    const j = i * FIELDS + k;
    return this.text.slice(j ? this.ends[j - 1]! : 0, this.ends[j]!);
  }

  envelope(i: number): string {
    return this.field(i, 0);
  }

  subject(i: number): string {
    return this.field(i, 1);
  }

  address(i: number, f: AddressField): string {
    return this.field(i, ADDRESS_AT[f]);
  }

  row(i: number): EnvelopeRow {
    const prefix = this.field(i, 7);
    return {
      messageId: this.ids[i]!,
      envelope: this.field(i, 0),
      subject: this.field(i, 1),
      from: this.field(i, 2),
      to: this.field(i, 3),
      cc: this.field(i, 4),
      bcc: this.field(i, 5),
      blobId: this.field(i, 6),
      headerPrefix: prefix === '' ? null : prefix,
    };
  }
}

export function encodeChunk(rows: ReadonlyArray<EnvelopeRow>): Buffer {
  const n = rows.length;
  const ids = new Float64Array(n);
  const ends = new Uint32Array(FIELDS * n);
  const parts: string[] = new Array(FIELDS * n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    ids[i] = r.messageId;
    const j = FIELDS * i;
    parts[j] = r.envelope;
    parts[j + 1] = r.subject;
    parts[j + 2] = r.from;
    parts[j + 3] = r.to;
    parts[j + 4] = r.cc;
    parts[j + 5] = r.bcc;
    parts[j + 6] = r.blobId;
    parts[j + 7] = r.headerPrefix ?? '';
    for (let k = 0; k < FIELDS; k++) ends[j + k] = at += parts[j + k]!.length;
  }
  const head = Buffer.alloc(8);
  head.writeUInt32LE(VERSION, 0);
  head.writeUInt32LE(n, 4);
  return Buffer.concat([head, Buffer.from(ids.buffer), Buffer.from(ends.buffer), Buffer.from(parts.join(''), 'utf8')]);
}

/** The chunk in `buf`, or null when it is not one this code wrote (another version, cut short). */
export function decodeChunk(key: number, buf: Buffer): EnvelopeChunk | null {
  try {
    if (buf.length < 8 || buf.readUInt32LE(0) !== VERSION) return null;
    const n = buf.readUInt32LE(4);
    const textAt = 8 + 8 * n + 4 * FIELDS * n;
    if (textAt > buf.length) return null;
    // Copied out (a Buffer from the driver need not be aligned for typed-array views).
    const ids = new Float64Array(n);
    Buffer.from(ids.buffer).set(buf.subarray(8, 8 + 8 * n));
    const ends = new Uint32Array(FIELDS * n);
    Buffer.from(ends.buffer).set(buf.subarray(8 + 8 * n, textAt));
    const text = buf.toString('utf8', textAt);
    if ((n ? ends[FIELDS * n - 1]! : 0) !== text.length) return null;
    return new EnvelopeChunk(key, ids, ends, text);
  } catch {
    return null;
  }
}

/** Where a message of a folder's copy is: a chunk and its place, or a row held in memory. */
type Held = EnvelopeChunk | EnvelopeRow;

/** The copy of one folder held in memory: chunks read or written, and rows not written yet. */
export class FolderEnvelopes {
  /** Chunk and place by message id (rows: the row itself). */
  private readonly at = new Map<number, { c: Held; i: number }>();
  /** Keys of the chunks of the table this copy read or wrote. */
  readonly chunkKeys = new Set<number>();
  /** Whether the table's chunks were read (once per process). */
  loaded = false;

  get size(): number {
    return this.at.size;
  }

  has(id: number): boolean {
    return this.at.has(id);
  }

  ids(): IterableIterator<number> {
    return this.at.keys();
  }

  addChunk(c: EnvelopeChunk): void {
    this.chunkKeys.add(c.key);
    for (let i = 0; i < c.length; i++) if (!this.at.has(c.ids[i]!)) this.at.set(c.ids[i]!, { c, i });
  }

  addRow(r: EnvelopeRow): void {
    this.at.set(r.messageId, { c: r, i: -1 });
  }

  envelope(id: number): string | undefined {
    const h = this.at.get(id);
    if (!h) return undefined;
    return h.i < 0 ? (h.c as EnvelopeRow).envelope : (h.c as EnvelopeChunk).envelope(h.i);
  }

  subject(id: number): string | undefined {
    const h = this.at.get(id);
    if (!h) return undefined;
    return h.i < 0 ? (h.c as EnvelopeRow).subject : (h.c as EnvelopeChunk).subject(h.i);
  }

  address(id: number, f: AddressField): string | undefined {
    const h = this.at.get(id);
    if (!h) return undefined;
    return h.i < 0 ? (h.c as EnvelopeRow)[f] : (h.c as EnvelopeChunk).address(h.i, f);
  }

  row(id: number): EnvelopeRow | undefined {
    const h = this.at.get(id);
    if (!h) return undefined;
    return h.i < 0 ? (h.c as EnvelopeRow) : (h.c as EnvelopeChunk).row(h.i);
  }
}

/** Rows encoded per turn of the event loop when a chunk is made in the background. */
const ROWS_PER_TURN = 50;

/** Reading and writing the chunks; `write` runs a statement on the store's write path (in the background). */
export function envelopeChunkTable(db: Kysely<DB>, write: (fn: (trx: Kysely<DB>) => Promise<void>) => Promise<void>) {
  return {
    /** Every chunk of the folder (one statement); chunks this code cannot read are left out. */
    async load(folderId: number): Promise<EnvelopeChunk[]> {
      const rows = await db.selectFrom('folder_envelope_chunks').select(['chunk', 'data']).where('folder_id', '=', folderId).execute();
      const out: EnvelopeChunk[] = [];
      for (const r of rows) {
        const c = decodeChunk(Number(r.chunk), r.data);
        if (c) out.push(c);
      }
      return out;
    },
    /**
     * Writes `rows` (made a batch per turn by `make`) as one chunk, removing the chunks `replaces`
     * (a merge) in the same transaction. The chunk is the decoded one the caller keeps, or null.
     */
    async save(folderId: number, ids: number[], make: (id: number) => EnvelopeRow | undefined, replaces: number[] = []): Promise<EnvelopeChunk | null> {
      const rows: EnvelopeRow[] = [];
      for (let i = 0; i < ids.length; i++) {
        const r = make(ids[i]!);
        if (r) rows.push(r);
        if (i % ROWS_PER_TURN === ROWS_PER_TURN - 1) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (!rows.length) return null;
      rows.sort((a, b) => a.messageId - b.messageId);
      const data = encodeChunk(rows);
      const key = rows[0]!.messageId;
      await write(async (trx) => {
        if (replaces.length) await trx.deleteFrom('folder_envelope_chunks').where('folder_id', '=', folderId).where('chunk', 'in', replaces).execute();
        await trx
          .insertInto('folder_envelope_chunks')
          .values({ folder_id: folderId, chunk: key, entries: rows.length, data })
          .onConflict((oc) => oc.columns(['folder_id', 'chunk']).doNothing())
          .execute();
      });
      return decodeChunk(key, data);
    },
  };
}

/** What the envelope copies take of the store: its database, its write path and what it keeps of messages. */
export interface EnvelopeCopiesDeps {
  db: Kysely<DB>;
  /** Runs a statement on the store's write path (in the background, not durable). */
  write: (fn: (trx: Kysely<DB>) => Promise<void>) => Promise<void>;
  /** The store's cached meta by message id (read only here). */
  metaCache: ReadonlyMap<number, MessageMeta>;
  /** Where the bytes of messages are (the store's, set and dropped here too). */
  blobRefs: Map<number, BlobRef>;
  /** The store's getMeta: the meta of messages, from its cache or their rows. */
  getMeta(messageIds: number[]): Promise<Map<number, MessageMeta>>;
}

/**
 * The store's bookkeeping of large folders' envelope copies (issue 18): the copies held in
 * memory (most recently used last, ENVELOPE_HELD_MAX messages at most), the rows a command had to
 * read written as a chunk a moment after its answer, and new messages waiting to go in as a chunk
 * of their folder from what the ingest held.
 */
export class EnvelopeCopies {
  /** Large folders' envelope copies held in memory, most recently used last. */
  private readonly copies = new Map<number, FolderEnvelopes>();
  private readonly chunks: ReturnType<typeof envelopeChunkTable>;
  /** New messages by folder since its copy was written, with the highest UID among them and when they came (first, last). */
  private readonly pending = new Map<number, { messages: StoredMessage[]; maxUid: number; first: number; last: number }>();
  private pendingCount = 0;
  /** When the waiting messages of quiet folders that may not be large were last dropped. */
  private swept = 0;
  /** The chunk of new messages this process wrote last for a folder, while small: the next new messages join it. */
  private readonly newChunk = new Map<number, EnvelopeChunk>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: EnvelopeCopiesDeps) {
    this.chunks = envelopeChunkTable(deps.db, deps.write);
  }

  /** New messages whose meta is held, waiting to go into their folders' copies. */
  get waiting(): number {
    return this.pendingCount;
  }

  /**
   * The folder's envelope copy held in memory; read (one statement, once per process) when the
   * command asks for a large folder's messages and lacks many of them in the cached meta.
   */
  async copyFor(folderId: number, messageIds: number[]): Promise<FolderEnvelopes | null> {
    let copy = this.copies.get(folderId) ?? null;
    if (copy) {
      this.copies.delete(folderId); // most recently used last
      this.copies.set(folderId, copy);
    }
    if (copy?.loaded || messageIds.length < ENVELOPE_COPY_MIN_ENTRIES) return copy;
    let lacking = 0;
    for (const id of messageIds) if (!copy?.has(id) && !this.deps.metaCache.has(id) && ++lacking >= ENVELOPE_COPY_READ_MIN) break;
    if (lacking < ENVELOPE_COPY_READ_MIN) return copy;
    const chunks = await this.chunks.load(folderId).catch(() => []);
    copy = this.held(folderId);
    copy.loaded = true;
    for (const c of chunks) copy.addChunk(c);
    this.trim();
    // Where the bytes are, as if the meta had been read: FETCH BODY after the ENVELOPE list looks no rows up.
    for (const id of messageIds) {
      if (this.deps.blobRefs.has(id)) continue;
      const r = copy.row(id);
      if (r) this.deps.blobRefs.set(id, { id, blob_id: r.blobId, header_prefix: r.headerPrefix ?? '' });
    }
    return copy;
  }

  /** A copy read in many chunks: the command that asked for its messages merges them (readMeta). */
  mergeDue(copy: FolderEnvelopes | null): boolean {
    return !!copy && copy.loaded && copy.chunkKeys.size > ENVELOPE_COPY_MAX_CHUNKS;
  }

  private held(folderId: number): FolderEnvelopes {
    let copy = this.copies.get(folderId);
    if (!copy) this.copies.set(folderId, (copy = new FolderEnvelopes()));
    return copy;
  }

  /** Keeps ENVELOPE_HELD_MAX messages of copies at most (the least recently used folders' go first, with where their bytes are). */
  private trim(): void {
    let held = 0;
    for (const c of this.copies.values()) held += c.size;
    for (const [folderId, c] of this.copies) {
      if (held <= ENVELOPE_HELD_MAX || this.copies.size === 1) break;
      held -= c.size;
      this.copies.delete(folderId);
      for (const id of c.ids()) if (!this.deps.metaCache.has(id)) this.deps.blobRefs.delete(id);
    }
  }

  /**
   * getMeta of the messages a large folder's copy lacks; when they are many, they go into the copy
   * as a chunk a moment after the answer (what was read, no other read), and a copy of many chunks that
   * now holds every message asked for is merged into one (those messages only).
   */
  async readMeta(folderId: number, messageIds: number[], missing: number[]): Promise<Map<number, MessageMeta>> {
    const metas = await this.deps.getMeta(missing);
    if (messageIds.length < ENVELOPE_COPY_MIN_ENTRIES) return metas;
    const copy = this.copies.get(folderId);
    const merge = !!copy && copy.loaded && copy.chunkKeys.size + (metas.size >= ENVELOPE_COPY_WRITE_MIN ? 1 : 0) > ENVELOPE_COPY_MAX_CHUNKS;
    if (metas.size < ENVELOPE_COPY_WRITE_MIN && !merge) return metas;
    const ids = merge ? messageIds.slice() : [...metas.keys()];
    const rows = new Map<number, EnvelopeRow>();
    const make = (id: number): EnvelopeRow | undefined => {
      const held = this.copies.get(folderId)?.row(id);
      if (held) return held;
      const meta = metas.get(id) ?? this.deps.metaCache.get(id);
      const ref = this.deps.blobRefs.get(id);
      if (!meta || !ref) return undefined;
      const r = envelopeRow(id, meta, ref.blob_id, ref.header_prefix);
      rows.set(id, r);
      return r;
    };
    const replaces = merge ? [...copy!.chunkKeys] : [];
    // Later, not right after the answer: a fresh process's first rows cost ~0.15 ms each to format
    // (code not compiled yet), which landed in the session's next commands (FETCH BODY, SEARCH).
    const later = setTimeout(() => {
      void this.chunks
        .save(folderId, ids, make, replaces)
        .then((chunk) => {
          const held = this.copies.get(folderId);
          if (!held || !chunk) return;
          for (const k of replaces) held.chunkKeys.delete(k);
          held.addChunk(chunk);
        })
        .catch(() => undefined);
    }, ENVELOPE_WRITE_BEHIND_MS);
    later.unref();
    return metas;
  }

  /**
   * A message committed to a folder (ingest.ts): what the ingest holds of it waits in memory to
   * go into the folder's envelope copy as a chunk once the folder may hold ENVELOPE_COPY_MIN_ENTRIES
   * messages (its UID is that high: a folder holds no more messages than its highest UID) and no
   * new message came for a moment (at most ENVELOPE_NEW_MAX_MS after the first). No read: a
   * folder's first messages, a burst of APPENDs or deliveries, cost one write in the background.
   * Those of a folder below that UID are dropped once quiet for ENVELOPE_NEW_SMALL_QUIET_MS (looked
   * at here, once a second at most): small folders' deliveries keep no meta held for long.
   */
  stored(folderId: number, uid: number, m: StoredMessage): void {
    const now = Date.now();
    if (now - this.swept >= ENVELOPE_NEW_QUIET_MS) {
      this.swept = now;
      for (const [id, d] of this.pending) {
        if (d.maxUid >= ENVELOPE_COPY_MIN_ENTRIES || now - d.last < ENVELOPE_NEW_SMALL_QUIET_MS) continue;
        this.pending.delete(id);
        this.pendingCount -= d.messages.length;
      }
    }
    let due = this.pending.get(folderId);
    if (!due) this.pending.set(folderId, (due = { messages: [], maxUid: 0, first: now, last: now }));
    // Not the bytes the ingest may hold (the meta is what the copy is made of).
    due.messages.push({ id: m.id, blobId: m.blobId, prefix: m.prefix, meta: m.meta });
    due.maxUid = Math.max(due.maxUid, uid);
    due.last = now;
    this.pendingCount++;
    // The folders that waited longest give theirs up first.
    for (const [id, d] of this.pending) {
      if (this.pendingCount <= ENVELOPE_NEW_MAX || id === folderId) break;
      this.pending.delete(id);
      this.pendingCount -= d.messages.length;
    }
    if (due.maxUid >= ENVELOPE_COPY_MIN_ENTRIES && !this.timer) {
      this.timer = setTimeout(() => this.saveNew(), ENVELOPE_NEW_QUIET_MS);
      this.timer.unref();
    }
  }

  /** Writes the waiting new messages of the folders that may be large and were quiet since, one folder at a time. */
  private saveNew(): void {
    this.timer = null;
    const now = Date.now();
    const ready: Array<[number, StoredMessage[]]> = [];
    let waiting = false;
    for (const [folderId, due] of this.pending) {
      if (due.maxUid < ENVELOPE_COPY_MIN_ENTRIES) continue;
      if (now - due.last < ENVELOPE_NEW_QUIET_MS && now - due.first < ENVELOPE_NEW_MAX_MS) {
        waiting = true;
        continue;
      }
      this.pending.delete(folderId);
      this.pendingCount -= due.messages.length;
      ready.push([folderId, due.messages]);
    }
    void (async () => {
      for (const [folderId, messages] of ready) {
        // The last small chunk of new messages this process wrote takes these too (a chunk per ENVELOPE_NEW_CHUNK_MAX new messages or so).
        const last = this.newChunk.get(folderId);
        const byId = new Map<number, StoredMessage>();
        for (const m of messages) byId.set(m.id, m);
        const ids = last ? [...last.ids, ...byId.keys()] : [...byId.keys()];
        const make = (id: number): EnvelopeRow | undefined => {
          const m = byId.get(id);
          if (m) return envelopeRow(id, m.meta, m.blobId, m.prefix);
          const i = last ? last.ids.indexOf(id) : -1;
          return i >= 0 ? last!.row(i) : undefined;
        };
        try {
          const chunk = await this.chunks.save(folderId, ids, make, last ? [last.key] : []);
          this.newChunk.delete(folderId);
          if (chunk && chunk.length < ENVELOPE_NEW_CHUNK_MAX) this.newChunk.set(folderId, chunk);
          while (this.newChunk.size > 256) this.newChunk.delete(this.newChunk.keys().next().value!);
          const held = this.copies.get(folderId);
          if (held && chunk) {
            if (last) held.chunkKeys.delete(last.key);
            held.addChunk(chunk);
          }
        } catch {
          /* a copy not written costs only speed */
        }
      }
    })().finally(() => {
      if ((waiting || this.pending.size) && !this.timer && [...this.pending.values()].some((d) => d.maxUid >= ENVELOPE_COPY_MIN_ENTRIES)) {
        this.timer = setTimeout(() => this.saveNew(), ENVELOPE_NEW_QUIET_MS);
        this.timer.unref();
      }
    });
  }
}
