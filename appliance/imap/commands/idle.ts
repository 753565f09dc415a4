/**
 * IDLE (RFC 2177): updates of the selected mailbox are written as they are committed (store
 * watch events, no polling) until the client sends DONE.
 */
import { expectEnd } from '../parser.js';
import { bad } from '../responses.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

export const idle: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 0);
    session.write('+ idling\r\n');
    const sel = session.selected;
    if (sel) await sel.startIdle(session);
    const line = await session.nextLine();
    if (sel) await sel.stopIdle();
    if (line === null) return null;
    if (line.trim().toUpperCase() !== 'DONE') return bad('Expected DONE');
    return undefined;
  },
};
