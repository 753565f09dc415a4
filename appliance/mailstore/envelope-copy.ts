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

/** What SEARCH of FROM/TO/CC/BCC looks in (search.ts addressFieldText). */
export function addressText(meta: MessageMeta | null, field: AddressField): string {
  return addressFieldText(meta, field);
}

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
