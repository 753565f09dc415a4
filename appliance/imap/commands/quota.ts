/**
 * QUOTA (RFC 9208): one quota root "" per mailbox with the STORAGE resource (KiB), the limit
 * the control plane sets. SETQUOTA is refused: quotas are set by the operator. A shared
 * mailbox's folders have the root "Shared/<address>" with that mailbox's quota (issue 19).
 */
import { expectEnd, str } from '../parser.js';
import { ImapNo } from '../responses.js';
import type { ImapSession } from '../session.js';
import { folderOrFail, mailboxArg, mailboxIdOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

async function quotaLine(session: ImapSession, mailboxId = mailboxIdOf(session), root = '""'): Promise<string> {
  const q = await session.store.quota(mailboxId);
  return `* QUOTA ${root} (STORAGE ${Math.ceil(q.usedBytes / 1024)} ${Math.floor(q.quotaBytes / 1024)})\r\n`;
}

/** The quota root of a shared mailbox: its level in the shared namespace. */
function sharedRoot(session: ImapSession, mailboxId: string): string {
  return session.mailboxName(session.shared!.clientName(mailboxId, '').slice(0, -1));
}

export const getquotaroot: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 1);
    const folder = await folderOrFail(session, mailboxArg(session, cmd.args[0]));
    const root = folder.mailboxId === mailboxIdOf(session) ? '""' : sharedRoot(session, folder.mailboxId);
    session.write(`* QUOTAROOT ${session.mailboxName(folder.name)} ${root}\r\n` + (await quotaLine(session, folder.mailboxId, root)));
    return undefined;
  },
};

export const getquota: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 1);
    const root = str(cmd.args[0], 'quota root');
    if (root !== '') {
      const r = await session.shared?.resolve(root);
      if (r?.kind !== 'level' || !r.mailboxId) throw new ImapNo('No such quota root', 'NONEXISTENT');
      session.write(await quotaLine(session, r.mailboxId, sharedRoot(session, r.mailboxId)));
      return undefined;
    }
    session.write(await quotaLine(session));
    return undefined;
  },
};

export const setquota: CommandSpec = {
  states: AUTHED,
  async handler() {
    throw new ImapNo('Quotas are set by the administrator', 'NOPERM');
  },
};
