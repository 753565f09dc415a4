/**
 * The search index's text (issue 18): SEARCH BODY/TEXT answered from text extracted once at
 * ingest instead of reading and decoding every message of the folder.
 *
 * `extractSearchText` computes, from the bytes and the parsed structure, exactly what the scan in
 * imap/search.ts matches against — the decoded text parts lower-cased (textOf) and the decoded
 * header fields lower-cased (searchHeaderFields) — bounded to INDEX_TEXT_LIMIT characters. A
 * message over the bound is stored as incomplete and searched by the scan as before, so the index
 * never changes an answer. `searchStoredText` asks the engine's index (db/fulltext-adapter.ts)
 * for the folder's messages whose stored text contains each needle; needles the index cannot
 * answer exactly and messages without a complete row are left to the scan.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { storedTextMatches, type StoredTextQuery, uncoveredAmong, uncoveredMessages } from '../db/fulltext-adapter.js';
import { searchHeaderFields, textParts } from './mime/decode.js';
import type { MessageMeta } from './mime/types.js';

/** Characters of decoded text kept per message; a longer text is left to the scan. */
export const INDEX_TEXT_LIMIT = 1024 * 1024;

export interface SearchText {
  body: string;
  /** Each header field as "name\nvalue\n" (lower-cased), one after the other. */
  head: string;
  complete: boolean;
}

/** The searchable text of one stored message (`full`: the bytes with their header prefix, as IMAP serves them). */
export function extractSearchText(full: Buffer, meta: MessageMeta): SearchText {
  const bodyStart = meta.root.bodyStart;
  let head = '';
  for (const [name, value] of searchHeaderFields(full.subarray(0, bodyStart))) head += `${name}\n${value}\n`;
  let body = '';
  let complete = true;
  if (full.length > bodyStart) {
    const text = textParts(full, meta.root, INDEX_TEXT_LIMIT);
    body = text.text.toLowerCase();
    complete = text.complete && body.length <= INDEX_TEXT_LIMIT;
  }
  // NUL cannot be stored as text on PostgreSQL: such a message keeps being searched by the scan.
  if (!complete || body.includes('\0') || head.includes('\0') || head.length > INDEX_TEXT_LIMIT) return { body: '', head: '', complete: false };
  return { body, head, complete };
}

/**
 * The rows of these messages (inside the indexer's or the backfill's transaction), in one
 * statement (issue 18: one statement per message, each built and compiled by kysely on the
 * serving loop). A message that has a row already keeps it.
 */
export async function writeSearchTexts(trx: Kysely<DB>, texts: Array<[number, SearchText]>): Promise<void> {
  if (!texts.length) return;
  await trx
    .insertInto('message_text')
    .values(texts.map(([id, text]) => ({ message_id: id, body: text.body, head: text.head, complete: text.complete ? 1 : 0 })))
    .onConflict((oc) => oc.column('message_id').doNothing())
    .execute();
}

export interface TextSearchQuery {
  /** 'body': the text parts; 'text': the header fields too (SEARCH TEXT). */
  field: 'body' | 'text';
  /** Lower-cased, as the parsed search key holds it. */
  needle: string;
}

export interface TextSearchAnswer {
  /** Messages of the folder the index cannot answer for (no row yet, or an incomplete one). */
  uncovered: Set<number>;
  /** Per query: message ids whose stored text contains the needle, or null when the index cannot answer that needle. */
  hits: Array<Set<number> | null>;
}

/** Whether the stored text answers `q` exactly: never for the empty needle or NUL; TEXT not across the "\n" between fields. */
function answerable(q: TextSearchQuery): boolean {
  if (!q.needle.length || q.needle.includes('\0')) return false;
  return q.field === 'body' || !q.needle.includes('\n');
}

/**
 * The index's answer for the entries of `folderId` (all of them, or only `messageIds` when the
 * caller evaluates a few changed messages). `entryIds`: the message ids of the entries the
 * caller evaluates when that is all of them (its folder index holds them): which of those the
 * index covers is then read from the index alone (db/fulltext-adapter.ts uncoveredAmong).
 */
export async function searchStoredText(db: Kysely<DB>, folderId: number, messageIds: number[] | null, queries: TextSearchQuery[], entryIds?: ArrayLike<number>): Promise<TextSearchAnswer> {
  const ids = messageIds && messageIds.length <= 500 ? messageIds : null;
  if (ids && !ids.length) return { uncovered: new Set(), hits: queries.map(() => new Set()) };
  const uncovered = new Set(!messageIds && entryIds ? await uncoveredAmong(db, folderId, entryIds) : await uncoveredMessages(db, folderId, ids));
  const hits: Array<Set<number> | null> = [];
  for (const query of queries) {
    if (!answerable(query)) {
      hits.push(null);
      continue;
    }
    const sq: StoredTextQuery = { folderId, messageIds: ids, field: query.field, needle: query.needle };
    // A needle the engine's index refuses (a query it cannot parse) is answered by the scan, never an error.
    hits.push(
      await storedTextMatches(db, sq).then(
        (found) => new Set(found),
        () => null,
      ),
    );
  }
  return { uncovered, hits };
}
