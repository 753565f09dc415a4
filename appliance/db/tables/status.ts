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

/** tenants.status: the code writes `active`; `deleted` is the state every read excludes. */
export const TENANT_STATUSES = ['active', 'deleted'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** dkim_keys.status: signing (`active`), announced for a rotation (`published`), kept in DNS after use (`retired`). */
export const DKIM_KEY_STATUSES = ['active', 'published', 'retired'] as const;
export type DkimKeyStatus = (typeof DKIM_KEY_STATUSES)[number];

/** setup_tokens.purpose. */
export const SETUP_PURPOSES = ['mailbox-setup', 'operator-setup', 'principal-setup', 'reset'] as const;
export type SetupPurposeColumn = (typeof SETUP_PURPOSES)[number];

/** deletion_intents.target_type. */
export type DeletionTargetType = 'mailbox' | 'domain';

/** batches.state. */
export const BATCH_STATES = ['planned', 'applying', 'applied', 'failed', 'rolling-back', 'rolled-back'] as const;
export type BatchState = (typeof BATCH_STATES)[number];
/** batches.mode (null until applied). */
export type BatchMode = 'all-or-nothing' | 'valid-rows';
/** batch_items.status. */
export const BATCH_ITEM_STATUSES = ['created', 'failed', 'rolled-back'] as const;
export type BatchItemStatus = (typeof BATCH_ITEM_STATUSES)[number];

/** dns_snapshots.status (the domain's DNS health when checked). */
export const DNS_SNAPSHOT_STATUSES = ['ok', 'degraded', 'failing', 'unknown'] as const;
export type DnsSnapshotStatus = (typeof DNS_SNAPSHOT_STATUSES)[number];

/** principals.kind and principals.status. */
export type PrincipalKind = 'operator' | 'tenant-admin';
export const PRINCIPAL_STATUSES = ['pending', 'active', 'disabled'] as const;
export type PrincipalStatus = (typeof PRINCIPAL_STATUSES)[number];

/** web_sessions.kind and web_sessions.mfa (`enrol`: a principal without TOTP may only enrol; `none`: mailbox owners without TOTP). */
export type WebSessionKind = 'principal' | 'mailbox';
export type WebSessionMfa = 'ok' | 'enrol' | 'none';

/** resets.kind, resets.delivery, resets.status and resets.delivery_state. */
export type ResetKind = 'admin' | 'emergency' | 'self';
export type ResetDelivery = 'email' | 'link';
export const RESET_STATUSES = ['pending-approval', 'issued', 'completed', 'cancelled'] as const;
export type ResetStatus = (typeof RESET_STATUSES)[number];
export type ResetDeliveryState = 'sent' | 'failed' | 'unavailable' | 'returned';

/** offboardings.status and offboardings.convert_to. */
export type OffboardingStatus = 'applied' | 'undone';
export type OffboardingConvertTo = 'disabled' | 'shared' | 'alias';

/** forwards.status. */
export const FORWARD_STATUSES = ['active', 'expired', 'removed'] as const;
export type ForwardStatus = (typeof FORWARD_STATUSES)[number];
