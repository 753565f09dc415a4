import { expectEnd } from '../parser.js';
import { bad, formatTagged, ok } from '../responses.js';
import type { CommandSpec } from './types.js';
import { NOT_AUTHED } from './types.js';

export const starttls: CommandSpec = {
  states: NOT_AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 0);
    if (session.secure) return bad('TLS is already active');
    if (!session.capabilities().includes('STARTTLS')) return bad('STARTTLS is not offered on this port');
    session.write(formatTagged(cmd.tag, ok('Begin TLS negotiation now')));
    session.startTls();
    return null;
  },
};
