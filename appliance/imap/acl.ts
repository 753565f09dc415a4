/**
 * Rights checks of commands on shared folders (RFC 4314 4), next to the name resolution in
 * shared-access.ts: what SELECT opens and which flags a STORE may change.
 */
import type { FolderInfo } from '../mailstore/store.types.js';
import { ImapNo } from './responses.js';
import { canWrite, letterForFlag } from './rights.js';
import type { ImapSession } from './session.js';

/**
 * SELECT/EXAMINE of a folder: NO [NOPERM] without "r"; read-only when asked (EXAMINE) or when
 * the user holds no right that changes the mailbox (s, w, t, e).
 */
export function openMode(session: ImapSession, folder: FolderInfo, examine: boolean): boolean {
  const shared = session.shared;
  if (!shared) return examine;
  shared.selecting();
  const letters = shared.rightsOfFolder(folder);
  if (!letters.includes('r')) throw new ImapNo(`No permission to read ${folder.name}`, 'NOPERM');
  return examine || !canWrite(letters);
}

/**
 * STORE (RFC 4314 4): \Seen needs "s", \Deleted "t", other flags "w". A STORE fails only when
 * the user may change none of the flags named (FLAGS () needs at least one of s, t, w); the
 * flags it may not change are left as they are (member-store.ts).
 */
export function needFlagRights(session: ImapSession, folder: FolderInfo, flags: string[]): void {
  const shared = session.shared;
  if (!shared) return;
  const letters = shared.rightsOfFolder(folder);
  const ok = flags.length ? flags.some((f) => letters.includes(letterForFlag(f))) : /[stw]/.test(letters);
  if (!ok) throw new ImapNo(`No permission to change these flags in ${folder.name}`, 'NOPERM');
}
