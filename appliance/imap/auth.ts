/**
 * The login step shared by LOGIN and AUTHENTICATE PLAIN: the one credential module verifies
 * (throttling per account and client IP happens inside it); failures are logged as
 * imap.auth.fail without the password.
 */
import { ImapNo, ok, type Reply } from './responses.js';
import type { ImapSession } from './session.js';

export async function login(session: ImapSession, username: string, password: string): Promise<Reply> {
  if (!session.canAuthenticate()) throw new ImapNo('Log in over TLS (STARTTLS or the IMAPS port)', 'PRIVACYREQUIRED');
  const user = username.trim();
  if (!user || !password || user.length > 320 || password.length > 1024) {
    session.logAuthFailure({ username: user.slice(0, 320), reason: 'malformed' });
    throw new ImapNo('Authentication failed', 'AUTHENTICATIONFAILED');
  }
  const result = await session.deps.credentials.verifyLogin({ username: user, password, protocol: 'imap', remoteAddress: session.remoteAddress });
  if (!result.ok) {
    session.logAuthFailure({ username: user, reason: result.reason });
    if (result.reason === 'throttled') throw new ImapNo('Too many failed logins, try again later', 'UNAVAILABLE');
    throw new ImapNo('Authentication failed', 'AUTHENTICATIONFAILED');
  }
  if (session.isClosed) return ok('Logged in');
  session.loggedIn({ mailboxId: result.mailboxId, tenantId: result.tenantId, address: result.address, credentialId: result.credentialId, credentialVersion: result.credentialVersion });
  session.log.info({ event: 'imap.auth.ok', mailboxId: result.mailboxId, username: result.address }, 'logged in');
  return ok('Logged in', `CAPABILITY ${session.capabilities().join(' ')}`);
}
