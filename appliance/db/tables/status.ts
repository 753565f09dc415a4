/**
 * The values the status-like columns really hold, as closed unions (the table files use them as
 * column types, so a write of any other value does not compile). Each list was checked against
 * the migrations' defaults and every value the code writes. The core re-exports the ones it
 * reasons about (the mailbox lifecycle: core/mailboxes/lifecycle.ts).
 */

/** True when `value` is one of `values` (narrows a string read back from JSON or an untyped column). */
export function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}

/** mailboxes.status (and mailboxes.status_before_delete, never `deleted`). */
export const MAILBOX_STATUSES = ['pending', 'active', 'suspended', 'offboarded', 'deleted'] as const;
export type MailboxStatus = (typeof MAILBOX_STATUSES)[number];

/** aliases.status: `disabled` is an alias turned off (by its admin, or by an offboarding that removed its last target). */
export const ALIAS_STATUSES = ['active', 'disabled', 'deleted'] as const;
export type AliasStatus = (typeof ALIAS_STATUSES)[number];

/** domains.status (and domains.status_before_delete, always `active`). */
export const DOMAIN_STATUSES = ['active', 'deleted'] as const;
export type DomainStatus = (typeof DOMAIN_STATUSES)[number];

/**
 * Until the issue-14 merge removes the last untyped writers (the old ScopedRepo's string
 * filters in db/repo.ts; offboarding's undo, which writes statuses read back from audit JSON),
 * the status columns also accept a plain string. After the merge the lead sets this to `never`:
 * every status column is then exactly its union (checked on branch c1: with `never`, only those
 * writers fail to compile).
 */
export type UntypedStatusDuringMerge = string;
