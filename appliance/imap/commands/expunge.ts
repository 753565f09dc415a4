import { parseSequenceSet } from '../sequence.js';
import { expectEnd, str } from '../parser.js';
import { requireWritable } from './helpers.js';
import { needRight } from '../shared-access.js';
import type { CommandSpec } from './types.js';
import { SELECTED } from './types.js';

export const expunge: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 0);
    const sel = requireWritable(session);
    needRight(session, sel.folder, 'e', 'expunge');
    const removed = await session.store.expunge(sel.folder.id);
    sel.expungedBySelf(session, removed);
    return undefined;
  },
};

/** UID EXPUNGE (UIDPLUS): only the given UIDs that are flagged \Deleted. */
export const uidExpunge: CommandSpec = {
  states: SELECTED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 1);
    const sel = requireWritable(session);
    needRight(session, sel.folder, 'e', 'expunge');
    const uids = sel.view.resolveUid(parseSequenceSet(str(cmd.args[0], 'UID set')));
    if (uids.length) {
      const removed = await session.store.expunge(sel.folder.id, uids);
      sel.expungedBySelf(session, removed);
    }
    return undefined;
  },
};
