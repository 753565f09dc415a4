/**
 * STORE and UID STORE: FLAGS / +FLAGS / -FLAGS (.SILENT), with UNCHANGEDSINCE (CONDSTORE)
 * answered by [MODIFIED set].
 */
import { validateFlags } from '../format.js';
import { ImapSyntaxError, type Token, isAtom, num, str } from '../parser.js';
import { ok } from '../responses.js';
import { compactSet, parseSequenceSet } from '../sequence.js';
import type { ImapSession } from '../session.js';
import { entriesFor } from './fetch.js';
import { requireWritable } from './helpers.js';
import { needFlagRights } from '../acl.js';
import type { CommandSpec } from './types.js';
import { SELECTED } from './types.js';

async function runStore(session: ImapSession, args: Token[], byUid: boolean) {
  const sel = requireWritable(session);
  let i = 0;
  const ranges = parseSequenceSet(str(args[i++], 'sequence set'));
  let unchangedSince: number | undefined;
  if (args[i]?.t === 'list') {
    const mods = (args[i++] as { v: Token[] }).v;
    for (let j = 0; j < mods.length; j++) {
      if (isAtom(mods[j], 'UNCHANGEDSINCE')) unchangedSince = num(mods[++j], 'mod-sequence');
      else throw new ImapSyntaxError('Unsupported STORE modifier');
    }
    session.enableCondstore();
  }
  const m = /^([+-]?)FLAGS(\.SILENT)?$/i.exec(str(args[i++], 'STORE item'));
  if (!m) throw new ImapSyntaxError('Expected FLAGS, +FLAGS or -FLAGS');
  const op = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'set';
  const silent = Boolean(m[2]);
  const rest = args.slice(i);
  const flagTokens = rest.length === 1 && rest[0]!.t === 'list' ? rest[0]!.v : rest;
  const flags = validateFlags(
    flagTokens.map((t) => {
      if (t.t !== 'atom') throw new ImapSyntaxError('Invalid flag');
      return t.v;
    }),
  );
  // An empty list is valid for every operation (RFC 3501 9: flag-list = "(" [flag *(SP flag)] ")"); +/- change nothing.
  if (!rest.length) throw new ImapSyntaxError('No flags given');

  needFlagRights(session, sel.folder, flags);
  const uids = byUid ? sel.view.resolveUid(ranges) : sel.view.resolveSeq(ranges);
  if (!uids.length) return ok('STORE completed');
  const result = await session.store.storeFlags(sel.folder.id, uids, op, flags, unchangedSince);
  const updated = new Map(result.updated.map((u) => [u.uid, u]));
  for (const u of result.updated) sel.reported(u.uid, u.modseq);
  const conflicts = new Set(result.conflicts);
  const withModseq = session.condstore;

  let lines = '';
  if (!silent) {
    // Every message of the set gets its current flags, changed or not (RFC 3501 6.4.6).
    const entries = updated.size === uids.length ? result.updated : await entriesFor(session, sel, uids);
    // A keyword new to the session is announced in FLAGS before any FETCH shows it (RFC 3501
    // 7.2.6), also one another session set on a message of the set that this one has not seen.
    sel.announceKeywords(
      session,
      entries.map((e) => (updated.get(e.uid) ?? e).flags),
    );
    for (const e of entries) {
      if (conflicts.has(e.uid)) continue;
      const cur = updated.get(e.uid) ?? e;
      const seq = sel.view.seqOf(e.uid);
      if (!seq) continue;
      lines += `* ${seq} FETCH (${byUid ? `UID ${e.uid} ` : ''}FLAGS ${sel.formatFlags(e.uid, cur.flags)}${withModseq ? ` MODSEQ (${cur.modseq})` : ''})\r\n`;
    }
  } else {
    sel.announceKeywords(
      session,
      result.updated.map((u) => u.flags),
    );
  }
  if (silent && withModseq && unchangedSince !== undefined) {
    // RFC 7162 3.1.3: with UNCHANGEDSINCE the new MODSEQ is reported even for .SILENT.
    for (const u of result.updated) {
      const seq = sel.view.seqOf(u.uid);
      if (seq) lines += `* ${seq} FETCH (${byUid ? `UID ${u.uid} ` : ''}MODSEQ (${u.modseq}))\r\n`;
    }
  }
  if (lines) session.write(lines);
  if (conflicts.size) {
    const ids = [...conflicts]
      .map((u) => (byUid ? u : sel.view.seqOf(u)))
      .filter((n) => n > 0)
      .sort((a, b) => a - b);
    return ok('Some messages were modified since', `MODIFIED ${compactSet(ids)}`);
  }
  return ok('STORE completed');
}

export const store: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    return runStore(session, cmd.args, false);
  },
};

export const uidStore: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    return runStore(session, cmd.args, true);
  },
};
