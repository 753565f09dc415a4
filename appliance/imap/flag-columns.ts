/**
 * A folder's UIDs and flags as columns (store.flagColumns, issue 18): SELECT, FETCH FLAGS and
 * flag searches of a 100,000-message folder walk arrays instead of an object per message. A
 * store without them (or a view that changes flags per member) gets columns made from its entries.
 */
import type { FlagColumns, MailStore, MessageEntry, UidFlagColumns } from '../mailstore/store.types.js';
import { hasFlag } from './format.js';

export function columnsOfEntries(entries: readonly MessageEntry[]): FlagColumns {
  const n = entries.length;
  const f64 = () => new Float64Array(n);
  const cols: FlagColumns = { length: n, uids: new Uint32Array(n), messageIds: f64(), modseqs: f64(), internalDates: f64(), savedAts: f64(), sizes: f64(), list: new Uint32Array(n), lists: [] };
  const lists = cols.lists as Array<readonly string[]>;
  const ids = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    const key = e.flags.join(' ');
    let id = ids.get(key);
    if (id === undefined) {
      ids.set(key, (id = lists.length));
      lists.push(e.flags);
    }
    cols.uids[i] = e.uid;
    cols.messageIds[i] = e.messageId;
    cols.modseqs[i] = e.modseq;
    cols.internalDates[i] = e.internalDate;
    cols.savedAts[i] = e.savedAt ?? NaN;
    cols.sizes[i] = e.size;
    cols.list[i] = id;
  }
  return cols;
}

export async function flagColumnsOf(store: MailStore, folderId: number): Promise<FlagColumns> {
  return store.flagColumns ? store.flagColumns(folderId) : columnsOfEntries(await store.listMessages(folderId));
}

/** UIDs, MODSEQs and flag lists alone: a fresh process's narrow index of a large folder where the store has one (issue 18). */
export function uidFlagColumnsOf(store: MailStore, folderId: number): Promise<UidFlagColumns> {
  return store.uidFlagColumns ? store.uidFlagColumns(folderId) : flagColumnsOf(store, folderId);
}

/** Entry `i` as an object (its flags the shared list: not to be changed). */
export function entryAt(cols: FlagColumns, i: number): MessageEntry {
  const savedAt = cols.savedAts[i]!;
  return {
    uid: cols.uids[i]!,
    messageId: cols.messageIds[i]!,
    flags: cols.lists[cols.list[i]!] as string[],
    modseq: cols.modseqs[i]!,
    internalDate: cols.internalDates[i]!,
    size: cols.sizes[i]!,
    savedAt: Number.isNaN(savedAt) ? null : savedAt,
  };
}

/** Per distinct flag list: whether it holds `flag` (case-insensitive). */
export function listsWith(cols: FlagColumns, flag: string): Uint8Array {
  const out = new Uint8Array(cols.lists.length);
  cols.lists.forEach((l, i) => {
    out[i] = hasFlag(l as string[], flag) ? 1 : 0;
  });
  return out;
}
