/**
 * Sending: explicit send-as grants, forwarding records (creator, reason, expiry, last use),
 * outbound routes (smarthosts per domain, per tenant or global). Mailbox and tenant send limits
 * and the automatic send block are columns of mailboxes/tenants (migration 0003).
 */
import type { Generated, Selectable } from 'kysely';
import type { ForwardStatus } from './status.js';

export interface SendAsGrantsTable {
  id: string;
  tenant_id: string;
  mailbox_id: string;
  address: string;
  created_by: string;
  created_at: number;
}

export interface ForwardsTable {
  id: string;
  tenant_id: string;
  mailbox_id: string;
  target: string;
  external: number;
  keep_copy: Generated<number>;
  reason: string | null;
  status: Generated<ForwardStatus>;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

export interface OutboundRoutesTable {
  id: string;
  /** null with domain_id null: the global route. */
  tenant_id: string | null;
  domain_id: string | null;
  host: string;
  port: number;
  tls: string; // opportunistic | required | implicit
  auth_user: string | null;
  auth_pass: string | null;
  created_at: number;
  updated_at: number;
}

export type Forward = Selectable<ForwardsTable>;
export type OutboundRoute = Selectable<OutboundRoutesTable>;

/** Appliance-wide settings generated once (e.g. the SRS secret), shared by every node. */
export interface SettingsTable {
  key: string;
  value: string;
}

/** Columns migration 0003 adds to `mailboxes` (merged into the table type in schema.ts). */
export interface MailboxSendingColumns {
  send_blocked_at: number | null;
  send_blocked_reason: string | null;
  send_limit_per_hour: number | null;
  rcpt_limit_per_hour: number | null;
}

/** Columns migration 0003 adds to `tenants`. */
export interface TenantSendingColumns {
  send_limit_per_hour: number | null;
  rcpt_limit_per_hour: number | null;
}
