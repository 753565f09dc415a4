/**
 * Control-plane tables: tenants, domains and their DKIM keys, mailboxes with their ownership
 * record, aliases, API tokens, setup links and the audit log. Times are epoch milliseconds,
 * booleans 0/1 and structured values JSON text, so the same schema runs on PostgreSQL.
 */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { DeletionTargetType, DkimKeyStatus, SetupPurposeColumn, TenantStatus } from './status.js';
import type { AliasStatus, DomainStatus, MailboxStatus } from './status.js';

export interface TenantsTable {
  id: string;
  name: string;
  status: Generated<TenantStatus>;
  /** Pooled quota: the sum of the tenant's mailbox quotas must fit in it (null: no pool). */
  quota_bytes: number | null;
  /** Where the required addresses (postmaster@, abuse@, report address) of its domains deliver; null: the default (0018). */
  role_mail_to: Generated<string | null>;
  created_at: number;
  updated_at: number;
}

export interface DomainsTable {
  id: string;
  tenant_id: string;
  name: string;
  status: Generated<DomainStatus>;
  verification: Generated<string>; // pending | verified
  catch_all: string | null; // address that receives mail for unknown local parts, or null
  /** A domain alias: mail for local@this is handled as local@<that domain> (same tenant). */
  alias_of: string | null;
  /** Recycle bin: when the domain was deleted, when it is purged, and the status to restore. */
  deleted_at: number | null;
  purge_after: number | null;
  status_before_delete: DomainStatus | null;
  created_at: number;
  updated_at: number;
}

export interface DkimKeysTable {
  id: string;
  domain_id: string;
  selector: string;
  algorithm: string; // rsa-sha256 | ed25519-sha256
  private_key: string; // PKCS8 PEM
  public_key: string; // value of the DNS p= tag
  status: DkimKeyStatus;
  created_at: number;
  retired_at: number | null;
}

export interface MailboxesTable {
  id: string;
  tenant_id: string;
  domain_id: string;
  local_part: string;
  address: string; // lower-cased local@domain, unique
  display_name: string | null;
  status: MailboxStatus;
  quota_bytes: number;
  used_bytes: Generated<number>;
  message_count: Generated<number>;
  password_hash: string | null;
  /** Bumped on every credential change, suspension or revocation; invalidates verified-credential caches. */
  credential_version: Generated<number>;
  owner_name: string;
  owner_email: string;
  business_owner_name: string | null;
  business_owner_email: string | null;
  reset_destination: string;
  is_role: Generated<number>;
  /** Recycle bin: when deleted, when purged, the status to restore, the domain deleted along with it. */
  deleted_at: number | null;
  purge_after: number | null;
  status_before_delete: MailboxStatus | null;
  deleted_with: string | null;
  created_at: number;
  updated_at: number;
}

export interface AliasesTable {
  id: string;
  tenant_id: string;
  domain_id: string;
  local_part: string;
  address: string; // lower-cased, unique
  targets: string; // JSON array of addresses
  status: Generated<AliasStatus>;
  created_by: string | null; // principal id of the creator
  /** Set when the alias went to the recycle bin with its domain (restored with it). */
  deleted_with: string | null;
  created_at: number;
  updated_at: number;
}

export interface ApiTokensTable {
  id: string;
  tenant_id: string | null; // null: operator (platform) token
  principal_id: string | null;
  name: string;
  token_hash: string; // sha256 hex of the secret
  role: string | null; // named permission set the token was created from, if any
  permissions: string; // JSON array
  read_only: Generated<number>;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  created_by: string | null; // principal id of the creator (null: bootstrap)
  created_at: number;
}

export interface SetupTokensTable {
  id: string;
  token_hash: string; // sha256 hex
  purpose: SetupPurposeColumn;
  mailbox_id: string | null;
  tenant_id: string | null;
  /** For principal-setup links: the principal whose password it sets. */
  principal_id: string | null;
  /** Where the link was delivered (address), or null when shown to the API caller / logged at boot. */
  destination: string | null;
  expires_at: number;
  used_at: number | null;
  created_by: string | null;
  created_at: number;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: number;
  tenant_id: string | null;
  actor_type: string; // operator | tenant-admin | token | system | mailbox-owner | setup-link
  actor_id: string | null;
  token_id: string | null;
  source_ip: string | null;
  user_agent: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  before: string | null; // JSON
  after: string | null; // JSON
  reason: string | null;
  request_id: string | null;
  approval_id: string | null;
  prev_hash: string;
  hash: string;
}

/**
 * Head of the audit hash chain: one row (id 1) holding the last sequence number and hash.
 * Appenders update it first, which serializes chain writers on every database, and verifying
 * against it detects a truncated tail.
 */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

/** Step one of a two-step delete: what would go, confirmed by id before it expires. */
export interface DeletionIntentsTable {
  id: string;
  tenant_id: string;
  target_type: DeletionTargetType;
  target_id: string;
  impact: string; // JSON summary shown to the caller
  created_by: string;
  created_at: number;
  expires_at: number;
  confirmed_at: number | null;
}

export type Tenant = Selectable<TenantsTable>;
export type Domain = Selectable<DomainsTable>;
export type DkimKey = Selectable<DkimKeysTable>;
export type Mailbox = Selectable<MailboxesTable>;
export type NewMailbox = Insertable<MailboxesTable>;
export type MailboxUpdate = Updateable<MailboxesTable>;
export type Alias = Selectable<AliasesTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type SetupToken = Selectable<SetupTokensTable>;
export type AuditEvent = Selectable<AuditEventsTable>;
export type DeletionIntent = Selectable<DeletionIntentsTable>;
