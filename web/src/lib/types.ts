/**
 * Shapes of the /api/v1 answers the console reads: derived from the response schemas of the
 * control plane (control/schemas), the one contract, so the console cannot drift from the API.
 * Only shapes with no schema of their own are written here.
 */
import type { Static } from 'typebox';
import type { Alias as AliasSchema } from '../../../control/schemas/aliases.schemas.js';
import type { AuditEvent as AuditEventSchema } from '../../../control/schemas/audit.schemas.js';
import type { SessionInfo as SessionInfoSchema } from '../../../control/schemas/auth.schemas.js';
import type { Domain as DomainSchema, DnsRecord as DnsRecordSchema } from '../../../control/schemas/domains.schemas.js';
import type { Person as PersonSchema, Mailbox as MailboxSchema, Ownership as OwnershipSchema } from '../../../control/schemas/mailboxes.schemas.js';
import type { Principal as PrincipalSchema } from '../../../control/schemas/principals.schemas.js';
import type { SetupLink as SetupLinkSchema } from '../../../control/schemas/resets.schemas.js';
import type { DkimKey as DkimKeySchema, Forward as ForwardSchema, SendAsGrant as SendAsGrantSchema } from '../../../control/schemas/sending.schemas.js';
import type { MailStats as MailStatsSchema, QueueEntry as QueueEntrySchema } from '../../../control/schemas/mailflow.schemas.js';
import type { AccessPolicy as AccessPolicySchema, ForwardReport as ForwardReportSchema, Reset as ResetSchema } from '../../../control/schemas/resets.schemas.js';
import type { AppPassword as AppPasswordSchema } from '../../../control/schemas/app-passwords.schemas.js';
import type { OwnForward as OwnForwardSchema } from '../../../control/schemas/self-owner.schemas.js';
import type { TenantReset as TenantResetSchema } from '../../../control/schemas/reset-queue.schemas.js';
import type { Tenant as TenantSchema } from '../../../control/schemas/tenants.schemas.js';
import type { Migration as MigrationSchema } from '../../../control/schemas/migrations.schemas.js';
import type { SpamListEntry as SpamListEntrySchema, SpamPolicy as SpamPolicySchema } from '../../../control/schemas/spam.schemas.js';

export type Person = Static<typeof PersonSchema>;
export type Principal = Static<typeof PrincipalSchema>;
export type SessionInfo = Static<typeof SessionInfoSchema>;
export type Tenant = Static<typeof TenantSchema>;
export type Domain = Static<typeof DomainSchema>;
export type DnsRecord = Static<typeof DnsRecordSchema>;
export type DkimKey = Static<typeof DkimKeySchema>;
export type Mailbox = Static<typeof MailboxSchema>;
export type Migration = Static<typeof MigrationSchema>;
export type Ownership = Static<typeof OwnershipSchema>;
export type Alias = Static<typeof AliasSchema>;
export type Forward = Static<typeof ForwardSchema>;
export type SendAsGrant = Static<typeof SendAsGrantSchema>;
export type AuditEvent = Static<typeof AuditEventSchema>;
export type SetupLink = Static<typeof SetupLinkSchema>;
/** A reset; tenant-wide lists (GET /tenants/{id}/resets, /resets) also name the mailbox. */
export type Reset = Static<typeof ResetSchema> & Partial<Pick<Static<typeof TenantResetSchema>, 'mailboxAddress' | 'tenantId'>>;
export type AppPassword = Static<typeof AppPasswordSchema>;
export type MailStats = Static<typeof MailStatsSchema>;
export type QueueEntry = Static<typeof QueueEntrySchema>;
export type AccessPolicy = Static<typeof AccessPolicySchema>;
export type ForwardingReport = Static<typeof ForwardReportSchema>;
export type OwnForward = Static<typeof OwnForwardSchema>;
export type SpamPolicy = Static<typeof SpamPolicySchema>;
export type SpamListEntry = Static<typeof SpamListEntrySchema>;

export type SelfMailbox = NonNullable<SessionInfo['mailbox']>;

export interface ActorRef {
  type: string;
  id: string | null;
}

export interface DeleteIntent {
  intent: { id: string; expiresAt: string };
  target: { type: string; id: string; name: string };
  impact: Record<string, unknown>;
  confirm: string;
}

export interface Readiness {
  status: 'ready' | 'unavailable';
  failing: string[];
  components: Record<string, { ok: boolean; detail?: string }>;
}
