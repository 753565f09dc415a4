/**
 * A compact copy of a large folder's entries as of one MODSEQ (table folder_index_snapshots,
 * migration 0053), so that the first SELECT after a start reads one row and the change journal
 * since that MODSEQ instead of every entry row (issue 18: 100,000 rows through the driver cost
 * seconds). Columns of numbers in one binary value: per entry 48 bytes; flag lists are kept
 * once per distinct list. The folder index (folder-index.ts) trusts a copy only
 * when its MODSEQ is not above the folder's and the entry count after the catch-up matches the
 * folder's rows; anything else reads the rows as before.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { MessageEntry } from './store.types.js';
import { EntryColumns } from './entry-columns.js';

const VERSION = 1;
/** Float64 columns: messageId, modseq, internalDate, savedAt (NaN: null), size; Uint32: uid, flag list. */
const F64 = 5;
const U32 = 2;

export interface FolderSnapshot {
  modseq: number;
  entries: number;
  data: Buffer;
}

export function encodeEntries(entries: readonly MessageEntry[]): Buffer {
  return encodeColumns(EntryColumns.fromEntries(entries));
}

/** The copy of columns: the number columns as they are, and the flag lists in use (renumbered). */
export function encodeColumns(c: EntryColumns): Buffer {
  const n = c.length;
  const used = new Map<number, number>();
  const sets: string[] = [];
  const f = new Float64Array(n * F64);
  const u = new Uint32Array(n * U32);
  f.set(c.messageId.subarray(0, n), 0);
  f.set(c.modseq.subarray(0, n), n);
  f.set(c.internalDate.subarray(0, n), 2 * n);
  f.set(c.savedAt.subarray(0, n), 3 * n);
  f.set(c.size.subarray(0, n), 4 * n);
  u.set(c.uid.subarray(0, n), 0);
  for (let i = 0; i < n; i++) {
    const l = c.list[i]!;
    let s = used.get(l);
    if (s === undefined) {
      used.set(l, (s = sets.length));
      sets.push(c.lists[l]!.join(' '));
    }
    u[n + i] = s;
  }
  const head = Buffer.from(JSON.stringify({ v: VERSION, n, sets }));
  const len = Buffer.alloc(8);
  len.writeUInt32LE(head.length, 0);
  const pad = Buffer.alloc((8 - (head.length % 8)) % 8);
  return Buffer.concat([len, head, pad, Buffer.from(f.buffer), Buffer.from(u.buffer)]);
}

/** The entries of a copy (ascending UID), or null when it is not one this code wrote. */
export function decodeEntries(buf: Buffer): MessageEntry[] | null {
  return decodeColumns(buf)?.entries() ?? null;
}

/** The columns of a copy (one buffer copy, no per-entry object), or null when it is not one this code wrote. */
export function decodeColumns(buf: Buffer): EntryColumns | null {
  try {
    const hl = buf.readUInt32LE(0);
    const head = JSON.parse(buf.subarray(8, 8 + hl).toString()) as { v: number; n: number; sets: string[] };
    if (head.v !== VERSION || !Number.isInteger(head.n) || head.n < 0 || !Array.isArray(head.sets)) return null;
    const n = head.n;
    const at = 8 + hl + ((8 - (hl % 8)) % 8);
    if (buf.length !== at + n * (F64 * 8 + U32 * 4)) return null;
    // The columns are views of the buffer when it is aligned (a blob of its own), else of an aligned copy.
    const aligned = (buf.byteOffset + at) % 8 === 0;
    const raw = aligned ? buf : new Uint8Array(buf.subarray(at));
    const base = aligned ? buf.byteOffset + at : 0;
    const f = new Float64Array(raw.buffer, base, n * F64);
    const u = new Uint32Array(raw.buffer, base + n * F64 * 8, n * U32);
    const list = u.subarray(n, 2 * n);
    const sets = head.sets.length;
    for (let i = 0; i < n; i++) if (list[i]! >= sets) return null;
    const uid = u.subarray(0, n);
    for (let i = 1; i < n; i++) if (uid[i]! <= uid[i - 1]!) return null;
    const lists = head.sets.map((set) => Object.freeze(set ? set.split(' ') : []));
    const col = (k: number) => f.subarray(k * n, (k + 1) * n);
    return EntryColumns.of({ uid, list, messageId: col(0), modseq: col(1), internalDate: col(2), savedAt: col(3), size: col(4) }, n, lists);
  } catch {
    return null;
  }
}

/** Reading and writing the copies; `write` runs the statement on the store's write path. */
export function snapshotTable(db: Kysely<DB>, write: (fn: (trx: Kysely<DB>) => Promise<void>) => Promise<void>) {
  return {
    async loadSnapshot(folderId: number): Promise<FolderSnapshot | null> {
      const row = await db.selectFrom('folder_index_snapshots').select(['modseq', 'entries', 'data']).where('folder_id', '=', folderId).executeTakeFirst();
      return row ? { modseq: Number(row.modseq), entries: Number(row.entries), data: row.data } : null;
    },
    async countEntries(folderId: number): Promise<number> {
      const row = await db
        .selectFrom('folder_messages')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('folder_id', '=', folderId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    saveSnapshot(folderId: number, snap: FolderSnapshot): Promise<void> {
      return write(async (trx) => {
        await trx
          .insertInto('folder_index_snapshots')
          .values({ folder_id: folderId, modseq: snap.modseq, entries: snap.entries, data: snap.data })
          .onConflict((oc) => oc.column('folder_id').doUpdateSet({ modseq: snap.modseq, entries: snap.entries, data: snap.data }))
          .execute();
      });
    },
  };
}
