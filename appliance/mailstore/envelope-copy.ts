/**
 * A compact copy of a large folder's ENVELOPE texts (table folder_envelopes, migration 0061), so
 * that the first FETCH 1:* (FLAGS ENVELOPE) after a start reads one row instead of every
 * message's row (issue 18, thirteenth round: 1,200 rows of ~1.6 KB of meta JSON each, spread
 * between the search index's rows, made SQLite and the kernel's read-ahead read 8 MB from a cold
 * disk and cost ~60 ms of CPU; the copy of the same folder is ~0.5 MB in one row).
 *
 * A message never changes once stored (its meta, blob and header prefix are written once), so
 * the copy is keyed by message id and is never wrong, only incomplete: messages added since it
 * was written are read from their rows as before, and ids no longer in the folder are never
 * asked for. Per message it holds the ENVELOPE text as FETCH writes it, and where the message's
 * bytes are (blob id, header prefix), so that a FETCH of bodies after the ENVELOPE list looks no
 * rows up either; a blob id that is gone (the blob store moved) makes the store look the rows up.
 *
 * Layout: u32 head length, the head (JSON {v, n}), padding to 8; n message ids (f64); 3n ends
 * (u32) of the texts (envelope, blob id, header prefix per message), in UTF-16 code units of the
 * UTF-8 text after them: the text is decoded with one call and each string is a slice of it
 * (a fresh process's decode of 1,200 messages by byte offsets, 3,600 buffer decodes, took 3-20 ms of CPU).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { envelopeToString } from '../imap/bodystructure.js';
import type { MessageMeta } from './mime/types.js';

const VERSION = 1;

/** Folders with fewer entries get no copy (their rows are a few pages). */
export const ENVELOPE_COPY_MIN_ENTRIES = 1000;

/** What the copy holds of a message. */
export interface EnvelopeRow {
  messageId: number;
  envelope: string;
  blobId: string;
  headerPrefix: string | null;
}

/** The ENVELOPE text of a message's meta (the same text FETCH writes from it). */
export function envelopeText(meta: MessageMeta): string {
  return envelopeToString(meta.envelope);
}

const pad8 = (len: number): number => (8 - (len % 8)) % 8;

/** `s` as it comes back from UTF-8: a lone surrogate becomes U+FFFD (as when FETCH writes it), so that its length is what is decoded. */
const wellFormed = (s: string): string => (/[\uD800-\uDFFF]/.test(s) ? Buffer.from(s, 'utf8').toString('utf8') : s);

export function encodeEnvelopes(rows: ReadonlyArray<EnvelopeRow>): Buffer {
  const n = rows.length;
  const head = Buffer.from(JSON.stringify({ v: VERSION, n }));
  const texts: string[] = new Array(3 * n);
  const ends = Buffer.alloc(12 * n);
  const ids = Buffer.alloc(8 * n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    ids.writeDoubleLE(r.messageId, 8 * i);
    const parts = [r.envelope, r.blobId, r.headerPrefix ?? ''];
    for (let k = 0; k < 3; k++) {
      // well-formed (a lone surrogate would not come back as itself from UTF-8, nor keep the offsets)
      const part = wellFormed(parts[k]!);
      texts[3 * i + k] = part;
      at += part.length;
      ends.writeUInt32LE(at, 4 * (3 * i + k));
    }
  }
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length, 0);
  return Buffer.concat([len, head, Buffer.alloc(pad8(4 + head.length)), ids, ends, Buffer.from(texts.join(''), 'utf8')]);
}

/** A decoded copy: its ids, and each message's strings decoded when asked for. */
export interface EnvelopeCopy {
  readonly length: number;
  id(i: number): number;
  row(i: number): EnvelopeRow;
}

/** The copy in `buf`, or null when it is not one this code wrote (another version, cut short). */
export function decodeEnvelopes(buf: Buffer): EnvelopeCopy | null {
  try {
    if (buf.length < 4) return null;
    const headLen = buf.readUInt32LE(0);
    const head = JSON.parse(buf.toString('utf8', 4, 4 + headLen)) as { v?: unknown; n?: unknown };
    if (head.v !== VERSION || typeof head.n !== 'number' || !Number.isInteger(head.n) || head.n < 0) return null;
    const n = head.n;
    const idsAt = 4 + headLen + pad8(4 + headLen);
    const endsAt = idsAt + 8 * n;
    const textAt = endsAt + 12 * n;
    if (textAt > buf.length) return null;
    // copied out (aligned) in two calls: no read per value
    const ids = new Float64Array(buf.buffer.slice(buf.byteOffset + idsAt, buf.byteOffset + endsAt));
    const ends = new Uint32Array(buf.buffer.slice(buf.byteOffset + endsAt, buf.byteOffset + textAt));
    const all = buf.toString('utf8', textAt);
    if (all.length !== (n ? ends[3 * n - 1]! : 0)) return null;
    const text = (j: number): string => all.slice(j ? ends[j - 1]! : 0, ends[j]!);
    return {
      length: n,
      id: (i) => ids[i]!,
      row: (i) => {
        const prefix = text(3 * i + 2);
        return { messageId: ids[i]!, envelope: text(3 * i), blobId: text(3 * i + 1), headerPrefix: prefix === '' ? null : prefix };
      },
    };
  } catch {
    return null;
  }
}

/** Position of each message id of the copy, by id. */
export function copyPositions(copy: EnvelopeCopy): Map<number, number> {
  const at = new Map<number, number>();
  for (let i = 0; i < copy.length; i++) at.set(copy.id(i), i);
  return at;
}

/** Rows read per statement (and per turn of the event loop) when a copy is brought up to date. */
const REFRESH_BATCH = 500;

/**
 * When a copy is written again: it lacks an entry of the folder and at least this many (a few
 * messages more are read from their rows by the FETCH that needs them: rewriting half a megabyte
 * for every new message would cost more than it saves), or it holds many messages no longer there.
 */
export function staleBy(lacking: number, extra: number, entries: number): boolean {
  return lacking > 0 && (lacking >= Math.max(32, entries / 64) || lacking === entries || extra > entries / 8);
}

/** Reading and writing the copies; `write` runs the statement on the store's write path. */
export function envelopeCopyTable(db: Kysely<DB>, write: (fn: (trx: Kysely<DB>) => Promise<void>) => Promise<void>) {
  const refreshing = new Map<number, Promise<void>>();
  const readRow = (folderId: number) => db.selectFrom('folder_envelopes').select(['entries', 'data']).where('folder_id', '=', folderId).executeTakeFirst();
  /** Writes a copy in place of `seen` (the bytes read, null: none), unless another writer replaced or wrote one since (then that one stays). */
  const replace = (folderId: number, entries: number, data: Buffer, seen: Buffer | null) =>
    write(async (trx) => {
      if (seen) await trx.updateTable('folder_envelopes').set({ entries, data }).where('folder_id', '=', folderId).where('data', '=', seen).execute();
      else
        await trx
          .insertInto('folder_envelopes')
          .values({ folder_id: folderId, entries, data })
          .onConflict((oc) => oc.column('folder_id').doNothing())
          .execute();
    });
  /** The rows of messages the copy lacks, read a batch per turn (their meta parsed, the envelope formatted). */
  const readRows = async (ids: number[]): Promise<EnvelopeRow[]> => {
    const out: EnvelopeRow[] = [];
    for (let i = 0; i < ids.length; i += REFRESH_BATCH) {
      const rows = await db
        .selectFrom('messages')
        .select(['id', 'meta', 'blob_id', 'header_prefix'])
        .where('id', 'in', ids.slice(i, i + REFRESH_BATCH))
        .execute();
      for (const r of rows) out.push({ messageId: Number(r.id), envelope: envelopeText(JSON.parse(r.meta) as MessageMeta), blobId: r.blob_id, headerPrefix: r.header_prefix || null });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return out;
  };
  const refreshNow = async (folderId: number, messageIds: ArrayLike<number>, known: (id: number) => EnvelopeRow | undefined): Promise<void> => {
    const n = messageIds.length;
    if (n < ENVELOPE_COPY_MIN_ENTRIES) return;
    const row = await readRow(folderId);
    const copy = row ? decodeEnvelopes(row.data) : null;
    const valid = copy && copy.length === Number(row!.entries) ? copy : null;
    const at = valid ? copyPositions(valid) : new Map<number, number>();
    const lacking: number[] = [];
    let held = 0;
    for (let i = 0; i < n; i++) {
      if (at.has(messageIds[i]!)) held++;
      else lacking.push(messageIds[i]!);
    }
    if (valid && !staleBy(lacking.length, valid.length - held, n)) return;
    const fresh = new Map<number, EnvelopeRow>();
    const unknown: number[] = [];
    for (const id of lacking) {
      const k = known(id);
      if (k) fresh.set(id, k);
      else unknown.push(id);
    }
    for (const r of await readRows(unknown)) fresh.set(r.messageId, r);
    const rows: EnvelopeRow[] = [];
    for (let i = 0; i < n; i++) {
      const id = messageIds[i]!;
      const p = at.get(id);
      const r = p !== undefined ? valid!.row(p) : fresh.get(id);
      if (r) rows.push(r); // a message expunged meanwhile has no row: left out
    }
    if (rows.length < ENVELOPE_COPY_MIN_ENTRIES) return;
    // Encoded here, not inside the write job: the write transaction stays short.
    await replace(folderId, rows.length, encodeEnvelopes(rows), row ? row.data : null);
  };
  return {
    /** The folder's copy as it is (a refresh running is not waited for: what the copy lacks is read from the rows), or null. */
    async load(folderId: number): Promise<EnvelopeCopy | null> {
      const row = await readRow(folderId);
      if (!row) return null;
      const copy = decodeEnvelopes(row.data);
      return copy && copy.length === Number(row.entries) ? copy : null;
    },
    /**
     * Brings the folder's copy up to date with its entries (`messageIds`, ascending UID) in the
     * background: written when there is none, when it lacks enough of them (staleBy), or when it
     * holds many messages no longer there. `known`: what the caller already holds of a message.
     */
    refresh(folderId: number, messageIds: ArrayLike<number>, known: (id: number) => EnvelopeRow | undefined): Promise<void> {
      const running = refreshing.get(folderId);
      if (running) return running;
      const done = refreshNow(folderId, messageIds, known)
        .catch(() => undefined)
        .finally(() => {
          if (refreshing.get(folderId) === done) refreshing.delete(folderId);
        });
      refreshing.set(folderId, done);
      return done;
    },
  };
}
