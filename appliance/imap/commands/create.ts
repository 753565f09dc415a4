import { isAppError } from '../../core/kernel/errors.js';
import { DELIMITER } from '../mailbox-names.js';
import { mailboxId as objectMailboxId } from '../object-ids.js';
import { ImapNo, ok } from '../responses.js';
import { astring } from '../compiler.js';
import { mailboxArgSupplied, mailboxIdOf } from './helpers.js';
import { needNameRight } from '../shared-access.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

/** CREATE: also creates missing superior names (RFC 3501 6.3.3). */
export const create: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    const { name, supplied } = mailboxArgSupplied(session, cmd.args[0]);
    if (name === 'INBOX') throw new ImapNo('INBOX always exists', 'ALREADYEXISTS');
    if (!name || name.startsWith(DELIMITER) || name.includes(DELIMITER + DELIMITER)) throw new ImapNo('Invalid mailbox name', 'CANNOT');
    await needNameRight(session, name, 'k', 'create');
    const mailboxId = mailboxIdOf(session);
    const segments = name.split(DELIMITER);
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join(DELIMITER);
      if (!(await session.store.getFolder(mailboxId, parent))) {
        try {
          await session.store.createFolder(mailboxId, parent);
        } catch (err) {
          if (!isAppError(err, 'AlreadyExists')) throw err;
        }
      }
    }
    const folder = await session.store.createFolder(mailboxId, name);
    // RFC 9051 5.1: a name stored in another form than the client sent (NFC) is told with OLDNAME.
    if (supplied) session.untagged(`LIST () "${DELIMITER}" ${session.mailboxName(name)} ("OLDNAME" (${astring(supplied, true)}))`);
    // RFC 8474 4.1: the new mailbox's id in the tagged OK.
    return ok('CREATE completed', `MAILBOXID (${objectMailboxId(folder.id)})`);
  },
};
