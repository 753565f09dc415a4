import { hasFlag } from '../format.js';
import { ImapSyntaxError, isAtom } from '../parser.js';
import { ok } from '../responses.js';
import { SelectedMailbox } from '../selected.js';
import { FLAGS, PERMANENT_FLAGS } from '../format.js';
import type { ImapSession } from '../session.js';
import { folderOrFail, mailboxArg } from './helpers.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

function deselect(session: ImapSession): void {
  if (session.selected) {
    session.selected.close();
    session.selected = null;
  }
  session.state = 'authenticated';
}

function makeSelect(readOnly: boolean): CommandSpec {
  return {
    states: AUTHED,
    async handler(session, cmd) {
      const name = mailboxArg(cmd.args[0]);
      const params = cmd.args[1];
      if (params) {
        if (params.t !== 'list' || cmd.args.length > 2) throw new ImapSyntaxError('Invalid SELECT parameters');
        for (const p of params.v) {
          if (isAtom(p, 'CONDSTORE')) session.condstore = true;
          else throw new ImapSyntaxError('Unsupported SELECT parameter');
        }
      }
      // A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1).
      deselect(session);
      const folder = await folderOrFail(session, name);
      const entries = await session.store.listMessages(folder.id);
      if (session.isClosed) return null;
      const sel = new SelectedMailbox(session, folder, readOnly, entries);
      session.selected = sel;
      session.state = 'selected';
      let firstUnseen = 0;
      for (let i = 0; i < entries.length; i++) {
        if (!hasFlag(entries[i]!.flags, '\\Seen')) {
          firstUnseen = i + 1;
          break;
        }
      }
      const lines = [
        `* FLAGS ${FLAGS}`,
        `* OK [PERMANENTFLAGS ${readOnly ? '()' : PERMANENT_FLAGS}] Flags permitted`,
        `* ${entries.length} EXISTS`,
        `* 0 RECENT`,
        ...(firstUnseen ? [`* OK [UNSEEN ${firstUnseen}] First unseen`] : []),
        `* OK [UIDVALIDITY ${folder.uidValidity}] UIDs valid`,
        `* OK [UIDNEXT ${folder.uidNext}] Predicted next UID`,
        `* OK [HIGHESTMODSEQ ${folder.highestModseq}] Highest`,
      ];
      session.write(lines.join('\r\n') + '\r\n');
      return ok(`${readOnly ? 'EXAMINE' : 'SELECT'} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
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
