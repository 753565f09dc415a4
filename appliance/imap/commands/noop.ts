import type { CommandSpec } from './types.js';
import { ANY, SELECTED } from './types.js';

/** NOOP: the session writes pending mailbox updates after every command. */
export const noop: CommandSpec = {
  states: ANY,
  async handler() {
    return undefined;
  },
};

/** CHECK: every write is already durable; behaves like NOOP. */
export const check: CommandSpec = {
  states: SELECTED,
  async handler() {
    return undefined;
  },
};
