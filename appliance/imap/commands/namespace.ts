import { NAMESPACE_RESPONSE } from '../shared-namespace.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

export const namespace: CommandSpec = {
  states: AUTHED,
  async handler(session) {
    // RFC 2342: the shared namespace "Shared/" holds the shared mailboxes the user is a member of.
    session.untagged(session.shared ? NAMESPACE_RESPONSE : 'NAMESPACE (("" "/")) NIL NIL');
    return undefined;
  },
};
