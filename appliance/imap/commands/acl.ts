/**
 * ACL (RFC 4314) over the grants of shared mailboxes (issue 19). A grant covers a whole
 * mailbox, so the ACL of every folder of a mailbox is the same: its owner (the mailbox's
 * address, every right) and each member by address with the letters of its grant (rights.ts).
 * GETACL, LISTRIGHTS, SETACL and DELETEACL need "a", which only the owner holds; SETACL and
 * DELETEACL change grants through the core's owner-managed sharing, which the tenant's policy
 * gates (refused: NO [NOPERM]) and which is audited like an API change. The `send` right has no
 * letter and is kept as it is by SETACL.
 */
import type { GrantRight } from '../../core/access/grants.types.js';
import type { FolderInfo } from '../../mailstore/store.types.js';
import { astring } from '../compiler.js';
import { expectEnd, str } from '../parser.js';
import { ImapNo } from '../responses.js';
import { OWNER_RIGHTS, RIGHT_GROUPS, lettersOf, rightsFromLetters } from '../rights.js';
import type { ImapSession } from '../session.js';
import { folderOrFail, mailboxArg } from './helpers.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

/** The folder, after checking the user administers its mailbox ("a": the owner only). */
async function administered(session: ImapSession, arg: Parameters<typeof mailboxArg>[1]): Promise<FolderInfo> {
  const folder = await folderOrFail(session, mailboxArg(session, arg));
  if (folder.mailboxId !== session.user!.mailboxId) throw new ImapNo(`No permission to administer ${folder.name}`, 'NOPERM');
  return folder;
}

function adminOf(session: ImapSession) {
  const acl = session.shared?.deps.acl;
  if (!acl) throw new ImapNo('Sharing is managed by the administrator', 'NOPERM');
  return acl;
}

const id = (s: string) => astring(s, false);

export const getacl: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 1);
    const folder = await administered(session, cmd.args[0]);
    const members = session.shared?.deps.acl ? await session.shared.deps.acl.members(session.user!) : [];
    const entries = [`${id(session.user!.address)} ${OWNER_RIGHTS}`, ...members.map((m) => `${id(m.address)} ${lettersOf(m.rights) || '""'}`)];
    session.untagged(`ACL ${session.mailboxName(folder.name)} ${entries.join(' ')}`);
    return undefined;
  },
};

export const myrights: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 1);
    const folder = await folderOrFail(session, mailboxArg(session, cmd.args[0]));
    const letters = session.shared ? session.shared.rightsOfFolder(folder) : OWNER_RIGHTS;
    session.untagged(`MYRIGHTS ${session.mailboxName(folder.name)} ${letters || '""'}`);
    return undefined;
  },
};

export const listrights: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 2);
    const folder = await administered(session, cmd.args[0]);
    const who = str(cmd.args[1], 'identifier').toLowerCase();
    // The owner always holds every right; a member may be given each group (granted as one right).
    const answer = who === session.user!.address ? OWNER_RIGHTS : `"" ${RIGHT_GROUPS.join(' ')}`;
    session.untagged(`LISTRIGHTS ${session.mailboxName(folder.name)} ${id(who)} ${answer}`);
    return undefined;
  },
};

export const setacl: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 3);
    const folder = await administered(session, cmd.args[0]);
    const who = str(cmd.args[1], 'identifier').toLowerCase();
    const spec = str(cmd.args[2], 'rights');
    if (who === session.user!.address) throw new ImapNo("The owner's rights cannot change", 'CANNOT');
    const mod = spec[0] === '+' || spec[0] === '-' ? spec[0] : '';
    const named = rightsFromLetters(mod ? spec.slice(1) : spec);
    if (!named) throw new ImapNo('Unknown right in the list (RIGHTS=texk)', 'CANNOT');
    const acl = adminOf(session);
    const current = new Set<GrantRight>((await acl.members(session.user!)).find((m) => m.address === who)?.rights ?? []);
    let next: Set<GrantRight>;
    if (mod === '+') next = new Set([...current, ...named]);
    else if (mod === '-') next = new Set([...current].filter((r) => !named.has(r)));
    else next = new Set([...named, ...(current.has('send') ? (['send'] as const) : [])]);
    const origin = { sourceIp: session.remoteAddress };
    if (next.size) await acl.setRights(session.user!, who, [...next], origin);
    else if (current.size) await acl.remove(session.user!, who, origin);
    session.log.info({ event: 'imap.acl.changed', mailboxId: folder.mailboxId, member: who, rights: [...next] }, 'SETACL');
    return undefined;
  },
};

export const deleteacl: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 2);
    const folder = await administered(session, cmd.args[0]);
    const who = str(cmd.args[1], 'identifier').toLowerCase();
    if (who === session.user!.address) throw new ImapNo("The owner's rights cannot change", 'CANNOT');
    await adminOf(session).remove(session.user!, who, { sourceIp: session.remoteAddress });
    session.log.info({ event: 'imap.acl.changed', mailboxId: folder.mailboxId, member: who, rights: [] }, 'DELETEACL');
    return undefined;
  },
};
