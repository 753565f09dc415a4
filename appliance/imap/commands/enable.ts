import { ENABLEABLE } from '../capabilities.js';
import { ImapSyntaxError } from '../parser.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

/**
 * ENABLE (RFC 5161): CONDSTORE, QRESYNC (which implies CONDSTORE) and IMAP4rev2 (RFC 9051
 * 6.3.1, Appendix A: the session speaks rev2 from the next command on).
 */
export const enable: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    if (!cmd.args.length) throw new ImapSyntaxError('ENABLE needs at least one capability');
    const enabled: string[] = [];
    for (const t of cmd.args) {
      if (t.t !== 'atom') throw new ImapSyntaxError('Invalid capability');
      const name = t.v.toUpperCase();
      if (!ENABLEABLE.has(name)) continue;
      if (name === 'CONDSTORE' && session.enableCondstore()) enabled.push(name);
      if (name === 'QRESYNC' && !session.qresync) {
        session.qresync = true;
        session.enableCondstore();
        enabled.push(name);
      }
      if (name === 'IMAP4REV2' && !session.rev2) {
        session.rev2 = true;
        enabled.push('IMAP4rev2');
      }
    }
    session.untagged(`ENABLED${enabled.map((e) => ' ' + e).join('')}`);
    return undefined;
  },
};
