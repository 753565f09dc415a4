import { login } from '../auth.js';
import { ImapSyntaxError, expectEnd, str } from '../parser.js';
import { ImapNo, bad } from '../responses.js';
import type { CommandSpec } from './types.js';
import { NOT_AUTHED } from './types.js';

/** AUTHENTICATE PLAIN (RFC 4616), with the initial response inline (SASL-IR, RFC 4959). */
export const authenticate: CommandSpec = {
  states: NOT_AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 2);
    const mech = str(cmd.args[0], 'mechanism').toUpperCase();
    if (mech !== 'PLAIN') throw new ImapNo('Unsupported authentication mechanism', 'CANNOT');
    if (!session.canAuthenticate()) throw new ImapNo('Log in over TLS (STARTTLS or the IMAPS port)', 'PRIVACYREQUIRED');
    let response: string | null;
    if (cmd.args[1]) {
      response = str(cmd.args[1], 'initial response');
    } else {
      session.write('+ \r\n');
      response = await session.nextLine();
      if (response === null) return null;
    }
    if (response === '*') return bad('Authentication cancelled');
    if (response === '=') response = '';
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(response) || response.length > 16 * 1024) throw new ImapSyntaxError('Invalid base64');
    const decoded = Buffer.from(response, 'base64').toString('utf8');
    const [authzid, authcid, password] = decoded.split('\u0000');
    if (authcid === undefined || password === undefined) throw new ImapNo('Malformed PLAIN response', 'AUTHENTICATIONFAILED');
    if (authzid && authzid.toLowerCase() !== authcid.toLowerCase()) throw new ImapNo('Authorization identity must match', 'AUTHORIZATIONFAILED');
    return login(session, authcid, password);
  },
};
