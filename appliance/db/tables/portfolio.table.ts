/**
 * Portfolio tables (migration 0007): bulk batches and their items, versioned domain templates,
 * the settings each domain runs with, and DNS check snapshots. Times are epoch milliseconds,
 * structured values JSON text.
 */
import type { Generated, Selectable } from 'kysely';
import type { BatchItemStatus, BatchMode, BatchState, DnsSnapshotStatus } from './status.js';

export interface BatchesTable {
  id: string;
  tenant_id: string;
  request_id: string;
  approval_ref: string | null;
  state: BatchState;
  mode: BatchMode | null;
  input: string;
  input_hash: string;
  plan: string;
  allow_unverified: Generated<number>;
  approved_rows: string | null;
  total: Generated<number>;
  done: Generated<number>;
  error: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  applied_at: number | null;
  rolled_back_at: number | null;
}

export interface BatchItemsTable {
  batch_id: string;
  row_no: number;
  mailbox_id: string | null;
  address: string;
  status: BatchItemStatus;
  error: string | null;
  alias_ids: string | null;
  setup_link_id: string | null;
  destination: string | null;
  delivered_at: number | null;
  delivery_error: string | null;
  created_at: number;
}

export interface DomainTemplatesTable {
  id: string;
  tenant_id: string | null;
  name: string;
  latest_version: number;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface DomainTemplateVersionsTable {
  template_id: string;
  version: number;
  settings: string;
  note: string | null;
  created_by: string;
  created_at: number;
}

export interface DomainSettingsTable {
  domain_id: string;
  tenant_id: string;
  settings: string;
  template_id: string | null;
  template_version: number | null;
  applied_at: number | null;
  updated_at: number;
}

export interface DnsSnapshotsTable {
  id: Generated<number>;
  domain_id: string;
  tenant_id: string;
  checked_at: number;
  status: DnsSnapshotStatus;
  records: string;
  template_id: string | null;
  template_version: number | null;
}

export type Batch = Selectable<BatchesTable>;
export type BatchItem = Selectable<BatchItemsTable>;
export type DomainTemplate = Selectable<DomainTemplatesTable>;
export type DomainTemplateVersion = Selectable<DomainTemplateVersionsTable>;
export type DomainSettingsRow = Selectable<DomainSettingsTable>;
export type DnsSnapshot = Selectable<DnsSnapshotsTable>;
