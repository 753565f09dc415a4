/** Shared mailboxes and delegated access (migration 0040, issue 19). */
import type { Selectable } from 'kysely';

export interface MailboxGrantsTable {
  id: string;
  tenant_id: string;
  /** The shared mailbox. */
  mailbox_id: string;
  /** The member mailbox whose login reaches the shared one. */
  member_mailbox_id: string;
  /** Comma-separated GRANT_RIGHTS, in their canonical order. */
  rights: string;
  seen_per_member: number;
  reason: string;
  /** Actor id (principal or token) that made or last changed the grant. */
  granted_by: string;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

export type MailboxGrantRow = Selectable<MailboxGrantsTable>;
