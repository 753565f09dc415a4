/** Argument helpers shared by command handlers. */
import type { FolderInfo } from '../../mailstore/store.types.js';
import { nameFromClient } from '../mailbox-names.js';
import { ImapSyntaxError, type Token, str } from '../parser.js';
import { ImapNo } from '../responses.js';
import type { SelectedMailbox } from '../selected.js';
import type { ImapSession } from '../session.js';

/**
 * A mailbox name argument, INBOX normalised: modified UTF-7 decoded under IMAP4rev1, UTF-8 in
 * NFC under IMAP4rev2 (RFC 9051 5.1); `supplied` is the client's text when NFC changed it.
 */
export function mailboxArgSupplied(session: ImapSession, t: Token | undefined): { name: string; supplied: string | null } {
  const raw = str(t, 'mailbox name');
  if (raw.length > 1000) throw new ImapSyntaxError('Mailbox name too long');
  return nameFromClient(raw, session.rev2);
}

export function mailboxArg(session: ImapSession, t: Token | undefined): string {
  return mailboxArgSupplied(session, t).name;
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
