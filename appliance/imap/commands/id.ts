import type { CommandSpec } from './types.js';
import { ANY } from './types.js';

/** ID (RFC 2971): logs what the client says about itself; answers NIL (no software or version is disclosed). */
export const id: CommandSpec = {
  states: ANY,
  async handler(session, cmd) {
    const arg = cmd.args[0];
    if (arg?.t === 'list') {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < arg.v.length && i < 60; i += 2) {
        const k = arg.v[i]!;
        const v = arg.v[i + 1]!;
        if ((k.t === 'string' || k.t === 'atom') && (v.t === 'string' || v.t === 'atom')) fields[k.v.slice(0, 30).toLowerCase()] = v.v.slice(0, 100);
      }
      session.log.debug({ client: fields }, 'client id');
    }
    session.untagged('ID NIL');
    return undefined;
  },
};
