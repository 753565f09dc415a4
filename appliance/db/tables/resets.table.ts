/**
 * Resets, access policies and offboarding (issue 6): per-tenant access policy, high-value
 * flags of mailboxes, reset requests (admin, emergency, self-service) with their approval and
 * delivery, mailbox owners' one-time recovery codes (sha256 only) and offboarding records.
 * Times are epoch milliseconds, booleans 0/1, structured values JSON text.
 */
import type { Generated, Selectable } from 'kysely';
import type { OffboardingConvertTo, OffboardingStatus, ResetDelivery, ResetDeliveryState, ResetKind, ResetStatus } from './status.js';

export interface AccessPoliciesTable {
  tenant_id: string;
  /** 1: a reset link may be returned to the API caller (delivery "link"); 0: email only. */
  reset_link_to_caller: Generated<number>;
  /** 1: a reset revokes the mailbox's app passwords too. */
  reset_revokes_app_passwords: Generated<number>;
  /** Reset requests per mailbox per hour. */
  reset_rate_per_hour: Generated<number>;
  /** operator | tenant: who must approve an emergency reset of a high-value mailbox. */
  emergency_high_value: Generated<string>;
  /** 1: forwards to external addresses may be created (with a reason). */
  external_forwarding: Generated<number>;
  /** A forward unused for this many days is reported as stale. */
  stale_forward_days: Generated<number>;
  /** How long an offboarding can be undone. */
  offboarding_undo_days: Generated<number>;
  /** 1: mailbox owners may grant and remove access to their own mailbox (IMAP SETACL/DELETEACL). */
  owners_manage_sharing: Generated<number>;
  updated_by: string | null;
  updated_at: number;
}

export interface MailboxFlagsTable {
  mailbox_id: string;
  tenant_id: string;
  high_value: number;
  reason: string | null;
  updated_by: string;
  updated_at: number;
}

export interface ResetsTable {
  id: string;
  tenant_id: string;
  mailbox_id: string;
  kind: ResetKind;
  delivery: ResetDelivery;
  status: ResetStatus;
  reason: string | null;
  requested_by: string;
  requested_at: number;
  /** Emergency: how the requester verified the owner's identity, and the evidence note. */
  verification_method: string | null;
  verification_evidence: string | null;
  /** Where the link goes (email) or null (returned to the caller). */
  destination: string | null;
  /** Emergency: the new reset destination, set when approved. */
  new_destination: string | null;
  requires_operator: Generated<number>;
  approved_by: string | null;
  approved_at: number | null;
  setup_link_id: string | null;
  /** Email delivery: sent | failed | unavailable (no mailer) | null. */
  delivery_state: ResetDeliveryState | null;
  completed_at: number | null;
}

export interface MailboxRecoveryCodesTable {
  id: Generated<number>;
  tenant_id: string;
  mailbox_id: string;
  code_hash: string;
  used_at: number | null;
  created_at: number;
}

export interface OffboardingsTable {
  id: string;
  tenant_id: string;
  mailbox_id: string;
  status: OffboardingStatus;
  /** disabled | shared | alias */
  convert_to: OffboardingConvertTo;
  options: string; // JSON: the options applied (no secrets)
  /** Audit event ids of the steps (JSON array), read back by undo. */
  event_ids: string;
  auto_reply: string | null; // JSON {subject, text, until}
  retain_until: number | null;
  applied_by: string;
  applied_at: number;
  undo_until: number;
  undone_at: number | null;
}

export type AccessPolicyRow = Selectable<AccessPoliciesTable>;
export type ResetRow = Selectable<ResetsTable>;
export type OffboardingRow = Selectable<OffboardingsTable>;

/** A mailbox owner's TOTP for the self-service console login. */
export interface MailboxTotpTable {
  mailbox_id: string;
  tenant_id: string;
  secret: string | null;
  pending_secret: string | null;
  enabled_at: number | null;
  last_step: number | null;
  updated_at: number;
}
