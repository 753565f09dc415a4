import { isAppError } from '../../core/errors.js';
import { parseDateTime, validateFlags } from '../format.js';
import { ImapSyntaxError, type Token } from '../parser.js';
import { ImapNo, ok } from '../responses.js';
import { folderOrFail, mailboxArg, mailboxIdOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

/** APPEND through the one ingest path; atomic, quota-checked, APPENDUID (UIDPLUS). */
export const append: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    const name = mailboxArg(cmd.args[0]);
    let i = 1;
    let flags: string[] = [];
    let internalDate: number | undefined;
    const next = () => cmd.args[i];
    if (next()?.t === 'list') {
      flags = validateFlags((next() as { v: Token[] }).v.map((t) => {
        if (t.t !== 'atom') throw new ImapSyntaxError('Invalid flag');
        return t.v;
      }));
      i++;
    }
    const maybeDate = next();
    if (maybeDate?.t === 'string') {
      internalDate = parseDateTime(maybeDate.v);
      i++;
    }
    const msg = next();
    if (!msg || msg.t !== 'literal') throw new ImapSyntaxError('APPEND needs the message as a literal');
    if (cmd.args.length > i + 1) throw new ImapSyntaxError('MULTIAPPEND is not supported');
    if (msg.v.length > session.config.maxMessageBytes) throw new ImapNo(`Message too large (APPENDLIMIT ${session.config.maxMessageBytes})`, 'TOOBIG');
    if (!msg.v.length) throw new ImapNo('Empty message', 'CANNOT');
    await folderOrFail(session, name, 'TRYCREATE');
    try {
      const r = await session.store.append(mailboxIdOf(session), name, msg.v, { flags, internalDate });
      return ok('APPEND completed', `APPENDUID ${r.uidValidity} ${r.uid}`);
    } catch (err) {
      if (isAppError(err, 'NotFound')) throw new ImapNo('No such mailbox', 'TRYCREATE');
      throw err;
    }
  },
};
