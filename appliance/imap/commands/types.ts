/** The shape of a command module (WildDuck imap-core style: allowed states and a handler). */
import type { ParsedCommand } from '../parser.js';
import type { Reply } from '../responses.js';
import type { ImapSession } from '../session.js';

export type SessionState = 'notAuthenticated' | 'authenticated' | 'selected' | 'logout';

export interface CommandSpec {
  states: readonly SessionState[];
  /**
   * Runs the command and returns the tagged result; undefined means plain "OK", null means the
   * handler wrote its tagged response itself (STARTTLS, LOGOUT).
   */
  handler(session: ImapSession, cmd: ParsedCommand): Promise<Reply | null | undefined>;
}

export const ANY: readonly SessionState[] = ['notAuthenticated', 'authenticated', 'selected'];
export const AUTHED: readonly SessionState[] = ['authenticated', 'selected'];
export const SELECTED: readonly SessionState[] = ['selected'];
export const NOT_AUTHED: readonly SessionState[] = ['notAuthenticated'];
