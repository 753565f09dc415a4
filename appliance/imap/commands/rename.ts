import { isAppError } from '../../core/kernel/errors.js';
import { DELIMITER } from '../mailbox-names.js';
import { ImapNo } from '../responses.js';
import { folderOrFail, mailboxArg, mailboxIdOf } from './helpers.js';
import { needNameRight } from '../shared-access.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

export const rename: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    const from = mailboxArg(session, cmd.args[0]);
    const to = mailboxArg(session, cmd.args[1]);
    if (to === 'INBOX') throw new ImapNo('Cannot rename to INBOX', 'ALREADYEXISTS');
    if (!to || to.startsWith(DELIMITER) || to.includes(DELIMITER + DELIMITER)) throw new ImapNo('Invalid mailbox name', 'CANNOT');
    await needNameRight(session, from, 'x', 'rename');
    await needNameRight(session, to, 'k', 'create');
    const mailboxId = mailboxIdOf(session);
    await folderOrFail(session, from);
    if (await session.store.getFolder(mailboxId, to)) throw new ImapNo('Target mailbox exists', 'ALREADYEXISTS');
    const segments = to.split(DELIMITER);
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join(DELIMITER);
      if (parent === from || parent.startsWith(from + DELIMITER)) throw new ImapNo('Cannot move a mailbox into itself', 'CANNOT');
      if (!(await session.store.getFolder(mailboxId, parent))) {
        try {
          await session.store.createFolder(mailboxId, parent);
        } catch (err) {
          if (!isAppError(err, 'AlreadyExists')) throw err;
        }
      }
    }
    await session.store.renameFolder(mailboxId, from, to);
    return undefined;
  },
};
