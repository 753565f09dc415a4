import { DELIMITER } from '../mailbox-names.js';
import { ImapNo } from '../responses.js';
import { mailboxArg, mailboxIdOf } from './helpers.js';
import { needNameRight } from '../shared-access.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

/**
 * DELETE. A mailbox with children: IMAP4rev1 sessions are refused with HASCHILDREN (RFC 9051
 * 6.3.4 allows either); under IMAP4rev2 the mailbox and its messages go and the name stays as a
 * \Noselect level while children exist (RFC 9051 6.3.4's first example). Deleting such a
 * \Noselect name is an error (HASCHILDREN).
 */
export const del: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    const name = mailboxArg(session, cmd.args[0]);
    if (name === 'INBOX') throw new ImapNo('INBOX cannot be deleted', 'CANNOT');
    await needNameRight(session, name, 'x', 'delete');
    const mailboxId = mailboxIdOf(session);
    const folders = await session.store.listFolders(mailboxId);
    const folder = folders.find((f) => f.name === name);
    const hasChildren = folders.some((f) => f.name.startsWith(name + DELIMITER));
    if (!folder) {
      if (hasChildren) throw new ImapNo('Name has inferior hierarchical names and is not a mailbox', 'HASCHILDREN');
      throw new ImapNo('No such mailbox', 'NONEXISTENT');
    }
    if (hasChildren && !session.rev2) throw new ImapNo('Delete the child mailboxes first', 'HASCHILDREN');
    if (session.selected?.folder.id === folder.id) {
      // Deleting the mailbox this session has selected: deselect it first (others get BYE).
      session.selected.close();
      session.selected = null;
      session.state = 'authenticated';
      if (session.qresync || session.rev2) session.untagged('OK [CLOSED] Mailbox deleted');
    }
    await session.store.deleteFolder(mailboxId, name);
    return undefined;
  },
};
