/**
 * QUOTA (RFC 9208): one quota root "" per mailbox with the STORAGE resource (KiB), the limit
 * the control plane sets. SETQUOTA is refused: quotas are set by the operator.
 */
import { expectEnd, str } from '../parser.js';
import { ImapNo } from '../responses.js';
import type { ImapSession } from '../session.js';
import { folderOrFail, mailboxArg, mailboxIdOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

async function quotaLine(session: ImapSession): Promise<string> {
  const q = await session.store.quota(mailboxIdOf(session));
  return `* QUOTA "" (STORAGE ${Math.ceil(q.usedBytes / 1024)} ${Math.floor(q.quotaBytes / 1024)})\r\n`;
}

export const getquotaroot: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 1);
    const folder = await folderOrFail(session, mailboxArg(session, cmd.args[0]));
    session.write(`* QUOTAROOT ${session.mailboxName(folder.name)} ""\r\n` + (await quotaLine(session)));
    return undefined;
  },
};

export const getquota: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 1);
    if (str(cmd.args[0], 'quota root') !== '') throw new ImapNo('No such quota root', 'NONEXISTENT');
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
