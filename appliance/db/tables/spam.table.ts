/**
 * Spam policy and lists (issue 15). Scores are rspamd scores; booleans 0/1; times epoch ms.
 */
import type { Selectable } from 'kysely';

export interface SpamPoliciesTable {
  /** tenant | domain (a domain row overrides its tenant's). */
  scope: string;
  scope_id: string;
  tenant_id: string;
  /** At or above: X-Spam headers and delivery to the Junk folder. */
  junk_score: number;
  /** At or above: 550 5.7.1 at DATA, nothing stored. */
  reject_score: number;
  greylisting: number;
  /** tempfail | accept: what to answer when the scanner is down or slow. */
  fail_mode: string;
  /** 1: mailbox owners may manage their own allow/block lists from self-service. */
  owner_lists: number;
  updated_by: string | null;
  updated_at: number;
}

export interface SpamListsTable {
  id: string;
  tenant_id: string;
  /** null: a tenant-wide entry. */
  mailbox_id: string | null;
  /** allow | block */
  kind: string;
  /** Lower-cased sender address, domain, or IP/CIDR network. */
  value: string;
  /** address | domain | ip */
  value_type: string;
  reason: string | null;
  created_by: string | null;
  created_at: number;
}

export type SpamPolicyRow = Selectable<SpamPoliciesTable>;
export type SpamListRow = Selectable<SpamListsTable>;
