/**
 * IMAP migration jobs (issue 20). Times epoch ms; counters are totals over every run of a job.
 */
import type { Generated, Selectable } from 'kysely';

export interface ImapMigrationsTable {
  id: string;
  tenant_id: string;
  mailbox_id: string;
  /** queued | running | done | failed | cancelled | interrupted (the appliance stopped mid-run) */
  state: string;
  source_host: string;
  source_port: number;
  /** implicit | starttls */
  source_tls: string;
  source_user: string;
  /** password | xoauth2 */
  source_auth: string;
  /** The sealed password or access token (secret-box); null once the job ended. */
  source_secret: string | null;
  /** JSON array of source folder paths; null: every folder. */
  folders: string | null;
  messages: Generated<number>;
  bytes: Generated<number>;
  total_messages: Generated<number>;
  total_bytes: Generated<number>;
  runs: Generated<number>;
  /** JSON: the last run's report. */
  report: string | null;
  error: string | null;
  created_by: string;
  created_from: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export interface ImapMigrationFoldersTable {
  migration_id: string;
  tenant_id: string;
  /** The source folder path (decoded from modified UTF-7). */
  source: string;
  /** Our folder it is copied into. */
  target: string;
  position: number;
  uid_validity: number | null;
  /** The highest source UID copied under uid_validity. */
  last_uid: number;
  copied: number;
  bytes: number;
  total: number;
  total_bytes: number;
  done: number;
}

export type ImapMigrationRow = Selectable<ImapMigrationsTable>;
export type ImapMigrationFolderRow = Selectable<ImapMigrationFoldersTable>;
