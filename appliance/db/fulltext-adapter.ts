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
