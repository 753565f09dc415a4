import { login as doLogin } from '../auth.js';
import { expectEnd, str } from '../parser.js';
import type { CommandSpec } from './types.js';
import { NOT_AUTHED } from './types.js';

export const login: CommandSpec = {
  states: NOT_AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 2);
    return doLogin(session, str(cmd.args[0], 'user name'), str(cmd.args[1], 'password'));
  },
};
