/**
 * \Seen per member of a shared mailbox (issue 19). Where a grant says `seenPerMember`, the
 * member's \Seen lives in `member_seen` (migration 0042), one row per folder entry the member
 * has seen; the entry's shared flags (and everyone else's \Seen) are left alone. Everything else
 * (other flags, the owner's and shared-\Seen members' view) is the folder's shared flags.
 *
 * `MemberSeenIndex` is the table; `memberView` and `storeMemberFlags` are the flag reads and
 * writes as one member sees them, built on the MailStore interface.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';
import { hasFlag, normalizeFlags, sameFlags } from './flags.js';
import type { MailStore, MessageEntry, StoreFlagsResult } from './store.types.js';

const SEEN = '\\Seen';

export class MemberSeenIndex {
  constructor(private readonly db: Kysely<DB>) {}

  /** UIDs of the folder the member has seen (rows of expunged entries may be among them). */
  async seen(member: string, folderId: number): Promise<Set<number>> {
    const rows = await this.db.selectFrom('member_seen').select('uid').where('member_mailbox_id', '=', member).where('folder_id', '=', folderId).execute();
    return new Set(rows.map((r) => Number(r.uid)));
  }

  /** Sets or clears the member's \Seen on the UIDs; returns the UIDs whose state changed. */
  async mark(member: string, folderId: number, uids: number[], seen: boolean): Promise<number[]> {
    if (!uids.length) return [];
    return this.db.transaction().execute(async (trx) => {
      const have = new Set(
        (await trx.selectFrom('member_seen').select('uid').where('member_mailbox_id', '=', member).where('folder_id', '=', folderId).where('uid', 'in', uids).execute()).map((r) => Number(r.uid)),
      );
      const changed = uids.filter((u) => have.has(u) !== seen);
      if (!changed.length) return [];
      if (seen)
        await trx
          .insertInto('member_seen')
          .values(changed.map((uid) => ({ member_mailbox_id: member, folder_id: folderId, uid })))
          .execute();
      else await trx.deleteFrom('member_seen').where('member_mailbox_id', '=', member).where('folder_id', '=', folderId).where('uid', 'in', changed).execute();
      return changed;
    });
  }

  /** Entries of the folder (still present) the member has seen. */
  async seenCount(member: string, folderId: number): Promise<number> {
    const row = await this.db
      .selectFrom('member_seen as s')
      .innerJoin('folder_messages as m', (j) => j.onRef('m.folder_id', '=', 's.folder_id').onRef('m.uid', '=', 's.uid'))
      .select(sql<number>`count(*)`.as('n'))
      .where('s.member_mailbox_id', '=', member)
      .where('s.folder_id', '=', folderId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Drops every member's rows of entries that left the folder (expunge, move). */
  async forget(folderId: number, uids: number[]): Promise<void> {
    for (let i = 0; i < uids.length; i += 500) {
      await this.db
        .deleteFrom('member_seen')
        .where('folder_id', '=', folderId)
        .where('uid', 'in', uids.slice(i, i + 500))
        .execute();
    }
  }
}

/** Entries with \Seen replaced by the member's own. */
export function withMemberSeen(entries: MessageEntry[], seen: ReadonlySet<number>): MessageEntry[] {
  return entries.map((e) => {
    const shared = hasFlag(e.flags, SEEN);
    const mine = seen.has(e.uid);
    if (shared === mine) return e;
    return { ...e, flags: mine ? [...e.flags, SEEN] : e.flags.filter((f) => f.toLowerCase() !== '\\seen') };
  });
}

export interface MemberFlagScope {
  member: string;
  /** \Seen of this member is kept per member. */
  seenPerMember: boolean;
  /** Whether the member may change a flag (flags it may not change are left as they are). */
  mayChange(flag: string): boolean;
}

/**
 * STORE as one member: only the flags the member may change are changed (RFC 4314 4: a STORE
 * with some forbidden flags still changes the others), \Seen goes to the member's own row when
 * it is kept per member. `set` becomes add + remove when some flags must stay as they are.
 * Returns the entries whose flags (as the member sees them) changed, with those flags.
 */
export async function storeMemberFlags(
  store: MailStore,
  index: MemberSeenIndex | null,
  scope: MemberFlagScope,
  folderId: number,
  uids: number[],
  op: 'set' | 'add' | 'remove',
  flags: string[],
  unchangedSince?: number,
): Promise<StoreFlagsResult> {
  const idx = scope.seenPerMember ? index : null;
  const wanted = normalizeFlags(flags);
  const isSeen = (f: string) => f.toLowerCase() === '\\seen';
  const sharedOk = (f: string) => scope.mayChange(f) && !(idx && isSeen(f));
  const entries = (await store.listMessages(folderId)).filter((e) => uids.includes(e.uid));
  const before = new Map((idx ? withMemberSeen(entries, await idx.seen(scope.member, folderId)) : entries).map((e) => [e.uid, e]));
  const targets = uids.filter((u) => before.has(u));
  const conflicts = new Set<number>();
  if (op === 'set' && !idx && ['\\Seen', '\\Deleted', '\\Flagged'].every((f) => scope.mayChange(f))) {
    // Every flag may change: the plain STORE (one MODSEQ).
    for (const c of (await store.storeFlags(folderId, targets, 'set', wanted, unchangedSince)).conflicts) conflicts.add(c);
  } else if (op === 'set') {
    const add = wanted.filter(sharedOk);
    const remove = new Set<string>();
    for (const e of before.values()) for (const f of e.flags) if (sharedOk(f) && !hasFlag(wanted, f)) remove.add(f);
    if (remove.size) for (const c of (await store.storeFlags(folderId, targets, 'remove', [...remove], unchangedSince)).conflicts) conflicts.add(c);
    const rest = targets.filter((u) => !conflicts.has(u));
    if (add.length) for (const c of (await store.storeFlags(folderId, rest, 'add', add, remove.size ? undefined : unchangedSince)).conflicts) conflicts.add(c);
  } else {
    const part = wanted.filter(sharedOk);
    if (part.length) for (const c of (await store.storeFlags(folderId, targets, op, part, unchangedSince)).conflicts) conflicts.add(c);
  }
  if (idx && scope.mayChange(SEEN)) {
    const want = op === 'set' ? hasFlag(wanted, SEEN) : hasFlag(wanted, SEEN) ? op === 'add' : null;
    if (want !== null)
      await idx.mark(
        scope.member,
        folderId,
        targets.filter((u) => !conflicts.has(u)),
        want,
      );
  }
  let after = (await store.listMessages(folderId)).filter((e) => before.has(e.uid));
  if (idx) after = withMemberSeen(after, await idx.seen(scope.member, folderId));
  const updated = after.filter((e) => {
    const o = before.get(e.uid)!;
    return o.modseq !== e.modseq || !sameFlags(o.flags, e.flags);
  });
  return { updated, conflicts: [...conflicts] };
}
