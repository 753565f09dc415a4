/**
 * Mailbox list pages kept between requests (issue 18). At 10,000 mailboxes and 50 clients most
 * of a list request's time went to reading the page on a reader thread, turning its rows into
 * views and collecting that garbage, for the same page again and again. A page is kept per
 * database handle, per repository scope (the actor's tenant, or the platform's) and per query
 * (tenant, filters, sort, `after`, limit), and only while the write epoch of the tables a page
 * reads (`mailboxes`, `tenants`: listWriteEpoch) has not moved since its read began: any write
 * to a mailbox or a tenant (a new mailbox, a suspension, a delivery's usage, a deleted tenant,
 * raw SQL) ends every kept page at once, never a timeout. Reads started in the same epoch share
 * one read. The caller has authorized the actor before asking; a read that fails is not kept.
 * SQLite only: on PostgreSQL other nodes write too, so nothing is kept.
 */
import { listWriteEpoch } from '../../db/repos/index.js';
import type { ListPage } from '../kernel/util.js';

/** Pages kept in one epoch before they start over (queries × scopes). */
const PAGES_MAX = 256;

interface Kept<V> {
  epoch: number;
  pages: Map<string, Promise<readonly V[]>>;
}

const kept = new WeakMap<object, Kept<unknown>>();

/** The key of one page: the scope's tenant and everything the query depends on. */
export function pageKey(scopeTenant: string | null, tenantId: string, page: ListPage, filter: Readonly<Record<string, string | boolean | undefined>>): string {
  let key = `${scopeTenant ?? ''}\u0000${tenantId}\u0000${page.limit}\u0000${page.after ?? ''}`;
  for (const name of Object.keys(filter).sort()) {
    const v = filter[name];
    if (v !== undefined) key += `\u0000${name}=${String(v)}`;
  }
  return key;
}

/**
 * The page `key` names: the one kept in the current epoch, or `read()` (kept for the requests
 * of this epoch). The answer is shared and frozen: callers must not change it.
 */
export function keptPage<V extends object>(db: object, key: string, read: () => Promise<V[]>): Promise<readonly V[]> {
  const epoch = listWriteEpoch(db);
  if (!epoch) return read();
  const now = epoch();
  let k = kept.get(db) as Kept<V> | undefined;
  if (!k || k.epoch !== now) kept.set(db, (k = { epoch: now, pages: new Map() }));
  const found = k.pages.get(key);
  if (found) return found;
  const pages = k.pages;
  const reading = read().then((views) => {
    // frozen a level down too (a view's owner): the control plane keeps the page's JSON text while it lives
    for (const v of views) {
      for (const f of Object.values(v)) if (typeof f === 'object' && f !== null) Object.freeze(f);
      Object.freeze(v);
    }
    return Object.freeze(views);
  });
  if (pages.size >= PAGES_MAX) pages.clear();
  pages.set(key, reading);
  // a failed read (a 404, a closed database) is answered to its requests and not kept
  reading.catch(() => {
    if (pages.get(key) === reading) pages.delete(key);
  });
  return reading;
}
