/**
 * IMAP migration (issue 20): the shapes the core hands out and the ports it is given. The mail
 * store (`SqlMailStore`) satisfies `MigrationStore`: every message goes through its APPEND path,
 * i.e. the one ingest path with quota checks. The runner (runner.ts) is built once by the
 * composition root and reached through `MigrationDeps.migrations`.
 */
import type { CoreDeps } from '../deps.js';

export const MIGRATION_STATES = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'] as const;
export type MigrationState = (typeof MIGRATION_STATES)[number];
export type SourceTls = 'implicit' | 'starttls';

export interface MigrationSourceInput {
  host: string;
  port: number;
  tls: SourceTls;
  user: string;
  password?: string;
  /** An OAuth2 access token (XOAUTH2), as Google and Microsoft require. */
  accessToken?: string;
}

export interface StartMigrationInput {
  source: MigrationSourceInput;
  /** Source folder paths (as the source lists them, decoded); absent: every folder. */
  folders?: string[];
}

export interface MigrationFolderView {
  source: string;
  target: string;
  copied: number;
  total: number;
  bytes: number;
  totalBytes: number;
  done: boolean;
}

export interface MigrationReport {
  run: number;
  /** How the run ended (running while it runs). */
  state: MigrationState;
  startedAt: string;
  finishedAt: string | null;
  /** Copied by this run (a re-run copies only what is new). */
  copied: number;
  bytes: number;
  folders: Array<{ source: string; target: string; copied: number; bytes: number; created: boolean; uidValidityChanged: boolean }>;
  /** Messages left out, with why (too large for this appliance). */
  skipped: Array<{ folder: string; uid: number; size: number; reason: string }>;
  /** Messages not copied again because their Message-ID was already in the target folder. */
  deduplicated: number;
  reconnects: number;
}

export interface MigrationView {
  id: string;
  mailbox: { id: string; address: string };
  state: MigrationState;
  source: { host: string; port: number; tls: SourceTls; user: string; auth: 'password' | 'xoauth2' };
  folders: string[] | null;
  progress: { messages: number; bytes: number; totalMessages: number; totalBytes: number; folders: MigrationFolderView[] };
  report: MigrationReport | null;
  error: string | null;
  /** Whether the source credential is still held (sealed); wiped when a run ends done, failed or cancelled (kept only by an interrupted job). */
  credentialsHeld: boolean;
  runs: number;
  createdBy: string;
  createdFrom: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** What the copy needs of the mail store (SqlMailStore). */
export interface MigrationStore {
  listFolders(mailboxId: string): Promise<Array<{ id: number; name: string; specialUse: string | null }>>;
  createFolder(mailboxId: string, name: string): Promise<{ id: number; name: string }>;
  appendMany(mailboxId: string, folderName: string, items: Array<{ raw: Buffer; flags?: string[]; internalDate?: number }>): Promise<{ uidValidity: number; uids: number[] }>;
  listMessages(folderId: number): Promise<Array<{ messageId: number }>>;
  getMeta(messageIds: number[]): Promise<Map<number, { envelope: { messageId: string | null } }>>;
}

/** The background runner as the use cases see it. */
export interface MigrationRunnerPort {
  enqueue(id: string): void;
  /** Stops a running job at the next message boundary. */
  abort(id: string): void;
}

/** The core dependencies plus the migration runner (null: jobs are recorded and wait for a runner). */
export type MigrationDeps = CoreDeps & { migrations?: MigrationRunnerPort | null };
