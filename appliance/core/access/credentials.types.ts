/**
 * The one credential module, used by IMAP, SMTP AUTH and the console. A change of password,
 * a revocation or a suspension takes effect at once: new logins fail, and listeners registered
 * with onRevoke (open IMAP sessions, authenticated SMTP sessions, console sessions) are told.
 */
export type AuthProtocol = 'imap' | 'smtp' | 'web';

export interface LoginAttempt {
  /** Full address (local@domain); compared case-insensitively. */
  username: string;
  password: string;
  protocol: AuthProtocol;
  remoteAddress: string;
}

/** Which credential a session authenticated with: the mailbox password or one app password. */
export type CredentialId = 'password' | `app:${string}`;

export type LoginResult =
  | { ok: true; mailboxId: string; tenantId: string; address: string; credentialVersion: number; credentialId: CredentialId }
  | { ok: false; reason: 'invalid' | 'disabled' | 'throttled'; retryAfterMs?: number };

export interface Credentials {
  verifyLogin(attempt: LoginAttempt): Promise<LoginResult>;
  /** True while the session authenticated at `credentialVersion` (with `credentialId`) is still valid. */
  isCurrent(mailboxId: string, credentialVersion: number, credentialId?: CredentialId): Promise<boolean>;
  /**
   * Listener called (once) when the mailbox's credentials are revoked — all of them, or the one
   * app password the session used (`credentialId`); returns unsubscribe. `credentialVersion`
   * (the session's, from its login) lets a re-check find revocations this node was not told of.
   */
  onRevoke(mailboxId: string, listener: (reason: string) => void, credentialId?: CredentialId, credentialVersion?: number): () => void;
}
