/**
 * The dialect-specific half of the search index (mailstore/fulltext.ts, migration 0044): which
 * messages of a folder have a stored text containing a needle, exactly (a substring of the
 * lower-cased text, as the scan in imap/search.ts matches).
 * - SQLite: the FTS5 trigram index (`message_fts`, detail=none) gives candidates for needles of
 *   3 characters or more (the messages holding every trigram of the needle: a superset, the
 *   index folds case), intersected with the folder's entries and checked exactly with instr()
 *   on the stored text. Shorter
 *   needles have no trigram: instr() over the folder's stored texts (no message is read).
 * - PostgreSQL: LIKE '%needle%' (case-sensitive, exact) on the stored text; pg_trgm's GIN
 *   indexes serve it when the planner finds that cheaper than the folder's rows.
 */
import { type Kysely, sql } from 'kysely';
import { dialectOf } from './dialect.js';
import type { DB } from './schema.js';

export interface StoredTextQuery {
  folderId: number;
  /** Only these messages (a few changed ones), or all entries of the folder. */
  messageIds: number[] | null;
  field: 'body' | 'text';
  /** Lower-case, non-empty, without NUL. */
  needle: string;
}

/** The trigram tokenizer's shortest needle. */
const TRIGRAM = 3;
/** Trigrams asked of the index per needle (spread over a long needle; fewer only widen the candidates). */
const MAX_TRIGRAMS = 12;

/** FTS5 query: the (distinct) trigrams of the needle, each a quoted string, AND-ed. */
function trigramQuery(needle: string): string {
  const chars = [...needle];
  const all = [...new Set(chars.slice(0, chars.length - 2).map((_, i) => chars.slice(i, i + 3).join('')))];
  const step = Math.max(1, all.length / MAX_TRIGRAMS);
  const picked = new Set<string>();
  for (let i = 0; i < all.length && picked.size < MAX_TRIGRAMS; i += step) picked.add(all[Math.floor(i)]!);
  picked.add(all[all.length - 1]!);
  // detail=none has no column filter: BODY candidates may hold the trigrams in the header text (checked below).
  return [...picked].map((t) => `"${t.replace(/"/g, '""')}"`).join(' AND ');
}

export async function storedTextMatches(db: Kysely<DB>, q: StoredTextQuery): Promise<number[]> {
  const only = q.messageIds ? sql` and fm.message_id in (${sql.join(q.messageIds)})` : sql``;
  if (dialectOf(db) === 'postgres') {
    const pattern = `%${q.needle.replace(/[\\%_]/g, '\\$&')}%`;
    const test = q.field === 'body' ? sql`t.body like ${pattern}` : sql`(t.body like ${pattern} or t.head like ${pattern})`;
    const { rows } = await sql<{ message_id: number }>`
      select fm.message_id from folder_messages fm join message_text t on t.message_id = fm.message_id
       where fm.folder_id = ${q.folderId} and t.complete = 1 and ${test}${only}`.execute(db);
    return rows.map((r) => Number(r.message_id));
  }
  const exact = q.field === 'body' ? sql`instr(t.body, ${q.needle}) > 0` : sql`(instr(t.body, ${q.needle}) > 0 or instr(t.head, ${q.needle}) > 0)`;
  if ([...q.needle].length < TRIGRAM) {
    const { rows } = await sql<{ message_id: number }>`
      select fm.message_id from folder_messages fm join message_text t on t.message_id = fm.message_id
       where fm.folder_id = ${q.folderId} and t.complete = 1 and ${exact}${only}`.execute(db);
    return rows.map((r) => Number(r.message_id));
  }
  // Driven by the index's candidates (cross join keeps that order): only their text rows and
  // folder entries are read, never the folder's every row (what a cold SEARCH BODY paid for).
  const match = trigramQuery(q.needle);
  const onlyT = q.messageIds ? sql` and t.message_id in (${sql.join(q.messageIds)})` : sql``;
  const { rows } = await sql<{ message_id: number }>`
    select t.message_id from message_fts f cross join message_text t on t.message_id = f.rowid
     where message_fts match ${match} and t.complete = 1 and ${exact}${onlyT}
       and exists (select 1 from folder_messages fm indexed by folder_messages_message_idx
                    where fm.message_id = t.message_id and fm.folder_id = ${q.folderId})`.execute(db);
  return rows.map((r) => Number(r.message_id));
}

/** A range of message ids read from the index for uncoveredAmong may hold this many ids per entry asked about, at most. */
const RANGE_SPREAD = 8;

/**
 * Which of `ids` (the message ids of a folder's entries, as the caller holds them) have no
 * complete stored text. SQLite, when the ids lie close together: the complete ids of their
 * range from the (message_id, complete) index alone, a few pages, where uncoveredMessages read
 * every row of the folder's entries (issue 18, a cold SEARCH BODY of 1,200 messages after the
 * page cache was dropped: 77 of its 216 page reads, 72 of them the folder's entry rows). Ids
 * spread wide (a store shared by many mailboxes) and PostgreSQL: uncoveredMessages of the folder
 * (those of `ids`).
 */
export async function uncoveredAmong(db: Kysely<DB>, folderId: number, ids: ArrayLike<number>): Promise<number[]> {
  const n = ids.length;
  if (!n) return [];
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (id < min) min = id;
    if (id > max) max = id;
  }
  const out: number[] = [];
  if (dialectOf(db) !== 'sqlite' || max - min + 1 > RANGE_SPREAD * n) {
    const asked = new Set<number>();
    for (let i = 0; i < n; i++) asked.add(ids[i]!);
    for (const id of await uncoveredMessages(db, folderId, null)) if (asked.has(id)) out.push(id);
    return out;
  }
  const { rows } = await sql<{ message_id: number }>`
    select message_id from message_text indexed by message_text_complete_idx
     where message_id between ${min} and ${max} and complete = 1`.execute(db);
  const complete = new Set<number>();
  for (const r of rows) complete.add(Number(r.message_id));
  for (let i = 0; i < n; i++) if (!complete.has(ids[i]!)) out.push(ids[i]!);
  return out;
}

/**
 * Entries of the folder (or of `messageIds`) without a complete stored text. SQLite: from the
 * (message_id, complete) index (migration 0053), not the text rows themselves.
 */
export async function uncoveredMessages(db: Kysely<DB>, folderId: number, messageIds: number[] | null): Promise<number[]> {
  const only = messageIds ? sql` and fm.message_id in (${sql.join(messageIds)})` : sql``;
  const hint = dialectOf(db) === 'sqlite' ? sql` indexed by message_text_complete_idx` : sql``;
  const { rows } = await sql<{ message_id: number }>`
    select fm.message_id from folder_messages fm
     where fm.folder_id = ${folderId}${only}
       and not exists (select 1 from message_text t${hint} where t.message_id = fm.message_id and t.complete = 1)`.execute(db);
  return rows.map((r) => Number(r.message_id));
}

/** Pages of the search index one mergeTextIndex step writes at most (a few milliseconds of the writer). */
const MERGE_PAGES = 32;

/**
 * One step of merging the SQLite search index's segments (FTS5 'merge', `usermerge` 2: any level
 * of two segments or more), in the caller's transaction; true when it did work (call again),
 * false when nothing was left to merge. Each indexer batch adds a segment, and FTS5's own
 * automerge lets a level hold several: a needle's trigrams are looked up in every segment (issue
 * 18: 13 segments after 1,200 APPENDs, 61 of a cold SEARCH BODY's 138 index page reads; 1
 * segment, 12 reads, once merged). PostgreSQL: nothing to do (false).
 */
export async function mergeTextIndex(trx: Kysely<DB>, first: boolean): Promise<boolean> {
  if (dialectOf(trx) !== 'sqlite') return false;
  if (first) await sql`insert into message_fts(message_fts, rank) values ('usermerge', 2)`.execute(trx);
  const changes = sql<{ n: number }>`select total_changes() as n`;
  const before = Number((await changes.execute(trx)).rows[0]!.n);
  await sql`insert into message_fts(message_fts, rank) values ('merge', ${MERGE_PAGES})`.execute(trx);
  // A merge with nothing to do counts one change (the command's own row).
  return Number((await changes.execute(trx)).rows[0]!.n) - before > 2;
}
