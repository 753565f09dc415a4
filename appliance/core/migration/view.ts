/**
 * Validation of a job's source and the view of a job (never its secret).
 */
import { isIP } from 'node:net';
import type { ImapMigrationFolderRow } from '../../db/tables/migrations.table.js';
import type { MigrationRow } from '../../db/repos/migrations.js';
import { invalid } from '../kernel/errors.js';
import { requiredText } from '../kernel/text.js';
import { iso } from '../kernel/util.js';
import type { MigrationReport, MigrationSourceInput, MigrationState, MigrationView, SourceTls } from './migration.types.js';

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;
const MAX_SECRET = 8192;

export interface CheckedSource {
  host: string;
  port: number;
  tls: SourceTls;
  user: string;
  auth: 'password' | 'xoauth2';
  secret: string;
}

/** The source credential of a request: exactly one of password or accessToken. */
export function checkSecret(input: { password?: string; accessToken?: string }): { auth: 'password' | 'xoauth2'; secret: string } {
  const hasPassword = typeof input.password === 'string' && input.password.length > 0;
  const hasToken = typeof input.accessToken === 'string' && input.accessToken.length > 0;
  if (hasPassword === hasToken) throw invalid('give the source password or an OAuth2 accessToken (one of them)', { field: 'source.password' });
  const secret = (hasPassword ? input.password : input.accessToken)!;
  if (secret.length > MAX_SECRET || /[\r\n\0]/.test(secret))
    throw invalid('the source credential is too long or contains line breaks', { field: hasPassword ? 'source.password' : 'source.accessToken' });
  return { auth: hasPassword ? 'password' : 'xoauth2', secret };
}

export function checkSource(input: MigrationSourceInput): CheckedSource {
  const host = requiredText(input?.host, 'source.host', { max: 253 }).toLowerCase();
  if (!HOSTNAME.test(host) && !isIP(host)) throw invalid('source.host must be a host name or an IP address', { field: 'source.host' });
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw invalid('source.port must be 1 to 65535', { field: 'source.port' });
  if (input.tls !== 'implicit' && input.tls !== 'starttls') throw invalid('source.tls must be implicit or starttls', { field: 'source.tls' });
  const user = requiredText(input.user, 'source.user', { max: 320 });
  return { host, port: input.port, tls: input.tls, user, ...checkSecret(input) };
}

/** Source folder paths to copy; null: all. */
export function checkFolders(folders: string[] | undefined | null): string[] | null {
  if (folders === undefined || folders === null) return null;
  if (!Array.isArray(folders) || folders.length > 1000) throw invalid('folders must be a list of at most 1000 folder names', { field: 'folders' });
  const out = [...new Set(folders.map((f) => requiredText(f, 'folders', { max: 512 })))];
  return out.length ? out : null;
}

function parseJson<T>(text: string | null): T | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

export function migrationView(row: MigrationRow, address: string, folders: ImapMigrationFolderRow[]): MigrationView {
  return {
    id: row.id,
    mailbox: { id: row.mailbox_id, address },
    state: row.state as MigrationState,
    source: { host: row.source_host, port: row.source_port, tls: row.source_tls as SourceTls, user: row.source_user, auth: row.source_auth === 'xoauth2' ? 'xoauth2' : 'password' },
    folders: parseJson<string[]>(row.folders),
    progress: {
      messages: row.messages,
      bytes: row.bytes,
      totalMessages: row.total_messages,
      totalBytes: row.total_bytes,
      folders: folders.map((f) => ({ source: f.source, target: f.target, copied: f.copied, total: f.total, bytes: f.bytes, totalBytes: f.total_bytes, done: f.done === 1 })),
    },
    report: parseJson<MigrationReport>(row.report),
    error: row.error,
    credentialsHeld: row.has_secret,
    runs: row.runs,
    createdBy: row.created_by,
    createdFrom: row.created_from,
    createdAt: iso(row.created_at)!,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}
