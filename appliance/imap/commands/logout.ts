import { formatTagged, ok } from '../responses.js';
import type { CommandSpec } from './types.js';
import { ANY } from './types.js';

export const logout: CommandSpec = {
  states: ANY,
  async handler(session, cmd) {
    session.untagged('BYE Logging out');
    session.write(formatTagged(cmd.tag, ok('LOGOUT completed')));
    session.state = 'logout';
    session.close();
    return null;
  },
};
