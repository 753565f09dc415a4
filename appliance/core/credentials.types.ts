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

export type LoginResult =
  | { ok: true; mailboxId: string; tenantId: string; address: string; credentialVersion: number }
  | { ok: false; reason: 'invalid' | 'disabled' | 'throttled'; retryAfterMs?: number };

export interface Credentials {
  verifyLogin(attempt: LoginAttempt): Promise<LoginResult>;
  /** True while the session authenticated at `credentialVersion` is still valid. */
  isCurrent(mailboxId: string, credentialVersion: number): Promise<boolean>;
  /** Listener called (once per revocation) when the mailbox's credentials are revoked; returns unsubscribe. */
  onRevoke(mailboxId: string, listener: (reason: string) => void): () => void;
}
