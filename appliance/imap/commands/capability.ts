import type { CommandSpec } from './types.js';
import { ANY } from './types.js';

export const capability: CommandSpec = {
  states: ANY,
  async handler(session) {
    session.untagged(`CAPABILITY ${session.capabilities().join(' ')}`);
    return undefined;
  },
};
