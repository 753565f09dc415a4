/** App passwords: per-mailbox, named, scoped (IMAP and/or SMTP), shown once, revocable. */
export interface AppPasswordsTable {
  id: string;
  tenant_id: string;
  mailbox_id: string;
  name: string;
  scopes: string;
  secret_hash: string;
  created_by: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** The last auto-reply sent from an address to a sender. */
export interface AutoRepliesTable {
  address: string;
  sender: string;
  sent_at: number;
}
