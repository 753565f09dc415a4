import { isAppError } from '../../core/kernel/errors.js';
import { parseDateTime, validateFlags } from '../format.js';
import { catenate } from '../catenate.js';
import { ImapSyntaxError, type Token, isAtom } from '../parser.js';
import { ImapNo, ok } from '../responses.js';
import { compactSet } from '../sequence.js';
import { folderOrFail, mailboxArg, mailboxIdOf } from './helpers.js';
import { needRight } from '../shared-access.js';
import { isSharedName } from '../shared-namespace.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

/** APPEND, MULTIAPPEND and CATENATE through the one ingest path; atomic, quota-checked, APPENDUID (UIDPLUS). */
export const append: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    const name = mailboxArg(session, cmd.args[0]);
    // MULTIAPPEND (RFC 3502 6.3.11): 1*(SP [flag-list] [date-time] literal), stored all or none.
    const messages: Array<{ raw: Buffer; flags: string[]; internalDate?: number }> = [];
    let i = 1;
    const next = () => cmd.args[i];
    while (i < cmd.args.length) {
      let flags: string[] = [];
      let internalDate: number | undefined;
      if (next()?.t === 'list') {
        flags = validateFlags(
          (next() as { v: Token[] }).v.map((t) => {
            if (t.t !== 'atom') throw new ImapSyntaxError('Invalid flag');
            return t.v;
          }),
        );
        i++;
      }
      const maybeDate = next();
      if (maybeDate?.t === 'string') {
        internalDate = parseDateTime(maybeDate.v);
        i++;
      }
      let msg = next();
      if (isAtom(msg, 'CATENATE')) {
        // CATENATE (RFC 4469 5): the message is assembled from TEXT literals and URLs.
        i++;
        const parts = next();
        if (!parts || parts.t !== 'list') throw new ImapSyntaxError('CATENATE needs a list of parts');
        msg = { t: 'literal', v: await catenate(session, mailboxIdOf(session), parts.v, session.config.maxMessageBytes) };
      }
      if (!msg || msg.t !== 'literal') throw new ImapSyntaxError('APPEND needs the message as a literal');
      i++;
      if (msg.v.length > session.config.maxMessageBytes) throw new ImapNo(`Message too large (APPENDLIMIT ${session.config.maxMessageBytes})`, 'TOOBIG');
      if (!msg.v.length) throw new ImapNo('Empty message', 'CANNOT');
      messages.push({ raw: msg.v, flags, internalDate });
    }
    if (!messages.length) throw new ImapSyntaxError('APPEND needs the message as a literal');
    // A folder of the user's own mailbox is not looked up here (issue 18: the lookup delayed the
    // blob's write and syncs by a query): its owner holds every right, and the store finds it in
    // the ingest transaction (a missing one: NotFound, NO [TRYCREATE] below, nothing stored).
    // A shared folder is looked up first, for the member's rights on it.
    if (isSharedName(name)) needRight(session, await folderOrFail(session, name, 'TRYCREATE'), 'i', 'append to');
    try {
      if (messages.length === 1) {
        const m = messages[0]!;
        const r = await session.store.append(mailboxIdOf(session), name, m.raw, { flags: m.flags, internalDate: m.internalDate });
        return ok('APPEND completed', `APPENDUID ${r.uidValidity} ${r.uid}`);
      }
      const r = await session.store.appendMany(mailboxIdOf(session), name, messages);
      return ok('APPEND completed', `APPENDUID ${r.uidValidity} ${compactSet(r.uids)}`);
    } catch (err) {
      if (isAppError(err, 'NotFound')) throw new ImapNo('No such mailbox', 'TRYCREATE');
      throw err;
    }
  },
};
