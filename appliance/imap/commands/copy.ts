/** COPY / MOVE (RFC 6851) and their UID forms, answered with COPYUID (UIDPLUS). */
import { isAppError } from '../../core/kernel/errors.js';
import { type Token, expectEnd, str } from '../parser.js';
import { ImapNo, ok } from '../responses.js';
import { compactSet, parseSequenceSet } from '../sequence.js';
import type { ImapSession } from '../session.js';
import { folderOrFail, mailboxArg, requireWritable, selectedOf } from './helpers.js';
import { needRight } from '../shared-access.js';
import type { CommandSpec } from './types.js';
import { SELECTED } from './types.js';

async function run(session: ImapSession, args: Token[], byUid: boolean, move: boolean) {
  expectEnd(args, 2);
  const sel = move ? requireWritable(session) : selectedOf(session);
  const ranges = parseSequenceSet(str(args[0], 'sequence set'));
  const dest = await folderOrFail(session, mailboxArg(session, args[1]), 'TRYCREATE');
  needRight(session, dest, 'i', 'copy into');
  if (move) needRight(session, sel.folder, 'e', 'move out of');
  const uids = byUid ? sel.view.resolveUid(ranges) : sel.view.resolveSeq(ranges);
  if (!uids.length) return ok(`${move ? 'MOVE' : 'COPY'} completed, nothing to do`);
  let result;
  try {
    result = move ? await session.store.moveMessages(sel.folder.id, uids, dest.id) : await session.store.copyMessages(sel.folder.id, uids, dest.id);
  } catch (err) {
    if (isAppError(err, 'NotFound')) throw new ImapNo('No such mailbox', 'TRYCREATE');
    throw err;
  }
  const code = result.pairs.length ? `COPYUID ${result.uidValidity} ${compactSet(result.pairs.map((p) => p[0]))} ${compactSet(result.pairs.map((p) => p[1]))}` : undefined;
  if (!move) return ok('COPY completed', code);
  if (code) session.untagged(`OK [${code}] Moved`);
  sel.expungedBySelf(
    session,
    result.pairs.map((p) => p[0]),
  );
  return ok('MOVE completed');
}

export const copy: CommandSpec = { states: SELECTED, handler: (s, c) => run(s, c.args, false, false) };
export const uidCopy: CommandSpec = { states: SELECTED, handler: (s, c) => run(s, c.args, true, false) };
export const move: CommandSpec = { states: SELECTED, handler: (s, c) => run(s, c.args, false, true) };
export const uidMove: CommandSpec = { states: SELECTED, handler: (s, c) => run(s, c.args, true, true) };
