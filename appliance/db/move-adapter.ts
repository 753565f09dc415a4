/**
 * The dialect-specific half of `postern migrate` (moving a single node's SQLite database into
 * PostgreSQL): SQLite's catalog and rowid paging on the source side, PostgreSQL's serial
 * sequences on the target side. The portable half is move.ts.
 */
import { type Kysely, sql } from 'kysely';
import { dialectOf } from './dialect.js';

export interface SourceTable {
  name: string;
  columns: string[];
  /** Tables this one refers to by foreign key (itself excluded). */
  dependsOn: string[];
}

/**
 * Tables kysely keeps for itself (each side runs its own migrations), the move's own bookkeeping,
 * SQLite's full-text indexes (FTS5 tables, their shadow tables, the mailbox search's key map; PostgreSQL needs none),
 * and large folders' envelope copies (folder_envelope_chunks: each message's blob id is in their
 * encoded bytes, which the blob copy's rewriter does not reach; a copy is never required, the
 * target writes its own as commands read the messages).
 */
const SKIP = /^(kysely_migration|kysely_migration_lock|postern_move_.*|sqlite_.*|message_fts(_.*)?|folder_envelope_chunks)$/;

/** The application tables of a SQLite database with their columns and foreign keys. */
export async function sqliteTables(db: Kysely<any>): Promise<SourceTable[]> {
  if (dialectOf(db) !== 'sqlite') throw new Error('the source of a move must be a SQLite database');
  const { rows } = await sql<{ name: string }>`select name from sqlite_master where type = 'table' order by name`.execute(db);
  const out: SourceTable[] = [];
  for (const { name } of rows) {
    if (SKIP.test(name)) continue;
    const cols = await sql<{ name: string }>`select name from pragma_table_info(${name}) order by cid`.execute(db);
    const fks = await sql<{ table: string }>`select "table" from pragma_foreign_key_list(${name})`.execute(db);
    out.push({ name, columns: cols.rows.map((c) => c.name), dependsOn: [...new Set(fks.rows.map((f) => f.table))].filter((t) => t !== name) });
  }
  return out;
}

/** Up to `limit` rows of a SQLite table after `afterRowid`, in rowid order, each with its `__rowid`. */
export async function sqliteBatch(db: Kysely<any>, table: string, afterRowid: number, limit: number): Promise<Array<Record<string, unknown> & { __rowid: number }>> {
  const { rows } = await sql<Record<string, unknown> & { __rowid: number }>`select rowid as __rowid, * from ${sql.table(table)} where rowid > ${afterRowid} order by rowid limit ${limit}`.execute(db);
  return rows;
}

/** The number of rows of a SQLite table with a rowid above `afterRowid` (what is left to copy). */
export async function sqliteRemaining(db: Kysely<any>, table: string, afterRowid: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where rowid > ${afterRowid}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/**
 * Moves every serial sequence of a PostgreSQL database past the largest id its column holds (copied
 * rows carry their ids, so the sequences would otherwise hand out ids that exist). No-op on SQLite.
 */
export async function advanceSequences(db: Kysely<any>): Promise<Array<{ table: string; column: string; next: number }>> {
  if (dialectOf(db) !== 'postgres') return [];
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
     where table_schema = current_schema() and column_default like 'nextval(%'`.execute(db);
  const out: Array<{ table: string; column: string; next: number }> = [];
  for (const { table_name: table, column_name: column } of rows) {
    const max = await sql<{ m: number | null }>`select max(${sql.ref(column)}) as m from ${sql.table(table)}`.execute(db);
    const top = Number(max.rows[0]?.m ?? 0);
    // setval(seq, n, true): the next nextval() answers n + 1; an empty table starts at 1.
    await sql`select setval(pg_get_serial_sequence(${table}, ${column}), ${Math.max(top, 1)}, ${top > 0})`.execute(db);
    out.push({ table, column, next: top + 1 });
  }
  return out;
}
