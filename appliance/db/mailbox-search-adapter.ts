/**
 * The dialect-specific half of the mailbox list's search (`?q=`, migration 0057): the ids of the
 * mailboxes that may contain a needle in their address, display name, owner name or owner email.
 * - SQLite: the FTS5 trigram index (`mailbox_fts`, detail=none) gives the mailboxes holding
 *   every trigram of the needle (3 characters or more; the index folds case): a superset of the
 *   matches, which the caller checks exactly (lower() and LIKE, as without the index).
 * - PostgreSQL (and needles shorter than a trigram): none; the caller's LIKE checks every row.
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { dialectOf } from './dialect.js';
import type { DB } from './schema.js';

const TRIGRAM = 3;
/** Trigrams asked of the index per needle (spread over a long needle; fewer only widen the candidates). */
const MAX_TRIGRAMS = 8;

/** FTS5 query: the distinct trigrams of the needle, each a quoted string, AND-ed. */
function trigramQuery(needle: string): string {
  const chars = [...needle];
  const all = [...new Set(chars.slice(0, chars.length - 2).map((_, i) => chars.slice(i, i + TRIGRAM).join('')))];
  const step = Math.max(1, all.length / MAX_TRIGRAMS);
  const picked = new Set<string>();
  for (let i = 0; i < all.length && picked.size < MAX_TRIGRAMS; i += step) picked.add(all[Math.floor(i)]!);
  picked.add(all[all.length - 1]!);
  return [...picked].map((t) => `"${t.replace(/"/g, '""')}"`).join(' AND ');
}

/** A subquery of candidate mailbox ids for `needle` (lower-case), or null when the engine has no such index. */
export function mailboxSearchCandidates(db: Kysely<DB>, needle: string): RawBuilder<string> | null {
  if (dialectOf(db) !== 'sqlite' || [...needle].length < TRIGRAM || needle.includes('\u0000')) return null;
  return sql<string>`(select k.mailbox_id from mailbox_search_keys k where k.id in (select rowid from mailbox_fts where mailbox_fts match ${trigramQuery(needle)}))`;
}
