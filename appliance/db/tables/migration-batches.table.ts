/**
 * Bulk IMAP migration (migration 0033): a tenant's migration batches and their rows. Times are
 * epoch milliseconds, structured values JSON text. `source_secret` is sealed (secret-box) and
 * null once the row's job holds it or the batch ended.
 */
import type { Selectable } from 'kysely';

export type MigrationBatchState = 'planning' | 'planned' | 'applying' | 'applied' | 'cancelled';
/** What the plan's test login found: ok, refused credentials, no connection, no such target mailbox, a bad row. */
export type MigrationCheckState = 'pending' | 'ok' | 'bad-credentials' | 'unreachable' | 'no-mailbox' | 'invalid';
/** planned (not started), skipped (its check failed), started (its job runs or waits), then the job's end. */
export type MigrationItemStatus = 'planned' | 'skipped' | 'started' | 'done' | 'failed' | 'cancelled';

export interface MigrationBatchesTable {
  id: string;
  tenant_id: string;
  name: string;
  state: MigrationBatchState;
  concurrency: number;
  total: number;
  checked: number;
  error: string | null;
  created_by: string;
  created_from: string | null;
  created_at: number;
  updated_at: number;
  applied_at: number | null;
  finished_at: number | null;
}

export interface MigrationBatchItemsTable {
  batch_id: string;
  tenant_id: string;
  row_no: number;
  address: string;
  mailbox_id: string | null;
  source_host: string;
  source_port: number;
  source_tls: string;
  source_user: string;
  source_secret: string | null;
  check_state: MigrationCheckState;
  check_error: string | null;
  source_messages: number | null;
  source_bytes: number | null;
  source_folders: string | null;
  status: MigrationItemStatus;
  migration_id: string | null;
  updated_at: number;
}

export type MigrationBatchRow = Selectable<MigrationBatchesTable>;
export type MigrationBatchItemRow = Selectable<MigrationBatchItemsTable>;
