import { mailboxArg, mailboxIdOf } from './helpers.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

function make(subscribed: boolean): CommandSpec {
  return {
    states: AUTHED,
    async handler(session, cmd) {
      await session.store.setSubscribed(mailboxIdOf(session), mailboxArg(session, cmd.args[0]), subscribed);
      return undefined;
    },
  };
}

export const subscribe = make(true);
export const unsubscribe = make(false);
