import { ImapSyntaxError, expectEnd, isAtom } from '../parser.js';
import { ImapNo, formatTagged, ok } from '../responses.js';
import type { CommandSpec } from './types.js';
import { AUTHED } from './types.js';

/** COMPRESS DEFLATE (RFC 4978 3): the OK goes out uncompressed, everything after compressed. */
export const compress: CommandSpec = {
  states: AUTHED,
  async handler(session, cmd) {
    expectEnd(cmd.args, 1);
    if (!isAtom(cmd.args[0], 'DEFLATE')) throw new ImapSyntaxError('Unknown compression mechanism');
    if (session.compressed) throw new ImapNo('Compression is already active', 'COMPRESSIONACTIVE');
    session.write(formatTagged(cmd.tag, ok('DEFLATE active')));
    session.startCompression();
    return null;
  },
};
