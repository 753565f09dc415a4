import type { FolderInfo } from '../../mailstore/store.types.js';
import { flagColumnsOf, listsWith } from '../flag-columns.js';
import { mailboxId } from '../object-ids.js';
import { ImapSyntaxError, list } from '../parser.js';
import type { ImapSession } from '../session.js';
import { folderOrFail, mailboxArg } from './helpers.js';
import { needRight } from '../shared-access.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

const ITEMS = new Set(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ', 'SIZE', 'DELETED', 'DELETED-STORAGE', 'APPENDLIMIT', 'MAILBOXID']);

/** STATUS items; RECENT is not one under IMAP4rev2 (RFC 9051 6.3.11 and Appendix E: answered BAD). */
export function parseStatusItems(t: Parameters<typeof list>[0], rev2 = false): string[] {
  const items = list(t, 'status items').map((x) => {
    if (x.t !== 'atom' || !ITEMS.has(x.v.toUpperCase())) throw new ImapSyntaxError('Invalid STATUS item');
    if (rev2 && x.v.toUpperCase() === 'RECENT') throw new ImapSyntaxError('STATUS RECENT does not exist in IMAP4rev2');
    return x.v.toUpperCase();
  });
  if (!items.length) throw new ImapSyntaxError('Empty STATUS item list');
  return items;
}

/** The `* STATUS name (...)` line for a folder. */
export async function statusLine(session: ImapSession, folder: FolderInfo, items: string[]): Promise<string> {
  const st = await session.store.folderStatus(folder.id);
  let deletedStorage = 0;
  if (items.includes('DELETED-STORAGE') && st.deleted) {
    // From the folder's columns (issue 18): no object per message.
    const cols = await flagColumnsOf(session.store, folder.id);
    const deleted = listsWith(cols, '\\Deleted');
    for (let i = 0; i < cols.length; i++) if (deleted[cols.list[i]!]) deletedStorage += cols.sizes[i]!;
  }
  const values: Record<string, number> = {
    MESSAGES: st.messages,
    RECENT: st.recent,
    UIDNEXT: st.uidNext,
    UIDVALIDITY: st.uidValidity,
    UNSEEN: st.unseen,
    HIGHESTMODSEQ: st.highestModseq,
    SIZE: st.size,
    DELETED: st.deleted,
    'DELETED-STORAGE': deletedStorage,
    APPENDLIMIT: session.config.maxMessageBytes,
  };
  // MAILBOXID (RFC 8474 4.2) is a parenthesised objectid.
  const item = (i: string) => (i === 'MAILBOXID' ? `MAILBOXID (${mailboxId(folder.id)})` : `${i} ${values[i]}`);
  return `* STATUS ${session.mailboxName(folder.name)} (${items.map(item).join(' ')})\r\n`;
}

export const status: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    const folder = await folderOrFail(session, mailboxArg(session, cmd.args[0]));
    needRight(session, folder, 'r', 'read');
    const items = parseStatusItems(cmd.args[1], session.rev2);
    if (items.includes('HIGHESTMODSEQ')) session.enableCondstore();
    session.write(await statusLine(session, folder, items));
    return undefined;
  },
};
