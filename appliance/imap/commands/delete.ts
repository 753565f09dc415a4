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
    await folderOrFail(session, name);
    const folders = await session.store.listFolders(mailboxId);
    if (folders.some((f) => f.name.startsWith(name + DELIMITER))) throw new ImapNo('Delete the child mailboxes first', 'INUSE');
    await session.store.deleteFolder(mailboxId, name);
    return undefined;
  },
};
