/**
 * Small helpers shared by the core services: paging bounds, unique-violation detection and
 * time formatting for views.
 */

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;

/** Keyset pagination of the list reads. */
export interface ListPage {
  limit: number;
  /** Rows whose id sorts after this one. */
  after?: string | null;
}

export function pageOf(input: { limit?: number; after?: string | null } = {}): ListPage {
  const limit = Math.min(Math.max(Math.trunc(input.limit ?? DEFAULT_PAGE_SIZE), 1), MAX_PAGE_SIZE);
  return { limit, after: input.after ?? null };
}

/** True when a database error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** Recently formatted times (a list page formats two per row, mostly the same rows again): bounded, emptied when full. */
const isoCache = new Map<number, string>();
const ISO_CACHE_SIZE = 20_000;

/** A millisecond time as ISO 8601 (UTC); Date's formatting costs about a microsecond, a look-up a few dozen nanoseconds. */
export function iso(ms: number | string | null): string | null {
  if (ms === null) return null;
  const n = Number(ms);
  let s = isoCache.get(n);
  if (s === undefined) {
    s = new Date(n).toISOString();
    if (isoCache.size >= ISO_CACHE_SIZE) isoCache.clear();
    isoCache.set(n, s);
  }
  return s;
}

/** Trims a free-text name and checks its length and that it has no control characters. */
export function cleanName(raw: string, max = 200): string | null {
  const s = raw.trim();
  // eslint-disable-next-line no-control-regex
  if (s.length === 0 || s.length > max || /[\u0000-\u001f\u007f]/.test(s)) return null;
  return s;
}
