/** Argument helpers shared by command handlers. */
import type { FolderInfo } from '../../mailstore/store.types.js';
import { decodeMailboxName, normalizeName } from '../mailbox-names.js';
import { ImapSyntaxError, type Token, str } from '../parser.js';
import { ImapNo } from '../responses.js';
import type { SelectedMailbox } from '../selected.js';
import type { ImapSession } from '../session.js';

/** A mailbox name argument: modified UTF-7 decoded, INBOX normalised. */
export function mailboxArg(t: Token | undefined): string {
  const raw = str(t, 'mailbox name');
  if (raw.length > 1000) throw new ImapSyntaxError('Mailbox name too long');
  return normalizeName(decodeMailboxName(raw));
}

export function selectedOf(session: ImapSession): SelectedMailbox {
  if (!session.selected) throw new ImapNo('No mailbox selected');
  return session.selected;
}

export function mailboxIdOf(session: ImapSession): string {
  if (!session.user) throw new ImapNo('Not logged in');
  return session.user.mailboxId;
}

/** The folder by name, or NO [NONEXISTENT] (or [TRYCREATE] for copy/append targets). */
export async function folderOrFail(session: ImapSession, name: string, code: 'NONEXISTENT' | 'TRYCREATE' = 'NONEXISTENT'): Promise<FolderInfo> {
  const folder = await session.store.getFolder(mailboxIdOf(session), name);
  if (!folder) throw new ImapNo('No such mailbox', code);
  return folder;
}

export function requireWritable(session: ImapSession): SelectedMailbox {
  const sel = selectedOf(session);
  if (sel.readOnly) throw new ImapNo('Mailbox is read-only', 'READ-ONLY');
  return sel;
}
