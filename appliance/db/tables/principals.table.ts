/**
 * People who administer the appliance (operators, tenant_id null) or one tenant (tenant
 * admins), their one-time TOTP recovery codes (sha256 only) and web sessions of principals and
 * mailbox owners (the cookie and the CSRF token are stored as sha256 only).
 */
import type { Generated, Selectable } from 'kysely';
import type { PrincipalKind, PrincipalStatus, WebSessionKind, WebSessionMfa } from './status.js';

export interface PrincipalsTable {
  id: string;
  tenant_id: string | null; // null: operator (platform)
  kind: PrincipalKind;
  name: string;
  email: string; // lower-cased, unique
  status: Generated<PrincipalStatus>;
  role: string | null; // named permission set granted, if any
  permissions: string; // JSON array
  password_hash: string | null;
  /** Base32 TOTP secret once enrolment is confirmed (needed in clear to compute codes). */
  totp_secret: string | null;
  /** Secret shown at enrolment, until confirmed with a valid code. */
  totp_pending_secret: string | null;
  totp_enabled_at: number | null;
  /** The TOTP time step last accepted (a code is good once). */
  totp_last_step: number | null;
  /** Bumped on password change, TOTP reset, disable: ends every web session. */
  credential_version: Generated<number>;
  last_login_at: number | null;
  created_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface PrincipalRecoveryCodesTable {
  id: Generated<number>;
  principal_id: string;
  code_hash: string;
  used_at: number | null;
  created_at: number;
}

export interface WebSessionsTable {
  id: string;
  token_hash: string;
  csrf_hash: string;
  kind: WebSessionKind;
  principal_id: string | null;
  mailbox_id: string | null;
  tenant_id: string | null;
  /** The principal's or mailbox's credential version at login; a change ends the session. */
  credential_version: number;
  mfa: WebSessionMfa;
  source_ip: string | null;
  user_agent: string | null;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export type Principal = Selectable<PrincipalsTable>;
export type WebSession = Selectable<WebSessionsTable>;
