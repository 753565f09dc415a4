/**
 * CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4): a SEARCH or SORT with RETURN (UPDATE) stays
 * alive until CANCELUPDATE or until the mailbox is closed, and the client is told how its
 * result changes as the folder changes: `* ESEARCH (TAG "t") UID ADDTO (position uids)` and
 * `REMOVETO` (always UIDs, RFC 5267 4.3; position 0 for SEARCH, the 1-based place in the sorted
 * list for SORT). Only the messages that changed are evaluated again (flag changes, new
 * messages), and expunged messages leave the result when their EXPUNGE is reported; the whole
 * folder is never searched again on a change.
 */
import type { MessageEntry, SortRow } from '../mailstore/store.types.js';
import type { SearchKey } from './search.js';
import { executeSearch } from './search-executor.js';
import type { SelectedMailbox } from './selected.js';
import { compactSet } from './sequence.js';
import { compareRows, type SortCriterion } from './sort.js';
import type { ImapSession } from './session.js';

/** Update contexts one selected mailbox may hold; more get NOUPDATE (RFC 5267 4.2). */
export const MAX_UPDATE_CONTEXTS = 16;

export class UpdateContext {
  /** SEARCH: the result as ascending UIDs. */
  private readonly members: Set<number>;
  /** SORT: the result in sort order. */
  private readonly rows: SortRow[] | null;
  private readonly compare: ((a: SortRow, b: SortRow) => number) | null;

  constructor(
    readonly tag: string,
    private readonly key: SearchKey,
    criteria: SortCriterion[] | null,
    /** The initial result: UIDs (SEARCH) or rows in sort order (SORT). */
    initial: number[] | SortRow[],
  ) {
    if (criteria) {
      this.rows = [...(initial as SortRow[])];
      this.compare = compareRows(criteria);
      this.members = new Set(this.rows.map((r) => r.uid));
    } else {
      this.rows = null;
      this.compare = null;
      this.members = new Set(initial as number[]);
    }
  }

  private head(): string {
    return `* ESEARCH (TAG ${JSON.stringify(this.tag)}) UID`;
  }

  /** Messages left the mailbox (their EXPUNGE is being reported): REMOVETO. */
  removed(uids: number[]): string {
    return this.remove(uids.filter((u) => this.members.has(u)));
  }

  private remove(uids: number[]): string {
    if (!uids.length) return '';
    if (!this.rows) {
      for (const u of uids) this.members.delete(u);
      return `${this.head()} REMOVETO (0 ${compactSet([...uids].sort((a, b) => a - b))})\r\n`;
    }
    const pairs: string[] = [];
    const gone = new Set(uids);
    // Each position is where the message is when it is removed, earlier removals applied.
    for (let i = 0; i < this.rows.length;) {
      const r = this.rows[i]!;
      if (gone.has(r.uid)) {
        this.rows.splice(i, 1);
        this.members.delete(r.uid);
        pairs.push(`${i + 1} ${r.uid}`);
      } else i++;
    }
    return `${this.head()} REMOVETO (${pairs.join(' ')})\r\n`;
  }

  /**
   * Messages that were added or changed: evaluated again against the criteria, they join or
   * leave the result. `rowsOf` gives sort rows of UIDs that join a SORT result.
   */
  async changed(session: ImapSession, sel: SelectedMailbox, entries: MessageEntry[], rowsOf: () => Promise<Map<number, SortRow>>): Promise<string> {
    if (!entries.length) return '';
    const hits = new Set((await executeSearch(session, sel, this.key, entries)).map((h) => h.uid));
    const leaving: number[] = [];
    const joining: number[] = [];
    for (const e of entries) {
      const was = this.members.has(e.uid);
      const is = hits.has(e.uid);
      if (was && !is) leaving.push(e.uid);
      else if (!was && is) joining.push(e.uid);
    }
    let out = this.remove(leaving);
    if (!joining.length) return out;
    if (!this.rows) {
      for (const u of joining) this.members.add(u);
      return out + `${this.head()} ADDTO (0 ${compactSet(joining)})\r\n`;
    }
    const byUid = await rowsOf();
    const pairs: string[] = [];
    for (const uid of joining) {
      const row = byUid.get(uid);
      if (!row) continue;
      // Binary search for the place that keeps the list sorted.
      let lo = 0;
      let hi = this.rows.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.compare!(this.rows[mid]!, row) < 0) lo = mid + 1;
        else hi = mid;
      }
      this.rows.splice(lo, 0, row);
      this.members.add(uid);
      pairs.push(`${lo + 1} ${uid}`);
    }
    if (pairs.length) out += `${this.head()} ADDTO (${pairs.join(' ')})\r\n`;
    return out;
  }
}
