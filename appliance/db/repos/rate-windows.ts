/**
 * Rate windows shared by the nodes of a cluster (issue 17): the login throttle's failure counts
 * and locks, the send limiter's counts and its "block raised" markers. One row per key: a
 * sliding-window counter (this fixed window's count `n` from `window_start`, the previous
 * window's `prev_n`) and a deadline `until` (a lock, a trust, a marker). Each call is one
 * statement; a counter increment is one multi-row upsert that returns the new counts, so a
 * login failure or a submission costs one round trip to count and one to read.
 * Platform scope: the keys are the callers' (accounts, sources, mailboxes), never tenant rows.
 */
import { Repo } from './base.js';

export interface RateWindow {
  key: string;
  window_start: number;
  n: number;
  prev_n: number;
  until: number;
}

export class RateWindowsRepo extends Repo {
  /** The rows of these keys (absent keys are missing from the answer). */
  async read(keys: readonly string[]): Promise<RateWindow[]> {
    if (!keys.length) return [];
    const rows = await this.db.selectFrom('rate_windows').select(['key', 'window_start', 'n', 'prev_n', 'until']).where('key', 'in', keys).execute();
    return rows.map(num);
  }

  /**
   * Adds `n` to each key's count in the fixed window starting at `windowStart` (a new window
   * moves the count before it to `prev_n`) and returns the rows after the write. Keys distinct.
   */
  async add(entries: ReadonlyArray<{ key: string; n: number }>, windowStart: number, windowMs: number): Promise<RateWindow[]> {
    if (!entries.length) return [];
    const rows = await this.db
      .insertInto('rate_windows')
      .values(entries.map((e) => ({ key: e.key, window_start: windowStart, n: e.n, prev_n: 0, until: 0 })))
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({
          n: eb
            .case()
            .when('rate_windows.window_start', '=', eb.ref('excluded.window_start'))
            .then(eb('rate_windows.n', '+', eb.ref('excluded.n')))
            .else(eb.ref('excluded.n'))
            .end(),
          prev_n: eb
            .case()
            .when('rate_windows.window_start', '=', eb.ref('excluded.window_start'))
            .then(eb.ref('rate_windows.prev_n'))
            .when('rate_windows.window_start', '=', eb(eb.ref('excluded.window_start'), '-', windowMs))
            .then(eb.ref('rate_windows.n'))
            .else(0)
            .end(),
          window_start: eb.ref('excluded.window_start'),
        })),
      )
      .returning(['key', 'window_start', 'n', 'prev_n', 'until'])
      .execute();
    return rows.map(num);
  }

  /** Sets a key's deadline (a lock, a trust), creating the key with no count. */
  async setUntil(key: string, until: number, windowStart: number): Promise<void> {
    await this.db
      .insertInto('rate_windows')
      .values({ key, window_start: windowStart, n: 0, prev_n: 0, until })
      .onConflict((oc) => oc.column('key').doUpdateSet({ until }))
      .execute();
  }

  /** Forgets these keys (a success, a lifted block). */
  async clear(keys: readonly string[]): Promise<void> {
    if (keys.length) await this.db.deleteFrom('rate_windows').where('key', 'in', keys).execute();
  }

  /** How many keys with this prefix counted in windows from `windowStartFrom` on (distinct sources of an attack). */
  async countPrefix(prefix: string, windowStartFrom: number): Promise<number> {
    const r = await this.db
      .selectFrom('rate_windows')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where((eb) => eb(eb.fn<string>('substr', ['key', eb.val(1), eb.val(prefix.length)]), '=', prefix))
      .where('window_start', '>=', windowStartFrom)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Removes rows whose windows and deadline are all over (housekeeping). */
  async prune(windowStartBefore: number, now: number): Promise<number> {
    const r = await this.db.deleteFrom('rate_windows').where('window_start', '<', windowStartBefore).where('until', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

function num(r: RateWindow): RateWindow {
  return { key: r.key, window_start: Number(r.window_start), n: Number(r.n), prev_n: Number(r.prev_n), until: Number(r.until) };
}

/** The sliding-window estimate of a row at `now` for windows of `windowMs` (0 when stale). */
export function slidingCount(row: RateWindow | undefined, now: number, windowMs: number): number {
  if (!row) return 0;
  const start = Math.floor(now / windowMs) * windowMs;
  const weight = 1 - (now - start) / windowMs;
  if (row.window_start === start) return row.n + row.prev_n * weight;
  if (row.window_start === start - windowMs) return row.n * weight;
  return 0;
}
