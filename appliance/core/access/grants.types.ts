/**
 * Shared mailboxes and delegated access (issue 19): the contract between the control plane,
 * which records grants (who may reach which mailbox of the same tenant, with which rights,
 * granted by whom, why, until when), and the serving layer (IMAP, SMTP submission), which
 * enforces them and is told at once when they change.
 *
 * Table `mailbox_grants` (migration 0040): one live row per (mailbox_id, member_mailbox_id);
 * a removed or expired grant leaves no live row (history is in the audit log).
 */

/** RFC 4314-inspired rights, in the API's words. */
export const GRANT_RIGHTS = ['read', 'seen', 'write', 'insert', 'delete', 'create', 'send'] as const;
export type GrantRight = (typeof GRANT_RIGHTS)[number];

/** A live grant as the serving layer sees it. */
export interface ServingGrant {
  id: string;
  tenantId: string;
  /** The shared mailbox (the one access is granted to). */
  mailboxId: string;
  mailboxAddress: string;
  /** The member mailbox (whose login reaches the shared one). */
  memberMailboxId: string;
  rights: ReadonlySet<GrantRight>;
  /** \Seen kept per member (a delegate) instead of shared with everyone (a team inbox). */
  seenPerMember: boolean;
  /** Epoch ms; null: no expiry. */
  expiresAt: number | null;
}

/** Why a member's access changed; the serving layer closes or refreshes what the member has open. */
export interface GrantChange {
  /** The shared mailbox; '' (kind 'changed') after a cluster reconnect: any of the member's grants may differ, re-read them all. */
  mailboxId: string;
  memberMailboxId: string;
  /** 'revoked': the grant is gone (removed, expired, shared mailbox suspended/offboarded); 'changed': rights differ now; 'granted': new access. */
  kind: 'granted' | 'changed' | 'revoked';
}

/**
 * The serving side of grants, built once at boot and handed to IMAP and SMTP (CoreDeps.grants).
 * Reads are answered from the database (cheap indexed lookups) and never see another tenant's
 * mailbox: a grant only ever joins two mailboxes of one tenant.
 */
export interface GrantsServing {
  /** Live, unexpired grants whose member is this mailbox, with the shared mailbox active. */
  forMember(memberMailboxId: string): Promise<ServingGrant[]>;
  /** The member's live grant on one shared mailbox, or null. */
  grantOf(mailboxId: string, memberMailboxId: string): Promise<ServingGrant | null>;
  /** Records that the member used the grant (for the stale-grant report); cheap and throttled. */
  touch(grantId: string): void;
  /** Called (in this process and, in a cluster, on every node) after a grant change committed. */
  onChange(memberMailboxId: string, listener: (change: GrantChange) => void): () => void;
  /** Tells listeners (and the other nodes) about a committed change. */
  notify(change: GrantChange): void;
}
