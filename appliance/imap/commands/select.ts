import { astring } from '../compiler.js';
import { uidFlagColumnsOf } from '../flag-columns.js';
import { hasFlag } from '../format.js';
import { ImapSyntaxError, type Token, isAtom, num, str } from '../parser.js';
import { compactSet, parseSequenceSet, type SeqRanges } from '../sequence.js';
import { ok } from '../responses.js';
import { mailboxId } from '../object-ids.js';
import { EarlyWatch, SelectedMailbox } from '../selected.js';
import type { FolderInfo, UidFlagColumns } from '../../mailstore/store.types.js';
import type { ImapSession } from '../session.js';
import { folderOrFail, mailboxArgSupplied } from './helpers.js';
import { openMode } from '../acl.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

function deselect(session: ImapSession): boolean {
  const had = session.selected !== null;
  if (session.selected) {
    session.selected.close();
    session.selected = null;
  }
  session.state = 'authenticated';
  return had;
}

interface QresyncParams {
  uidValidity: number;
  modseq: number;
  knownUids: SeqRanges | null;
}

/** `(QRESYNC (uidvalidity modseq [known-uids [seq-match-data]]))` (RFC 7162 3.2.5); seq-match-data is not used. */
function parseQresync(t: Token | undefined): QresyncParams {
  if (!t || t.t !== 'list' || t.v.length < 2) throw new ImapSyntaxError('Invalid QRESYNC parameters');
  const uidValidity = num(t.v[0], 'UIDVALIDITY');
  const modseq = num(t.v[1], 'mod-sequence');
  const known = t.v[2] && t.v[2].t !== 'list' ? parseSequenceSet(str(t.v[2], 'known UIDs')) : null;
  return { uidValidity, modseq, knownUids: known };
}

function inRanges(uid: number, ranges: SeqRanges): boolean {
  for (const [a, b] of ranges) if (uid >= a && uid <= b) return true;
  return false;
}

/**
 * The sequence number of the first message without \Seen (RFC 3501 7.1, UNSEEN), 0 when none:
 * each flag list without it looked up natively in the flag-list column (issue 18: a JavaScript
 * loop over a mostly seen 100,000-message folder ran in code a fresh process had not compiled).
 */
export function firstUnseenOf(cols: Pick<UidFlagColumns, 'length' | 'list' | 'lists'>): number {
  const list = cols.list.subarray(0, cols.length);
  let first = list.length;
  cols.lists.forEach((flags, l) => {
    if (hasFlag(flags as string[], '\\Seen')) return;
    const at = list.subarray(0, first).indexOf(l);
    if (at >= 0) first = at;
  });
  return first < list.length ? first + 1 : 0;
}

/** UIDNEXT as of the columns' state when known (the same moment as EXISTS), else the folder row's (read before). */
function uidNextOf(folder: FolderInfo, cols: UidFlagColumns): number {
  const top = cols.length ? cols.uids[cols.length - 1]! + 1 : 0;
  return Math.max(cols.asOf?.uidNext ?? folder.uidNext, top);
}

function makeSelect(examine: boolean): CommandSpec {
  return {
    states: AUTHED,
    async handler(session, cmd) {
      const { name, supplied } = mailboxArgSupplied(session, cmd.args[0]);
      const params = cmd.args[1];
      let condstore = false;
      let qresync: QresyncParams | null = null;
      if (params) {
        if (params.t !== 'list' || cmd.args.length > 2) throw new ImapSyntaxError('Invalid SELECT parameters');
        for (let i = 0; i < params.v.length; i++) {
          const p = params.v[i];
          if (isAtom(p, 'CONDSTORE')) condstore = true;
          else if (isAtom(p, 'QRESYNC')) {
            if (!session.qresync) throw new ImapSyntaxError('ENABLE QRESYNC first');
            qresync = parseQresync(params.v[++i]);
          } else throw new ImapSyntaxError('Unsupported SELECT parameter');
        }
      }
      // A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1); the CLOSED code marks the
      // boundary under QRESYNC (RFC 7162 3.2.11) and always under IMAP4rev2 (RFC 9051 7.1).
      if (deselect(session) && (session.qresync || session.rev2)) session.untagged('OK [CLOSED] Previous mailbox closed');
      if (condstore) session.enableCondstore();
      const folder = await folderOrFail(session, name);
      // Shared folders (RFC 4314 4): SELECT needs "r" and is read-only without a right that changes state.
      const readOnly = openMode(session, folder, examine);
      // UIDs and flags as columns (issue 18): no object per message of a large folder, and from
      // a fresh process only the narrow copy of them (the rest is read when a command needs it).
      // Watched before the columns are read: what they miss is heard (no state read after the answer, issue 18).
      const early = new EarlyWatch(session.store, folder.id);
      let sel: SelectedMailbox;
      let cols: UidFlagColumns;
      try {
        cols = await uidFlagColumnsOf(session.store, folder.id);
        if (session.isClosed) return null;
        // \Recent (RFC 3501 2.3.2, 6.3.1/6.3.2): SELECT claims what no session was told of yet;
        // EXAMINE changes no state and shows the unclaimed messages as recent. IMAP4rev2 has no
        // \Recent (RFC 9051 Appendix E): such a session claims nothing, so rev1 sessions still get it.
        // The claim is decided in memory on a single node and written behind (store.claimRecent):
        // the RECENT count needs its answer, not its write.
        const top = cols.length ? cols.uids[cols.length - 1]! : 0;
        const recentFrom = session.rev2 ? Infinity : readOnly ? folder.recentUid : top ? await session.store.claimRecent(folder.id, top + 1, folder.recentUid) : Infinity;
        if (session.isClosed) return null;
        sel = new SelectedMailbox(session, folder, readOnly, cols, recentFrom, early);
      } finally {
        early.close(); // (a no-op once handed over)
      }
      session.selected = sel;
      session.state = 'selected';
      const firstUnseen = firstUnseenOf(cols);
      const lines = [
        `* FLAGS ${sel.flagsList()}`,
        `* OK [PERMANENTFLAGS ${sel.permanentFlagsList()}] Flags permitted`,
        `* ${cols.length} EXISTS`,
        // RFC 9051 6.3.2: rev2 drops RECENT and the UNSEEN code and sends the mailbox's LIST
        // (with OLDNAME when the name given was not in NFC, RFC 9051 5.1).
        ...(session.rev2
          ? [`* LIST () "/" ${session.mailboxName(folder.name)}${supplied ? ` ("OLDNAME" (${astring(supplied, true)}))` : ''}`]
          : [`* ${sel.recent.size} RECENT`, ...(firstUnseen ? [`* OK [UNSEEN ${firstUnseen}] First unseen`] : [])]),
        `* OK [UIDVALIDITY ${folder.uidValidity}] UIDs valid`,
        `* OK [UIDNEXT ${uidNextOf(folder, cols)}] Predicted next UID`,
        `* OK [HIGHESTMODSEQ ${sel.knownModseq}] Highest`,
        `* OK [MAILBOXID (${mailboxId(folder.id)})] Ok`,
      ];
      session.write(lines.join('\r\n') + '\r\n');
      if (qresync && qresync.uidValidity === folder.uidValidity) {
        // Quick resync: what vanished and what changed since the client's MODSEQ.
        const ch = await session.store.changesSince(folder.id, qresync.modseq);
        const known = qresync.knownUids;
        const vanished = ch.expunged.filter((u) => !known || inRanges(u, known));
        if (vanished.length) session.untagged(`VANISHED (EARLIER) ${compactSet(vanished)}`);
        let out = '';
        for (const e of ch.changed) {
          const seq = sel.view.seqOf(e.uid);
          if (seq) out += `* ${seq} FETCH (UID ${e.uid} FLAGS ${sel.formatFlags(e.uid, e.flags)} MODSEQ (${e.modseq}))\r\n`;
        }
        if (out) session.write(out);
      }
      return ok(`${examine ? 'EXAMINE' : 'SELECT'} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
    },
  };
}

export const select = makeSelect(false);
export const examine = makeSelect(true);

export const unselect: CommandSpec = {
  states: ['selected'],
  async handler(session) {
    deselect(session);
    return undefined;
  },
};

/** CLOSE: expunges silently when read-write, then deselects. */
export const close: CommandSpec = {
  states: ['selected'],
  async handler(session) {
    const sel = session.selected!;
    if (!sel.readOnly) await session.store.expunge(sel.folder.id);
    deselect(session);
    return undefined;
  },
};
