import { DELIMITER } from '../mailbox-names.js';
import { ImapNo } from '../responses.js';
import { folderOrFail, mailboxArg, mailboxIdOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

export const del: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    const name = mailboxArg(cmd.args[0]);
    if (name === 'INBOX') throw new ImapNo('INBOX cannot be deleted', 'CANNOT');
    const mailboxId = mailboxIdOf(session);
    const folder = await folderOrFail(session, name);
    const folders = await session.store.listFolders(mailboxId);
    if (folders.some((f) => f.name.startsWith(name + DELIMITER))) throw new ImapNo('Delete the child mailboxes first', 'HASCHILDREN');
    if (session.selected?.folder.id === folder.id) {
      // Deleting the mailbox this session has selected: deselect it first (others get BYE).
      session.selected.close();
      session.selected = null;
      session.state = 'authenticated';
      if (session.qresync) session.untagged('OK [CLOSED] Mailbox deleted');
    }
    await session.store.deleteFolder(mailboxId, name);
    return undefined;
  },
};
