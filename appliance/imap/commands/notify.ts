/** NOTIFY SET / NOTIFY NONE (RFC 5465 6); the event handling is in ../notify.ts. */
import { Notifier, parseNotifySet } from '../notify.js';
import { ImapSyntaxError, expectEnd, isAtom } from '../parser.js';
import { mailboxArg } from './helpers.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

export const notify: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    if (isAtom(cmd.args[0], 'NONE')) {
      expectEnd(cmd.args, 1);
      session.notifier?.stop();
      session.notifier = null;
      return undefined;
    }
    if (!isAtom(cmd.args[0], 'SET')) throw new ImapSyntaxError('NOTIFY needs SET or NONE');
    const { status, filters } = parseNotifySet(cmd.args.slice(1), (t) => mailboxArg(session, t));
    // A new NOTIFY SET replaces the previous one (RFC 5465 6).
    session.notifier?.stop();
    session.notifier = null;
    session.notifier = await Notifier.start(session, filters, status);
    return undefined;
  },
};
