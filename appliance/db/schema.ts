import type { AliasesTable, ApiTokensTable, AuditEventsTable, AuditHeadTable, DkimKeysTable, DomainsTable, MailboxesTable, SetupTokensTable, TenantsTable } from './tables/control.table.js';
import type { ForwardsTable, OutboundRoutesTable, SendAsGrantsTable } from './tables/sending.table.js';
import type { FolderExpungesTable, FolderMessagesTable, FoldersTable, MessagesTable, SubscriptionsTable } from './tables/mailstore.table.js';

/** The whole database as kysely sees it. */
export interface DB {
  tenants: TenantsTable;
  domains: DomainsTable;
  dkim_keys: DkimKeysTable;
  mailboxes: MailboxesTable;
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
}
