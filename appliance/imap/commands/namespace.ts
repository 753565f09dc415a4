import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

export const namespace: CommandSpec = {
  states: AUTHED,
  async handler(session) {
    session.untagged('NAMESPACE (("" "/")) NIL NIL');
    return undefined;
  },
};
