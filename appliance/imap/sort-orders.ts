/**
 * Sort orders and thread trees kept per folder, as Dovecot keeps its sort indexes (issue 18:
 * webmails SORT or THREAD a large folder on every page view). A folder's sort rows
 * (store.sortRows) are one array per membership: keys, sizes and dates never change for a message,
 * so an order of that array stays right until a message is added or removed. Then the next
 * request updates the kept order instead of sorting again: the survivors keep their relative
 * order (a merge walk of the two UID-ordered arrays maps old positions to new ones), and the few
 * new rows are placed by binary search with the same comparison.
 *
 * The orders are of the whole folder; a SORT of a subset (a search, or a session that has not yet
 * seen some changes) filters the kept order, which is still sorted with ties in sequence order.
 */
import type { SortKeyColumn, SortRow, ThreadKeyColumn } from '../mailstore/store.types.js';
import { type SortCriterion, columnOrder, compareRows, orderedSubjectThreads, referenceThreads, sortOrder, threadOrderedSubject, threadReferences } from './sort.js';

type Threads = ReturnType<typeof threadReferences>;

interface Kept {
  rows: readonly SortRow[];
  /** Full-folder orders (positions into rows) by criteria, most recently used last. */
  orders: Map<string, Uint32Array>;
  threads: Map<string, Threads>;
  /** The previous rows array of the folder and its orders, carried over when asked for. */
  carried: { rows: readonly SortRow[]; orders: Map<string, Uint32Array> } | null;
}

/** Criteria sets kept per folder (each a Uint32Array of the folder's size). */
const MAX_ORDERS = 6;
/** Added rows placed one by one up to this share of the folder; more: a fresh sort. */
const INCREMENTAL_SHARE = 0.25;

const keptByOwner = new WeakMap<object, Map<number, Kept>>();
/** Folders kept per owner (the store's sort-row cache holds 16). */
const MAX_FOLDERS = 16;

function criteriaKey(criteria: readonly SortCriterion[]): string {
  return criteria.map((c) => (c.reverse ? '-' : '') + c.key).join(' ');
}

/** The folder's kept state for this rows array; carried over (orders updated lazily) from the previous array. */
function keptFor(owner: object, folderId: number, rows: readonly SortRow[]): Kept {
  let folders = keptByOwner.get(owner);
  if (!folders) keptByOwner.set(owner, (folders = new Map()));
  const cur = folders.get(folderId);
  folders.delete(folderId);
  if (cur && cur.rows === rows) {
    folders.set(folderId, cur);
    return cur;
  }
  const kept: Kept = { rows, orders: new Map(), threads: new Map(), carried: cur?.orders.size ? { rows: cur.rows, orders: cur.orders } : (cur?.carried ?? null) };
  folders.set(folderId, kept);
  while (folders.size > MAX_FOLDERS) folders.delete(folders.keys().next().value!);
  return kept;
}

/**
 * The same message with the same keys: a UID alone could be another message's in a folder deleted
 * and made again under the same id; the keys object is the store's, shared while it is cached.
 */
function same(a: SortRow, b: SortRow): boolean {
  return a.messageId === b.messageId && a.keys === b.keys && a.size === b.size && a.internalDate === b.internalDate;
}

/** Old position → new position (-1: gone), and the new positions not in the old rows (ascending). Both arrays are in ascending UID order. */
export function mapPositions(before: readonly SortRow[], after: readonly SortRow[]): { moved: Int32Array; added: number[] } {
  const moved = new Int32Array(before.length).fill(-1);
  const added: number[] = [];
  let i = 0;
  let j = 0;
  while (j < after.length) {
    const u = after[j]!.uid;
    while (i < before.length && before[i]!.uid < u) i++;
    if (i < before.length && before[i]!.uid === u && same(before[i]!, after[j]!)) moved[i++] = j;
    else added.push(j);
    j++;
  }
  return { moved, added };
}

/**
 * `order` (of `before`) carried to `after`: survivors in their old relative order, added rows
 * inserted where the comparison puts them (ties: UID, which is sequence order). Null when too
 * many rows were added for that to beat a fresh sort.
 */
export function updateOrder(before: readonly SortRow[], order: Uint32Array, after: readonly SortRow[], criteria: SortCriterion[]): Uint32Array | null {
  const { moved, added } = mapPositions(before, after);
  if (added.length > Math.max(16, after.length * INCREMENTAL_SHARE)) return null;
  const kept = new Uint32Array(after.length - added.length);
  let m = 0;
  for (let k = 0; k < order.length; k++) {
    const p = moved[order[k]!]!;
    if (p >= 0) kept[m++] = p;
  }
  if (m !== kept.length) return null; // not a UID-ordered pair of arrays: sort afresh
  if (!added.length) return kept;
  const cmp = compareRows(criteria);
  // Where each added row goes among the survivors (binary search), then one merge.
  const inserts = added.map((p) => {
    const row = after[p]!;
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(after[kept[mid]!]!, row) < 0) lo = mid + 1;
      else hi = mid;
    }
    return { at: lo, p };
  });
  inserts.sort((a, b) => a.at - b.at || cmp(after[a.p]!, after[b.p]!));
  const out = new Uint32Array(after.length);
  let o = 0;
  let k = 0;
  for (const ins of inserts) {
    while (k < ins.at) out[o++] = kept[k++]!;
    out[o++] = ins.p;
  }
  while (k < m) out[o++] = kept[k++]!;
  return out;
}

/** The order of every row of `rows` (a folder's sort rows, in UID order) by `criteria`: kept, updated, or sorted. */
export function folderOrder(owner: object, folderId: number, rows: readonly SortRow[], criteria: SortCriterion[]): Uint32Array {
  const key = criteriaKey(criteria);
  const kept = keptFor(owner, folderId, rows);
  let order = kept.orders.get(key);
  if (order) {
    kept.orders.delete(key);
  } else {
    const old = kept.carried?.orders.get(key);
    order = (old && updateOrder(kept.carried!.rows, old, rows, criteria)) ?? sortOrder(rows, criteria);
  }
  kept.orders.set(key, order);
  while (kept.orders.size > MAX_ORDERS) kept.orders.delete(kept.orders.keys().next().value!);
  return order;
}

/** THREAD of every row of `rows`, kept while the folder's membership is unchanged. */
export function folderThreads(owner: object, folderId: number, rows: SortRow[], algorithm: 'REFERENCES' | 'ORDEREDSUBJECT'): Threads {
  const kept = keptFor(owner, folderId, rows);
  let roots = kept.threads.get(algorithm);
  if (!roots) {
    roots = algorithm === 'REFERENCES' ? threadReferences(rows) : threadOrderedSubject(rows);
    kept.threads.set(algorithm, roots);
  }
  return roots;
}

/** Orders of folders' key columns (store.sortColumn) by criteria, and their threads (store.threadColumns), kept while the folder's membership is unchanged. */
const columnOrdersByOwner = new WeakMap<object, Map<number, { membership: number; orders: Map<string, Uint32Array>; threads: Map<string, Threads> }>>();

/** The folder's kept column orders and threads for this membership (a fresh set when it changed). */
function keptColumns(owner: object, folderId: number, membership: number) {
  let folders = columnOrdersByOwner.get(owner);
  if (!folders) columnOrdersByOwner.set(owner, (folders = new Map()));
  let kept = folders.get(folderId);
  folders.delete(folderId);
  if (!kept || kept.membership !== membership) kept = { membership, orders: new Map(), threads: new Map() };
  folders.set(folderId, kept);
  while (folders.size > MAX_FOLDERS) folders.delete(folders.keys().next().value!);
  return kept;
}

/**
 * The order of every entry of `column` (ascending UID) by its one key: kept per folder while no
 * message is added or removed, as folderOrder keeps orders of sort rows (a fresh sort of the
 * column otherwise: no row objects, issue 18).
 */
export function folderColumnOrder(owner: object, folderId: number, column: SortKeyColumn, criterion: SortCriterion): Uint32Array {
  const kept = keptColumns(owner, folderId, column.membership);
  const key = criteriaKey([criterion]);
  let order = kept.orders.get(key);
  if (!order) kept.orders.set(key, (order = columnOrder(column.keys, criterion.reverse)));
  return order;
}

/** THREAD of every entry of `column` (store.threadColumns: no sort rows), kept while the folder's membership is unchanged, as folderThreads keeps it. */
export function folderColumnThreads(owner: object, folderId: number, column: ThreadKeyColumn, algorithm: 'REFERENCES' | 'ORDEREDSUBJECT'): Threads {
  const kept = keptColumns(owner, folderId, column.membership);
  let roots = kept.threads.get(algorithm);
  if (!roots) kept.threads.set(algorithm, (roots = algorithm === 'REFERENCES' ? referenceThreads(column) : orderedSubjectThreads(column)));
  return roots;
}
