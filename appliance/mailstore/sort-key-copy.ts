/**
 * A compact copy of a large folder's sort keys (table folder_sort_keys, migration 0058), so that
 * the first SORT or THREAD after a start reads one row instead of every entry row's JSON keys
 * (issue 18: 100,000 rows, ~190 bytes of JSON each, spread over the table: about a second with a
 * cold page cache, where Dovecot reads its cache file in ~150 ms).
 *
 * Keys belong to a message and never change once computed (sort-keys.ts), so the copy is keyed
 * by message id and is never wrong, only incomplete: messages added since it was written are read
 * from their rows as before, and ids of messages no longer in the folder are ignored by the
 * caller. Strings (subjects, addresses, message ids, references) are stored once each in a table;
 * per message the copy holds its id, its date and indexes into that table (~60 bytes a message).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { SortKeys } from './sort-keys.js';

const VERSION = 1;
/** Index of a null Message-ID. */
const NONE = 0xffffffff;
/** The string fields, in their column order. */
const FIELDS = ['s', 'f', 't', 'c', 'df', 'dt'] as const;
/** Per message: Float64 id, date (NaN: null); Uint32 the six fields, the Message-ID, the reply mark, the references' end. */
const F64 = 2;
const U32 = FIELDS.length + 3;

/** Folders with fewer messages than this read their keys by message id (a few statements). */
export const SORT_COPY_MIN_ENTRIES = 1000;

export interface SortKeyCopy {
  ids: Float64Array;
  keys: SortKeys[];
}

export function encodeSortKeys(rows: ReadonlyArray<{ messageId: number; keys: SortKeys }>): Buffer {
  const n = rows.length;
  const strings = new Map<string, number>();
  const at = (s: string): number => {
    let i = strings.get(s);
    if (i === undefined) strings.set(s, (i = strings.size));
    return i;
  };
  const f = new Float64Array(n * F64);
  const u = new Uint32Array(n * U32);
  const refs: number[] = [];
  for (let i = 0; i < n; i++) {
    const { messageId, keys } = rows[i]!;
    f[i] = messageId;
    f[n + i] = keys.d ?? NaN;
    for (let k = 0; k < FIELDS.length; k++) u[k * n + i] = at(keys[FIELDS[k]!] ?? '');
    u[6 * n + i] = keys.id === null ? NONE : at(keys.id);
    u[7 * n + i] = keys.re ? 1 : 0;
    for (const r of keys.r) refs.push(at(r));
    u[8 * n + i] = refs.length;
  }
  const head = Buffer.from(JSON.stringify({ v: VERSION, n, refs: refs.length, strings: [...strings.keys()] }));
  const len = Buffer.alloc(8);
  len.writeUInt32LE(head.length, 0);
  const pad = Buffer.alloc((8 - (head.length % 8)) % 8);
  return Buffer.concat([len, head, pad, Buffer.from(f.buffer), Buffer.from(u.buffer), Buffer.from(new Uint32Array(refs).buffer)]);
}

/** The keys of a copy, or null when it is not one this code wrote (then the rows are read). */
export function decodeSortKeys(buf: Buffer): SortKeyCopy | null {
  try {
    const hl = buf.readUInt32LE(0);
    const head = JSON.parse(buf.subarray(8, 8 + hl).toString()) as { v: number; n: number; refs: number; strings: string[] };
    if (head.v !== VERSION) return null;
    const { n, strings } = head;
    const start = 8 + hl + ((8 - (hl % 8)) % 8);
    if (buf.length !== start + n * (F64 * 8 + U32 * 4) + head.refs * 4) return null;
    // Copied out so the typed arrays are aligned whatever the buffer's offset in its pool.
    const raw = new Uint8Array(buf.subarray(start));
    const f = new Float64Array(raw.buffer, 0, n * F64);
    const u = new Uint32Array(raw.buffer, n * F64 * 8, n * U32);
    const refs = new Uint32Array(raw.buffer, n * (F64 * 8 + U32 * 4), head.refs);
    // Every index checked once up front (a damaged copy is refused), so the loop below only reads.
    const m = strings.length;
    for (let j = 0; j < 6 * n; j++) if (u[j]! >= m) return null;
    for (let i = 0; i < n; i++) if (u[6 * n + i]! >= m && u[6 * n + i] !== NONE) return null;
    for (let j = 0; j < refs.length; j++) if (refs[j]! >= m) return null;
    let r0 = 0;
    for (let i = 0; i < n; i++) {
      const r1 = u[8 * n + i]!;
      if (r1 < r0 || r1 > refs.length) return null;
      r0 = r1;
    }
    // One small object per message reading the columns when asked (no string or array made until then).
    const cols: Columns = { n, f, u, refs, strings };
    const keys: SortKeys[] = new Array<SortKeys>(n);
    for (let i = 0; i < n; i++) keys[i] = new CopiedKeys(cols, i);
    return { ids: f.slice(0, n), keys };
  } catch {
    return null;
  }
}

interface Columns {
  n: number;
  f: Float64Array;
  u: Uint32Array;
  refs: Uint32Array;
  strings: string[];
}

const NO_REFS = Object.freeze([]) as unknown as string[];

/** A message's keys in a decoded copy (indexes checked when decoded). */
class CopiedKeys implements SortKeys {
  constructor(
    private readonly cols: Columns,
    private readonly i: number,
  ) {}
  get d(): number | null {
    const d = this.cols.f[this.cols.n + this.i]!;
    return d === d ? d : null;
  }
  get s(): string {
    return this.cols.strings[this.cols.u[this.i]!]!;
  }
  get f(): string {
    return this.cols.strings[this.cols.u[this.cols.n + this.i]!]!;
  }
  get t(): string {
    return this.cols.strings[this.cols.u[2 * this.cols.n + this.i]!]!;
  }
  get c(): string {
    return this.cols.strings[this.cols.u[3 * this.cols.n + this.i]!]!;
  }
  get df(): string {
    return this.cols.strings[this.cols.u[4 * this.cols.n + this.i]!]!;
  }
  get dt(): string {
    return this.cols.strings[this.cols.u[5 * this.cols.n + this.i]!]!;
  }
  get id(): string | null {
    const id = this.cols.u[6 * this.cols.n + this.i]!;
    return id === NONE ? null : this.cols.strings[id]!;
  }
  get re(): 1 | undefined {
    return this.cols.u[7 * this.cols.n + this.i] ? 1 : undefined;
  }
  get r(): string[] {
    const { n, u, refs, strings } = this.cols;
    const r0 = this.i ? u[8 * n + this.i - 1]! : 0;
    const r1 = u[8 * n + this.i]!;
    if (r1 === r0) return NO_REFS;
    const out = new Array<string>(r1 - r0);
    for (let j = r0; j < r1; j++) out[j - r0] = strings[refs[j]!]!;
    return out;
  }
}

/** Reading and writing the copies; `write` runs the statement on the store's write path. */
export function sortKeyCopyTable(db: Kysely<DB>, write: (fn: (trx: Kysely<DB>) => Promise<void>) => Promise<void>) {
  return {
    async load(folderId: number): Promise<SortKeyCopy | null> {
      const row = await db.selectFrom('folder_sort_keys').select(['entries', 'data']).where('folder_id', '=', folderId).executeTakeFirst();
      if (!row) return null;
      const copy = decodeSortKeys(row.data);
      return copy && copy.keys.length === Number(row.entries) ? copy : null;
    },
    /** Writes a copy of `rows` (encoded when the write runs, not on the caller's turn). */
    save(folderId: number, rows: ReadonlyArray<{ messageId: number; keys: SortKeys }>): Promise<void> {
      return write(async (trx) => {
        const data = encodeSortKeys(rows);
        await trx
          .insertInto('folder_sort_keys')
          .values({ folder_id: folderId, entries: rows.length, data })
          .onConflict((oc) => oc.column('folder_id').doUpdateSet({ entries: rows.length, data }))
          .execute();
      });
    },
  };
}
