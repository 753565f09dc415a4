import type { AliasesTable, ApiTokensTable, AuditEventsTable, AuditHeadTable, DkimKeysTable, DomainsTable, MailboxesTable, SetupTokensTable, TenantsTable } from './tables/control.table.js';
import type { AppPasswordsTable, AutoRepliesTable } from './tables/access.table.js';
import type { AccessPoliciesTable, MailboxFlagsTable, MailboxRecoveryCodesTable, MailboxTotpTable, OffboardingsTable, ResetsTable } from './tables/resets.table.js';
import type { ForwardsTable, MailboxSendingColumns, OutboundRoutesTable, SendAsGrantsTable, SettingsTable, TenantSendingColumns } from './tables/sending.table.js';
import type { DeletionIntentsTable } from './tables/control.table.js';
import type { PrincipalRecoveryCodesTable, PrincipalsTable, WebSessionsTable } from './tables/principals.table.js';
import type { BatchesTable, BatchItemsTable, DnsSnapshotsTable, DomainSettingsTable, DomainTemplatesTable, DomainTemplateVersionsTable } from './tables/portfolio.table.js';
import type { FolderExpungesTable, FolderMessagesTable, FoldersTable, MessagesTable, SubscriptionsTable } from './tables/mailstore.table.js';

/** The whole database as kysely sees it. */
export interface DB {
  tenants: TenantsTable & TenantSendingColumns;
  domains: DomainsTable;
  dkim_keys: DkimKeysTable;
  mailboxes: MailboxesTable & MailboxSendingColumns;
  aliases: AliasesTable;
  api_tokens: ApiTokensTable;
  setup_tokens: SetupTokensTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  folders: FoldersTable;
  subscriptions: SubscriptionsTable;
  messages: MessagesTable;
  folder_messages: FolderMessagesTable;
  folder_expunges: FolderExpungesTable;
  send_as_grants: SendAsGrantsTable;
  forwards: ForwardsTable;
  outbound_routes: OutboundRoutesTable;
  deletion_intents: DeletionIntentsTable;
  principals: PrincipalsTable;
  principal_recovery_codes: PrincipalRecoveryCodesTable;
  web_sessions: WebSessionsTable;
  settings: SettingsTable;
  app_passwords: AppPasswordsTable;
  auto_replies: AutoRepliesTable;
  mailbox_totp: MailboxTotpTable;
  batches: BatchesTable;
  batch_items: BatchItemsTable;
  domain_templates: DomainTemplatesTable;
  domain_template_versions: DomainTemplateVersionsTable;
  domain_settings: DomainSettingsTable;
  dns_snapshots: DnsSnapshotsTable;
  access_policies: AccessPoliciesTable;
  mailbox_flags: MailboxFlagsTable;
  resets: ResetsTable;
  mailbox_recovery_codes: MailboxRecoveryCodesTable;
  offboardings: OffboardingsTable;
}
